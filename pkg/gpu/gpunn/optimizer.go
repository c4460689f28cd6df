package gpunn

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/optim"
)

// Optimizer runs a pkg/optim optimizer (Adam, AdamW, Adamax, SGD with or
// without momentum) on a device Arena with one fused kernel per step; its
// moments live on the device. It satisfies the training loop's optimizer
// interface (train.Optimizer): Name, LR, SetLR and the checkpoint state are
// the host optimizer's, so a checkpoint written on the GPU resumes on the
// CPU and back.
//
// Step(w, g) ignores w (the parameters are on the device). With
// GradsOnHost, g holds the all-reduced, scaled gradient (the training
// loop's host arena) and is uploaded first; without, the gradient is the
// device arena's own, multiplied by Scale (1/global batch) in place.
type Optimizer struct {
	a     *Arena
	host  optim.Optimizer
	kind  string // adam, adamax, sgd
	slots []*devBuf
	cfg   OptimizerConfig
	stage *gpu.HostBuffer // pinned copy of the host gradient (GradsOnHost)
	ctx   context.Context
	err   error
}

// OptimizerConfig says where the gradient of a step comes from.
type OptimizerConfig struct {
	// GradsOnHost: Step uploads its g argument (the all-reduced gradient).
	GradsOnHost bool
	// Scale multiplies the device gradient when not GradsOnHost (0: 1).
	Scale float32
	// Context bounds the waits of SaveState and LoadState (nil: background).
	Context context.Context
}

// NewOptimizer mirrors host, an optimizer of a.Size() parameters.
func (e *Engine) NewOptimizer(a *Arena, host optim.Optimizer, cfg OptimizerConfig) (*Optimizer, error) {
	if a == nil || a.e != e || host == nil {
		return nil, fmt.Errorf("gpunn: %s: optimizer: nil optimizer or arena of another engine", e.where())
	}
	o := &Optimizer{a: a, host: host, cfg: cfg, ctx: cfg.Context}
	if o.ctx == nil {
		o.ctx = context.Background()
	}
	if o.cfg.Scale == 0 {
		o.cfg.Scale = 1
	}
	var slots [][]float32
	switch h := host.(type) {
	case *optim.Adam:
		o.kind, slots = "adam", h.Slots()
	case *optim.Adamax:
		o.kind, slots = "adamax", h.Slots()
	case *optim.SGD:
		o.kind, slots = "sgd", h.Slots()
	default:
		return nil, fmt.Errorf("gpunn: %s: optimizer %s has no device twin", e.where(), host.Name())
	}
	for i, s := range slots {
		if len(s) != a.Size() {
			return nil, fmt.Errorf("gpunn: %s: %s: state of %d values for %d parameters", e.where(), host.Name(), len(s), a.Size())
		}
		d, err := e.alloc(fmt.Sprintf("%s state %d", host.Name(), i), a.Size(), 4, true)
		if err != nil {
			return nil, err
		}
		o.slots = append(o.slots, d)
	}
	if err := o.upload(); err != nil {
		return nil, err
	}
	if cfg.GradsOnHost {
		var err error
		if o.stage, err = e.c.HostAlloc(4 * a.Size()); err != nil {
			return nil, fmt.Errorf("gpunn: %s: %s gradient staging: %w", e.where(), host.Name(), err)
		}
	}
	return o, nil
}

// Name is the host optimizer's name.
func (o *Optimizer) Name() string { return o.host.Name() }

// LR is the host optimizer's learning rate.
func (o *Optimizer) LR() float64 { return o.host.LR() }

// SetLR sets the learning rate used from the next Step.
func (o *Optimizer) SetLR(lr float64) { o.host.SetLR(lr) }

// Steps is the number of updates applied.
func (o *Optimizer) Steps() int64 {
	type stepper interface{ Steps() int64 }
	return o.host.(stepper).Steps()
}

func (o *Optimizer) setSteps(t int64) {
	type setter interface{ SetSteps(int64) }
	o.host.(setter).SetSteps(t)
}

// Step queues one update of the device parameters (see Optimizer). It
// has no error result (train.Optimizer's Step); a failure is kept for Err
// and the next step does nothing. The training loop calls StepErr.
func (o *Optimizer) Step(w, g []float32) {
	if o.err == nil {
		o.err = o.StepErr(w, g)
	}
}

// Err is the error of the first failed Step.
func (o *Optimizer) Err() error { return o.err }

// StepErr is Step with an error; w is ignored.
func (o *Optimizer) StepErr(_, g []float32) error {
	a, e := o.a, o.a.e
	n := a.Size()
	if o.cfg.GradsOnHost {
		if len(g) != n {
			return fmt.Errorf("gpunn: %s: %s step: gradient of %d values for %d parameters", e.where(), o.Name(), len(g), n)
		}
		// the previous step's upload must be done before the staging
		// buffer is overwritten
		if err := e.Synchronize(o.ctx); err != nil {
			return err
		}
		copy(o.stage.Float32s(), g)
		if err := e.s.CopyHtoDAsyncAt(a.grad.at(0), o.stage, 0, 4*n); err != nil {
			return fmt.Errorf("gpunn: %s step (gradient upload): %w", o.Name(), err)
		}
	} else if o.cfg.Scale != 1 {
		if err := e.launch("scale_f32", n, a.grad.at(0), a.grad.at(0), o.cfg.Scale, n); err != nil {
			return fmt.Errorf("gpunn: %s step (gradient scale): %w", o.Name(), err)
		}
	}
	t := o.Steps() + 1
	o.setSteps(t)
	lr := o.host.LR()
	var err error
	switch h := o.host.(type) {
	case *optim.Adam:
		c := h.Config()
		lrt := float32(lr * math.Sqrt(1-math.Pow(c.Beta2, float64(t))) / (1 - math.Pow(c.Beta1, float64(t))))
		decay, l2 := float32(1), float32(c.WeightDecay)
		if c.Decoupled {
			decay, l2 = float32(1-lr*c.WeightDecay), 0
		}
		err = e.launch("adam_f32", n, a.data.at(0), a.grad.at(0), o.slots[0].at(0), o.slots[1].at(0), n,
			lrt, float32(c.Beta1), float32(1-c.Beta1), float32(c.Beta2), float32(1-c.Beta2), float32(c.Eps), decay, l2)
	case *optim.Adamax:
		c := h.Config()
		lrt := float32(lr / (1 - math.Pow(c.Beta1, float64(t))))
		decay, l2 := float32(1), float32(c.WeightDecay)
		if c.Decoupled {
			decay, l2 = float32(1-lr*c.WeightDecay), 0
		}
		err = e.launch("adamax_f32", n, a.data.at(0), a.grad.at(0), o.slots[0].at(0), o.slots[1].at(0), n,
			lrt, float32(c.Beta1), float32(1-c.Beta1), float32(c.Beta2), float32(c.Eps), decay, l2)
	case *optim.SGD:
		c := h.Config()
		if len(o.slots) == 0 {
			err = e.launch("sgd_f32", n, a.data.at(0), a.grad.at(0), n, float32(lr), float32(c.WeightDecay))
		} else {
			nest := 0
			if c.Nesterov {
				nest = 1
			}
			err = e.launch("sgd_momentum_f32", n, a.data.at(0), a.grad.at(0), o.slots[0].at(0), n, float32(lr),
				float32(c.Momentum), float32(c.WeightDecay), nest)
		}
	}
	if err != nil {
		return fmt.Errorf("gpunn: %s step %d: %w", o.Name(), t, err)
	}
	return nil
}

// slotsOf returns the host optimizer's state vectors.
func (o *Optimizer) hostSlots() [][]float32 {
	type slotter interface{ Slots() [][]float32 }
	return o.host.(slotter).Slots()
}

// upload copies the host optimizer's state vectors to the device.
func (o *Optimizer) upload() error {
	if err := o.a.e.Synchronize(o.ctx); err != nil {
		return err
	}
	for i, s := range o.hostSlots() {
		if err := o.a.e.upload(o.slots[i], s); err != nil {
			return fmt.Errorf("gpunn: %s state: %w", o.Name(), err)
		}
	}
	return nil
}

// SaveState downloads the moments and writes the host optimizer's state.
func (o *Optimizer) SaveState(w io.Writer) error {
	if err := o.a.e.Synchronize(o.ctx); err != nil {
		return err
	}
	for i, s := range o.hostSlots() {
		if err := o.a.e.download(s, o.slots[i]); err != nil {
			return fmt.Errorf("gpunn: %s state: %w", o.Name(), err)
		}
	}
	return o.host.SaveState(w)
}

// LoadState reads state in the host optimizer's format and uploads it.
func (o *Optimizer) LoadState(r io.Reader) error {
	if err := o.host.LoadState(r); err != nil {
		return err
	}
	return o.upload()
}

// Free releases the pinned staging buffer (the device state goes with
// Engine.Free).
func (o *Optimizer) Free() error {
	if o.stage == nil {
		return nil
	}
	err := o.stage.Free()
	o.stage = nil
	return err
}
