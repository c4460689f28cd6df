package optim

import (
	"fmt"
	"io"
	"math"
)

// AdamConfig configures Adam, AdamW and Adamax. Zero values mean the Keras
// defaults: LR 0.001, Beta1 0.9, Beta2 0.999, Eps 1e-7.
type AdamConfig struct {
	LR, Beta1, Beta2, Eps float64
	// WeightDecay is L2 regularisation added to the gradient
	// (g += wd·θ) unless Decoupled is set.
	WeightDecay float64
	// Decoupled selects AdamW: θ ← θ(1 − lr·wd) before the Adam update.
	Decoupled bool
}

func (c AdamConfig) withDefaults() AdamConfig {
	if c.LR == 0 {
		c.LR = 0.001
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-7
	}
	return c
}

// Validate reports a configuration the update cannot use: negative rates,
// betas outside [0, 1), negative epsilon or weight decay.
func (c AdamConfig) Validate() error {
	d := c.withDefaults()
	switch {
	case !(d.LR > 0) || math.IsInf(d.LR, 0):
		return fmt.Errorf("%w: Adam LR %v", ErrConfig, c.LR)
	case !(d.Beta1 >= 0 && d.Beta1 < 1) || !(d.Beta2 >= 0 && d.Beta2 < 1):
		return fmt.Errorf("%w: Adam betas %v, %v outside [0, 1)", ErrConfig, c.Beta1, c.Beta2)
	case !(d.Eps > 0):
		return fmt.Errorf("%w: Adam Eps %v", ErrConfig, c.Eps)
	case !(d.WeightDecay >= 0):
		return fmt.Errorf("%w: Adam WeightDecay %v", ErrConfig, c.WeightDecay)
	}
	return nil
}

// Adam is the Keras form of Adam, fused into one pass over the parameters:
//
//	t += 1
//	g += wd·θ                              (WeightDecay, not Decoupled)
//	θ ← θ·(1 − lr·wd)                      (Decoupled: AdamW)
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	θ ← θ − lr·sqrt(1−β2ᵗ)/(1−β1ᵗ) · m/(sqrt(v)+ε)
//
// Moments are float32; the per-step scalars are computed in float64.
type Adam struct {
	c    AdamConfig
	lr   float64
	t    int64
	m, v []float32
}

// NewAdam returns an Adam (or AdamW when c.Decoupled) optimizer for n
// parameters with zeroed moments. Check c with Validate first; NewAdam fills
// defaults but does not reject bad values. A negative n means 0.
func NewAdam(n int, c AdamConfig) *Adam {
	c = c.withDefaults()
	n = max(n, 0)
	return &Adam{c: c, lr: c.LR, m: make([]float32, n), v: make([]float32, n)}
}

// Name is "Adam", or "AdamW" when weight decay is decoupled.
func (a *Adam) Name() string {
	if a.c.Decoupled {
		return "AdamW"
	}
	return "Adam"
}

// SetLR sets the base learning rate used from the next Step.
func (a *Adam) SetLR(lr float64) { a.lr = lr }

// LR returns the base learning rate.
func (a *Adam) LR() float64 { return a.lr }

// Steps returns how many updates have been applied.
func (a *Adam) Steps() int64 { return a.t }

// Step applies one update to w from gradient g. It panics when len(w) or
// len(g) differ from the size the optimizer was built for.
func (a *Adam) Step(w, g []float32) {
	checkLens(a.Name(), len(a.m), w, g)
	a.BeginStep()
	a.StepRange(w, g, 0, len(w))
}

// BeginStep starts a step (RangeStepper): it advances the step count that
// the bias corrections of the following StepRange calls use.
func (a *Adam) BeginStep() { a.t++ }

// StepRange applies the current step to elements [lo, hi) of w (the whole
// arena) from g (RangeStepper). Step is BeginStep then StepRange over
// everything; ranges applied separately give bitwise the same result.
func (a *Adam) StepRange(w, g []float32, lo, hi int) {
	checkRange(a.Name(), len(a.m), w, g, lo, hi)
	t := float64(a.t)
	lrt := float32(a.lr * math.Sqrt(1-math.Pow(a.c.Beta2, t)) / (1 - math.Pow(a.c.Beta1, t)))
	b1, b2 := float32(a.c.Beta1), float32(a.c.Beta2)
	c1, c2 := float32(1-a.c.Beta1), float32(1-a.c.Beta2)
	eps := float32(a.c.Eps)
	m, v := a.m[lo:hi], a.v[lo:hi]
	w, g = w[lo:hi], g[lo:hi]
	if a.c.WeightDecay == 0 || a.c.Decoupled {
		k := adamKernel{lrt: lrt, b1: b1, c1: c1, b2: b2, c2: c2, eps: eps, decay: 1}
		if a.c.Decoupled {
			k.decay = float32(1 - a.lr*a.c.WeightDecay)
		}
		k.run(w, g, m, v)
		return
	}
	wd := float32(a.c.WeightDecay)
	for i, gi := range g {
		gi += wd * w[i]
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		w[i] -= lrt * mi / (sqrt32(vi) + eps)
	}
}

// SaveState writes the step count, learning rate and both moments.
func (a *Adam) SaveState(w io.Writer) error {
	return saveState(w, a.Name(), a.t, a.lr, len(a.m), a.m, a.v)
}

// LoadState restores what SaveState wrote; the state must come from an
// optimizer of the same name and size. On error the optimizer may hold a
// partly loaded state.
func (a *Adam) LoadState(r io.Reader) error {
	t, lr, err := loadState(r, a.Name(), len(a.m), a.m, a.v)
	if err != nil {
		return err
	}
	a.t, a.lr = t, lr
	return nil
}

// Adamax is the Keras Adamax (the infinity-norm Adam variant candle-uno
// uses), fused into one pass:
//
//	t += 1
//	g += wd·θ  or  θ ← θ·(1 − lr·wd)   (as for Adam)
//	m ← β1·m + (1−β1)·g
//	u ← max(β2·u, |g|)
//	θ ← θ − lr/(1−β1ᵗ) · m/(u+ε)
type Adamax struct {
	c    AdamConfig
	lr   float64
	t    int64
	m, u []float32
}

// NewAdamax returns an Adamax optimizer for n parameters (defaults as for
// NewAdam).
func NewAdamax(n int, c AdamConfig) *Adamax {
	c = c.withDefaults()
	n = max(n, 0)
	return &Adamax{c: c, lr: c.LR, m: make([]float32, n), u: make([]float32, n)}
}

// Name is "Adamax".
func (a *Adamax) Name() string { return "Adamax" }

// SetLR sets the base learning rate used from the next Step.
func (a *Adamax) SetLR(lr float64) { a.lr = lr }

// LR returns the base learning rate.
func (a *Adamax) LR() float64 { return a.lr }

// Steps returns how many updates have been applied.
func (a *Adamax) Steps() int64 { return a.t }

// Step applies one update to w from gradient g. It panics when len(w) or
// len(g) differ from the size the optimizer was built for.
func (a *Adamax) Step(w, g []float32) {
	checkLens("Adamax", len(a.m), w, g)
	a.BeginStep()
	a.StepRange(w, g, 0, len(w))
}

// BeginStep starts a step (RangeStepper).
func (a *Adamax) BeginStep() { a.t++ }

// StepRange applies the current step to elements [lo, hi) (RangeStepper).
func (a *Adamax) StepRange(w, g []float32, lo, hi int) {
	checkRange("Adamax", len(a.m), w, g, lo, hi)
	lrt := float32(a.lr / (1 - math.Pow(a.c.Beta1, float64(a.t))))
	b1, c1, b2 := float32(a.c.Beta1), float32(1-a.c.Beta1), float32(a.c.Beta2)
	eps := float32(a.c.Eps)
	wd := float32(a.c.WeightDecay)
	decay := float32(1)
	if a.c.Decoupled {
		decay, wd = float32(1-a.lr*a.c.WeightDecay), 0
	}
	m, u := a.m[lo:hi], a.u[lo:hi]
	w, g = w[lo:hi], g[lo:hi]
	if wd == 0 {
		k := adamaxKernel{lrt: lrt, b1: b1, c1: c1, b2: b2, eps: eps, decay: decay}
		k.run(w, g, m, u)
		return
	}
	for i, gi := range g {
		gi += wd * w[i]
		mi := b1*m[i] + c1*gi
		ui := max32(b2*u[i], abs32(gi))
		m[i], u[i] = mi, ui
		w[i] = w[i]*decay - lrt*mi/(ui+eps)
	}
}

// SaveState writes the step count, learning rate, m and u.
func (a *Adamax) SaveState(w io.Writer) error {
	return saveState(w, "Adamax", a.t, a.lr, len(a.m), a.m, a.u)
}

// LoadState restores what SaveState wrote (see Adam.LoadState).
func (a *Adamax) LoadState(r io.Reader) error {
	t, lr, err := loadState(r, "Adamax", len(a.m), a.m, a.u)
	if err != nil {
		return err
	}
	a.t, a.lr = t, lr
	return nil
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
