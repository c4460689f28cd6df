package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/scibench/scibench/pkg/blas"
	"github.com/scibench/scibench/pkg/tensor"
)

// Dense is a fully connected layer y = x·W + b over the last axis of x:
// [..., In] → [..., Out]. W is [In, Out] (the Keras kernel layout), b [Out].
// A [N, T, In] input applies the same layer at every time step.
type Dense struct {
	In, Out int
	W, B    *Param
	// NoInputGrad skips dL/dx (Backward returns nil): set it on a model's
	// first layer, whose input is data, to save a third of its backward.
	NoInputGrad bool

	x     *tensor.Tensor
	y, dx tensor.Tensor
	shape []int
}

// NewDense registers W ("name.kernel") and b ("name.bias") in a and
// initialises W with init (fan_in = in, fan_out = out) drawn from rng; the
// bias starts at zero.
func NewDense(a *Arena, name string, in, out int, init Init, rng *rand.Rand) *Dense {
	d := &Dense{In: in, Out: out}
	d.W = a.Param(name+".kernel", in, out)
	d.B = a.Param(name+".bias", out)
	if init != nil {
		init(d.W.W, in, out, rng)
	}
	return d
}

// OutputShape returns the output shape for an input shape, or an error
// wrapping ErrInputShape when the last axis is not In.
func (d *Dense) OutputShape(in []int) ([]int, error) {
	if len(in) < 2 || in[len(in)-1] != d.In {
		return nil, fmt.Errorf("%w: Dense %s input %v, want [N, ..., %d]", ErrInputShape, d.W.Name, in, d.In)
	}
	out := append([]int(nil), in...)
	out[len(out)-1] = d.Out
	return out, nil
}

// rows checks x's last axis and returns the number of rows.
func (d *Dense) rows(x *tensor.Tensor) int {
	if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != d.In {
		panic(fmt.Sprintf("nn: Dense %s: input shape %v, want [..., %d]", d.W.Name, x.Shape, d.In))
	}
	return len(x.Data) / d.In
}

// Forward computes y = x·W + b.
func (d *Dense) Forward(x *tensor.Tensor, _ bool) *tensor.Tensor {
	n := d.rows(x)
	d.x = x
	d.shape = append(d.shape[:0], x.Shape...)
	d.shape[len(d.shape)-1] = d.Out
	d.y.Ensure(d.shape...)
	y := d.y.Data
	for r := 0; r < n; r++ {
		copy(y[r*d.Out:(r+1)*d.Out], d.B.W)
	}
	blas.Sgemm(false, false, n, d.Out, d.In, 1, x.Data, d.In, d.W.W, d.Out, 1, y, d.Out)
	return &d.y
}

// Backward accumulates dW += xᵀ·dy and db += Σ dy, and returns
// dx = dy·Wᵀ (nil when NoInputGrad is set).
func (d *Dense) Backward(dy *tensor.Tensor) *tensor.Tensor {
	n := len(dy.Data) / d.Out
	g := d.B.G
	for r := 0; r < n; r++ {
		row := dy.Data[r*d.Out : (r+1)*d.Out]
		for j, v := range row {
			g[j] += v
		}
	}
	d.B.MarkReady()
	blas.Sgemm(true, false, d.In, d.Out, n, 1, d.x.Data, d.In, dy.Data, d.Out, 1, d.W.G, d.Out)
	if d.NoInputGrad {
		d.W.MarkReady()
		return nil
	}
	d.dx.Ensure(d.x.Shape...)
	blas.Sgemm(false, true, n, d.In, d.Out, 1, dy.Data, d.Out, d.W.W, d.Out, 0, d.dx.Data, d.In)
	d.W.MarkReady() // only now: the loop may update W once it is ready
	return &d.dx
}

// Params returns W and b.
func (d *Dense) Params() []*Param { return []*Param{d.W, d.B} }
