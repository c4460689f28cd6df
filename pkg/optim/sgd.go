package optim

import (
	"fmt"
	"io"
	"math"
)

// SGDConfig configures SGD. A zero LR means the Keras default 0.01;
// Momentum 0 is plain gradient descent.
type SGDConfig struct {
	LR, Momentum float64
	// WeightDecay is L2 regularisation added to the gradient (g += wd·θ).
	WeightDecay float64
	Nesterov    bool
}

// Validate reports negative or non-finite settings and momentum ≥ 1.
func (c SGDConfig) Validate() error {
	if c.LR < 0 || math.IsNaN(c.LR) || math.IsInf(c.LR, 0) {
		return fmt.Errorf("%w: SGD LR %v", ErrConfig, c.LR)
	}
	if !(c.Momentum >= 0 && c.Momentum < 1) {
		return fmt.Errorf("%w: SGD Momentum %v outside [0, 1)", ErrConfig, c.Momentum)
	}
	if !(c.WeightDecay >= 0) {
		return fmt.Errorf("%w: SGD WeightDecay %v", ErrConfig, c.WeightDecay)
	}
	return nil
}

// SGD is stochastic gradient descent with momentum in the Keras form:
//
//	g += wd·θ
//	v ← μ·v − lr·g
//	θ ← θ + v              (θ ← θ + μ·v − lr·g with Nesterov)
//
// Without momentum it is θ ← θ − lr·g and keeps no buffer.
type SGD struct {
	c  SGDConfig
	lr float64
	t  int64
	v  []float32
	n  int
}

// NewSGD returns an SGD optimizer for n parameters. Check c with Validate
// first. A negative n means 0.
func NewSGD(n int, c SGDConfig) *SGD {
	if c.LR == 0 {
		c.LR = 0.01
	}
	n = max(n, 0)
	s := &SGD{c: c, lr: c.LR, n: n}
	if c.Momentum != 0 {
		s.v = make([]float32, n)
	}
	return s
}

// Name is "SGD".
func (s *SGD) Name() string { return "SGD" }

// SetLR sets the learning rate used from the next Step.
func (s *SGD) SetLR(lr float64) { s.lr = lr }

// LR returns the learning rate.
func (s *SGD) LR() float64 { return s.lr }

// Step applies one update to w from gradient g. It panics when len(w) or
// len(g) differ from the size the optimizer was built for.
func (s *SGD) Step(w, g []float32) {
	checkLens("SGD", s.n, w, g)
	s.t++
	lr, wd, mu := float32(s.lr), float32(s.c.WeightDecay), float32(s.c.Momentum)
	g = g[:len(w)]
	if s.v == nil {
		for i, gi := range g {
			w[i] -= lr * (gi + wd*w[i])
		}
		return
	}
	v := s.v[:len(w)]
	if s.c.Nesterov {
		for i, gi := range g {
			gi += wd * w[i]
			vi := mu*v[i] - lr*gi
			v[i] = vi
			w[i] += mu*vi - lr*gi
		}
		return
	}
	for i, gi := range g {
		vi := mu*v[i] - lr*(gi+wd*w[i])
		v[i] = vi
		w[i] += vi
	}
}

// SaveState writes the step count, learning rate and velocity.
func (s *SGD) SaveState(w io.Writer) error {
	if s.v == nil {
		return saveState(w, "SGD", s.t, s.lr, s.n)
	}
	return saveState(w, "SGD", s.t, s.lr, s.n, s.v)
}

// LoadState restores what SaveState wrote; the momentum setting must match.
func (s *SGD) LoadState(r io.Reader) error {
	var t int64
	var lr float64
	var err error
	if s.v == nil {
		t, lr, err = loadState(r, "SGD", s.n)
	} else {
		t, lr, err = loadState(r, "SGD", s.n, s.v)
	}
	if err != nil {
		return err
	}
	s.t, s.lr = t, lr
	return nil
}
