package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate for an epoch (0-based). The training loop
// calls LR once at the start of every epoch and sets the result on the
// optimizer.
type Schedule interface {
	LR(epoch int) float64
}

// Constant is a fixed learning rate.
type Constant float64

// LR returns c for every epoch.
func (c Constant) LR(int) float64 { return float64(c) }

// StepDecay multiplies Initial by Factor every Every epochs:
// lr = Initial·Factor^⌊epoch/Every⌋. Every ≤ 0 means no decay.
type StepDecay struct {
	Initial, Factor float64
	Every           int
}

// LR returns the decayed rate for epoch.
func (s StepDecay) LR(epoch int) float64 {
	if s.Every <= 0 || epoch < 0 {
		return s.Initial
	}
	return s.Initial * math.Pow(s.Factor, float64(epoch/s.Every))
}

// Linear moves the rate linearly from Start (epoch 0) to End (epoch
// Epochs) and holds End afterwards:
//
//	lr(e) = (Start·(Epochs−e) + End·e) / Epochs   for 0 ≤ e ≤ Epochs
//
// With Start < End it is a linear warm-up; candle-uno uses it downwards
// (see CandleUno).
type Linear struct {
	Start, End float64
	Epochs     int
}

// LR returns the interpolated rate for epoch.
func (l Linear) LR(epoch int) float64 {
	switch {
	case l.Epochs <= 0 || epoch >= l.Epochs:
		return l.End
	case epoch <= 0:
		return l.Start
	}
	e, n := float64(epoch), float64(l.Epochs)
	return (l.Start*(n-e) + l.End*e) / n
}

// WarmUp ramps linearly from From at epoch 0 to Then's rate at epoch
// Epochs, then follows Then.
type WarmUp struct {
	From   float64
	Epochs int
	Then   Schedule
}

// LR returns the warm-up rate, or Then's once warm-up is over.
func (w WarmUp) LR(epoch int) float64 {
	if epoch >= w.Epochs {
		return w.Then.LR(epoch)
	}
	return Linear{Start: w.From, End: w.Then.LR(w.Epochs), Epochs: w.Epochs}.LR(epoch)
}

// Then follows First up to and including epoch Until and After from then
// on. When After has a SetLR(float64) method (Plateau does), every rate
// First returns is passed to it, so After continues from where First ended,
// as a Keras LearningRateScheduler and ReduceLROnPlateau sharing one
// optimizer do.
type Then struct {
	First Schedule
	Until int
	After Schedule
}

// LR returns First's or After's rate for epoch.
func (t Then) LR(epoch int) float64 {
	if epoch > t.Until {
		return t.After.LR(epoch)
	}
	lr := t.First.LR(epoch)
	if s, ok := t.After.(interface{ SetLR(float64) }); ok {
		s.SetLR(lr)
	}
	return lr
}

// CandleUno is candle-uno's schedule: for epochs e ≤ 5 the rate falls
// linearly from 0.001 (Keras's Adamax default) to the configured lr,
// lr(e) = (0.001·(5−e) + lr·e)/5; afterwards p decides (ReduceLROnPlateau
// with factor 0.5, patience 5, min_lr 1e-5, min_delta 1e-4 and early stopping
// after 10 epochs in the reference). p sees the warm-up rates, so a reduction
// at the end of epoch 5 carries into epoch 6.
func CandleUno(lr float64, p *Plateau) Schedule {
	return Then{First: Linear{Start: 0.001, End: lr, Epochs: 5}, Until: 5, After: p}
}

// PlateauConfig configures Plateau, Keras's ReduceLROnPlateau and
// EarlyStopping on a loss to minimise. Zero values mean Keras defaults:
// Factor 0.1, Patience 10, MinDelta 1e-4; MinLR 0; no cool-down;
// StopPatience 0 disables early stopping.
type PlateauConfig struct {
	// LR is the rate to start from (usually the optimizer's).
	LR float64
	// Factor multiplies the rate after Patience epochs without an
	// improvement of more than MinDelta; the rate never goes below MinLR.
	Factor   float64
	Patience int
	MinLR    float64
	MinDelta float64
	// Cooldown is how many epochs to wait after a reduction before
	// counting again.
	Cooldown int
	// StopPatience stops training after that many epochs without an
	// improvement of more than StopMinDelta (0: never stop).
	StopPatience int
	StopMinDelta float64
}

func (c PlateauConfig) withDefaults() PlateauConfig {
	if c.Factor == 0 {
		c.Factor = 0.1
	}
	if c.Patience == 0 {
		c.Patience = 10
	}
	if c.MinDelta == 0 {
		c.MinDelta = 1e-4
	}
	return c
}

// Validate reports a factor outside (0, 1) and negative settings.
func (c PlateauConfig) Validate() error {
	d := c.withDefaults()
	switch {
	case !(d.Factor > 0 && d.Factor < 1):
		return fmt.Errorf("%w: Plateau Factor %v outside (0, 1)", ErrConfig, c.Factor)
	case d.Patience < 0 || d.Cooldown < 0 || d.StopPatience < 0:
		return fmt.Errorf("%w: Plateau negative patience or cooldown", ErrConfig)
	case !(d.LR >= 0) || !(d.MinLR >= 0) || !(d.MinDelta >= 0) || !(d.StopMinDelta >= 0):
		return fmt.Errorf("%w: Plateau negative LR, MinLR or delta", ErrConfig)
	}
	return nil
}

// Plateau reduces the learning rate when the validation loss stops
// improving and signals early stopping. Call Observe once at the end of
// every epoch. Plateau is also a Schedule that returns its current rate.
type Plateau struct {
	c        PlateauConfig
	lr       float64
	best     float64 // best loss for the reduction rule
	wait     int
	cooldown int
	stopBest float64 // best loss for the stopping rule
	stopWait int
}

// NewPlateau returns a Plateau starting at c.LR. Check c with Validate
// first.
func NewPlateau(c PlateauConfig) *Plateau {
	c = c.withDefaults()
	return &Plateau{c: c, lr: c.LR, best: math.Inf(1), stopBest: math.Inf(1)}
}

// SetLR tells the Plateau the rate something else has set (a warm-up).
func (p *Plateau) SetLR(lr float64) { p.lr = lr }

// LR returns the current rate; it implements Schedule.
func (p *Plateau) LR(int) float64 { return p.lr }

// Best returns the lowest loss observed (+Inf before the first).
func (p *Plateau) Best() float64 { return min(p.best, p.stopBest) }

// Observe records one epoch's validation loss and returns the rate for the
// next epoch and whether training should stop. A NaN loss never counts as
// an improvement.
func (p *Plateau) Observe(valLoss float64) (newLR float64, stop bool) {
	// ReduceLROnPlateau.
	if p.cooldown > 0 {
		p.cooldown--
		p.wait = 0
	}
	if valLoss < p.best-p.c.MinDelta {
		p.best = valLoss
		p.wait = 0
	} else if p.cooldown == 0 {
		p.wait++
		if p.wait >= p.c.Patience {
			// As in Keras, the count resets only when the rate moves.
			if p.lr > p.c.MinLR {
				p.lr = max(p.lr*p.c.Factor, p.c.MinLR)
				p.cooldown = p.c.Cooldown
				p.wait = 0
			}
		}
	}
	// EarlyStopping.
	if valLoss < p.stopBest-p.c.StopMinDelta {
		p.stopBest = valLoss
		p.stopWait = 0
	} else {
		p.stopWait++
	}
	stop = p.c.StopPatience > 0 && p.stopWait >= p.c.StopPatience
	return p.lr, stop
}
