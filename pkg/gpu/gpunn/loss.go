package gpunn

import (
	"context"
	"fmt"
	"math"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/optim"
)

// MSE is the device twin of nn.MSE{Reduction: nn.ReduceSum} without
// weights: per sample the mean over outputs of (pred − target)², summed
// over the batch; NaN targets are masked out.
type MSE struct {
	e     *Engine
	terms *devBuf // per-element terms in float64
	sum   *devBuf // the float64 sum
	grad  *devBuf
	cap   int
}

// NewMSE returns the loss; its buffers grow with the batch.
func (e *Engine) NewMSE() *MSE { return &MSE{e: e} }

// Loss computes the loss of pred against target (rows×k float32s each)
// and writes dL/dpred into the returned buffer (valid until the next call
// with more elements). It waits for the stream to read the sum back.
func (l *MSE) Loss(ctx context.Context, pred, target *gpu.Buffer, rows, k int) (float64, *gpu.Buffer, error) {
	e, n := l.e, rows*k
	if pred == nil || target == nil || rows <= 0 || k <= 0 || pred.Size() < 4*n || target.Size() < 4*n {
		return 0, nil, fmt.Errorf("gpunn: %s: MSE: prediction or target smaller than %d×%d or missing", e.where(), rows, k)
	}
	if n > l.cap {
		var err error
		if l.terms, err = e.alloc("MSE terms", n, 8, true); err != nil {
			return 0, nil, err
		}
		if l.grad, err = e.alloc("MSE gradient", n, 4, false); err != nil {
			return 0, nil, err
		}
		if l.sum == nil {
			if l.sum, err = e.alloc("MSE sum", 1, 8, false); err != nil {
				return 0, nil, err
			}
		}
		l.cap = n
	}
	if err := e.launch("mse_masked_f32", n, l.terms.at(0), l.grad.at(0), pred.At(0), target.At(0), gpu.Null,
		n, k, 1/float64(k), float64(1)); err != nil {
		return 0, nil, fmt.Errorf("gpunn: MSE: %w", err)
	}
	lc := gpu.LaunchConfig{Grid: gpu.Dim3{X: 1}, Block: gpu.Dim3{X: e.block}}
	if err := e.s.Launch(e.fn["sum_f64"], lc, l.sum.at(0), l.terms.at(0), n); err != nil {
		return 0, nil, fmt.Errorf("gpunn: MSE sum: %w", err)
	}
	if err := e.Synchronize(ctx); err != nil {
		return 0, nil, fmt.Errorf("gpunn: MSE: %w", err)
	}
	var raw [8]byte
	if err := e.c.CopyDtoH(raw[:], l.sum.buf); err != nil {
		return 0, nil, fmt.Errorf("gpunn: MSE: %w", err)
	}
	bits := uint64(0)
	for i := 7; i >= 0; i-- {
		bits = bits<<8 | uint64(raw[i])
	}
	return math.Float64frombits(bits), l.grad.buf, nil
}

// Adamax is the device twin of optim.Adamax over a whole Arena: one fused
// adamax_f32 launch per step, moments kept on the device.
type Adamax struct {
	a    *Arena
	c    optim.AdamConfig
	t    int64
	m, u *devBuf
}

// NewAdamax returns an Adamax optimizer for every parameter of a (zero
// Config fields take optim's defaults).
func (e *Engine) NewAdamax(a *Arena, c optim.AdamConfig) (*Adamax, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("gpunn: %s: Adamax: %w", e.where(), err)
	}
	if a == nil || a.e != e {
		return nil, fmt.Errorf("gpunn: %s: Adamax: nil arena or arena of another engine", e.where())
	}
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
	o := &Adamax{a: a, c: c}
	var err error
	if o.m, err = e.alloc("Adamax first moment", a.Size(), 4, true); err != nil {
		return nil, err
	}
	if o.u, err = e.alloc("Adamax infinity norm", a.Size(), 4, true); err != nil {
		return nil, err
	}
	return o, nil
}

// Steps is the number of steps taken.
func (o *Adamax) Steps() int64 { return o.t }

// Step queues one update of the arena's parameters from its gradients,
// with the per-step scalars computed as optim.Adamax.StepRange does.
func (o *Adamax) Step() error {
	o.t++
	c := o.c
	lrt := float32(c.LR / (1 - math.Pow(c.Beta1, float64(o.t))))
	wd, decay := float32(c.WeightDecay), float32(1)
	if c.Decoupled {
		decay, wd = float32(1-c.LR*c.WeightDecay), 0
	}
	a := o.a
	if err := a.e.launch("adamax_f32", a.Size(), a.data.at(0), a.grad.at(0), o.m.at(0), o.u.at(0), a.Size(),
		lrt, float32(c.Beta1), float32(1-c.Beta1), float32(c.Beta2), float32(c.Eps), decay, wd); err != nil {
		return fmt.Errorf("gpunn: Adamax step %d: %w", o.t, err)
	}
	return nil
}
