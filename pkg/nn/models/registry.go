package models

import (
	"errors"

	"github.com/scibench/scibench/pkg/gpu/gpunn"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/tensor"
)

// Errors of the model builders.
var (
	// ErrInput reports model inputs of the wrong number or shape.
	ErrInput = errors.New("models: bad model input")
	// ErrConfig reports an invalid model configuration.
	ErrConfig = errors.New("models: invalid model config")
)

// Model is what the training loop drives. Forward takes the model's inputs
// in a fixed order (the caller keeps the slice, so calls do not allocate)
// and returns the model's own output tensor, valid until the next Forward.
// Backward takes dL/doutput, accumulates gradients into Arena().Grad (the
// caller zeroes them each step) and calls MarkReady as gradients finish.
type Model interface {
	Arena() *nn.Arena
	Forward(inputs []*tensor.Tensor, train bool) (*tensor.Tensor, error)
	Backward(dout *tensor.Tensor) error
}

// Bench is one engine-throughput benchmark on a synthetic batch.
type Bench struct {
	Model          string
	Params         int
	Batch          int
	FlopsPerSample float64      // forward + backward
	Step           func() error // one forward+backward+optimizer step
	// Device moves the model to the GPU engine e and returns the same step
	// there (the optimizer's device twin; the loss on the host); after it
	// Step must not be used.
	Device func(e *gpunn.Engine) (step func() error, err error)
}

// Benches builds each benchmark for a batch size and seed; one line per
// model (scibench train-bench --model NAME).
var Benches = map[string]func(batch int, seed uint64) (*Bench, error){
	"uno":        unoBench,
	"lstm":       lstmBench("pure"),
	"lstm-small": lstmBench("small"),
	"unet":       unetBench,
	"resnet50":   resnetBench(50),
	"resnet34":   resnetBench(34),
	"resnet18":   resnetBench(18),
}

// newBenchOptimizer returns the bench's optimizer with Keras defaults
// (lr 1e-3, β 0.9/0.999, ε 1e-7).
func newBenchOptimizer(name string, n int) optim.Optimizer {
	if name == "adamax" {
		return optim.NewAdamax(n, optim.AdamConfig{})
	}
	return optim.NewAdam(n, optim.AdamConfig{})
}

// fusedStep drives an optimizer the way pkg/train does on one rank: when
// the optimizer is an optim.RangeStepper, each parameter's update runs as
// soon as the backward pass marks it ready (its gradient still in cache),
// instead of in one pass over the whole arena after backward. The result is
// bitwise that of Step.
type fusedStep struct {
	a    *nn.Arena
	opt  optim.Optimizer
	rs   optim.RangeStepper
	prev int
}

func newFusedStep(a *nn.Arena, opt optim.Optimizer) *fusedStep {
	f := &fusedStep{a: a, opt: opt}
	if rs, ok := opt.(optim.RangeStepper); ok {
		f.rs = rs
		a.SetGradHook(f.hook)
	}
	return f
}

// begin starts a step; call it after ZeroGrad and before Backward.
func (f *fusedStep) begin() {
	f.prev = len(f.a.Data)
	if f.rs != nil {
		f.rs.BeginStep()
	}
}

func (f *fusedStep) hook(lo int) {
	if lo < f.prev {
		f.rs.StepRange(f.a.Data, f.a.Grad, lo, f.prev)
		f.prev = lo
	}
}

// finish applies what is left of the step after Backward.
func (f *fusedStep) finish() {
	if f.rs == nil {
		f.opt.Step(f.a.Data, f.a.Grad)
		return
	}
	if f.prev > 0 {
		f.rs.StepRange(f.a.Data, f.a.Grad, 0, f.prev)
		f.prev = 0
	}
}
