package gpunn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/nn"
)

// Dense is the device twin of an nn.Dense (y = x·W + b over the last axis,
// W In×Out row-major), optionally followed by a ReLU, with W and b living
// in an Arena's views. Backward accumulates into the arena's gradient
// views as nn.Dense.Backward does (call Arena.ZeroGrad between steps).
type Dense struct {
	Name    string
	In, Out int
	ReLU    bool
	// NoInputGrad skips the input gradient (the first layer of a model).
	NoInputGrad bool

	e     *Engine
	a     *Arena
	w, b  View
	rows  int // rows of the last Forward
	shape []int
	x     Tensor
	y     *devBuf // output (after the ReLU when ReLU)
	dz    *devBuf // gradient before the ReLU
	dx    *devBuf
}

// NewDense mirrors host, whose parameters must be in a's host arena.
func (e *Engine) NewDense(a *Arena, host *nn.Dense, relu bool) (*Dense, error) {
	if a == nil || a.e != e || host == nil {
		return nil, fmt.Errorf("gpunn: %s: Dense: nil layer or arena of another engine", e.where())
	}
	d := &Dense{Name: host.W.Name, In: host.In, Out: host.Out, ReLU: relu, NoInputGrad: host.NoInputGrad, e: e, a: a}
	var err error
	if d.w, err = a.view(host.W); err != nil {
		return nil, fmt.Errorf("Dense %s: %w", d.Name, err)
	}
	if d.b, err = a.view(host.B); err != nil {
		return nil, fmt.Errorf("Dense %s: %w", d.Name, err)
	}
	if d.w.Len != d.In*d.Out || d.b.Len != d.Out {
		return nil, fmt.Errorf("gpunn: %s: Dense %s: kernel %d and bias %d values for %d→%d", e.where(), d.Name, d.w.Len, d.b.Len, d.In, d.Out)
	}
	return d, nil
}

func (d *Dense) fail(what string, err error) error {
	return fmt.Errorf("gpunn: Dense %s %s: %w", d.Name, what, err)
}

// Forward queues y = x·W + b (then the ReLU) over the last axis of x
// ([..., In]) and returns y ([..., Out], valid until the next Forward). x
// must stay unchanged until Backward.
func (d *Dense) Forward(x Tensor, _ bool) (Tensor, error) {
	if x.IsNil() || len(x.Shape) < 2 || x.Shape[len(x.Shape)-1] != d.In {
		return Tensor{}, fmt.Errorf("gpunn: %s: Dense %s forward: input shape %v, want [N, ..., %d]", d.e.where(), d.Name, x.Shape, d.In)
	}
	rows := x.Len() / d.In
	e, name := d.e, "Dense "+d.Name
	if err := e.fits(name+" forward", "input", x); err != nil {
		return Tensor{}, err
	}
	if err := e.grow(&d.y, name+" output", rows*d.Out, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.bl.SgemmPtr(false, false, rows, d.Out, d.In, 1, x.P, d.In, d.a.Param(d.w, 0), d.Out, 0, d.y.at(0), d.Out); err != nil {
		return Tensor{}, d.fail("forward", err)
	}
	if err := e.launch("bias_add_rows_f32", rows*d.Out, d.y.at(0), d.a.Param(d.b, 0), rows, d.Out); err != nil {
		return Tensor{}, d.fail("forward (bias)", err)
	}
	if d.ReLU {
		if err := e.launch("relu_fwd_f32", rows*d.Out, d.y.at(0), d.y.at(0), rows*d.Out); err != nil {
			return Tensor{}, d.fail("forward (ReLU)", err)
		}
	}
	d.x, d.rows = x, rows
	d.shape = append(d.shape[:0], x.Shape...)
	d.shape[len(d.shape)-1] = d.Out
	return d.y.tensor(d.shape...), nil
}

// Backward queues the gradients for dy (the shape of the last output):
// the bias and weight gradients are added into the arena, and the input
// gradient is returned, or a nil Tensor with NoInputGrad.
func (d *Dense) Backward(dy Tensor) (Tensor, error) {
	if d.x.IsNil() {
		return Tensor{}, fmt.Errorf("gpunn: %s: Dense %s backward before forward", d.e.where(), d.Name)
	}
	n := d.rows
	if dy.IsNil() || dy.Len() != n*d.Out {
		return Tensor{}, fmt.Errorf("gpunn: %s: Dense %s backward: output gradient of shape %v for %d rows of %d", d.e.where(), d.Name, dy.Shape, n, d.Out)
	}
	e, name := d.e, "Dense "+d.Name
	if err := e.fits(name+" backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	dz := dy.P
	if d.ReLU {
		if err := e.grow(&d.dz, name+" output gradient", n*d.Out, 4); err != nil {
			return Tensor{}, err
		}
		if err := e.launch("relu_bwd_f32", n*d.Out, d.dz.at(0), dy.P, d.y.at(0), n*d.Out); err != nil {
			return Tensor{}, d.fail("backward (ReLU)", err)
		}
		dz = d.dz.at(0)
	}
	if err := e.launch("bias_grad_rows_f32", d.Out, d.a.Grad(d.b, 0), dz, n, d.Out); err != nil {
		return Tensor{}, d.fail("backward (bias gradient)", err)
	}
	// dW += xᵀ·dz, accumulated by cuBLAS (beta 1)
	if err := e.bl.SgemmPtr(true, false, d.In, d.Out, n, 1, d.x.P, d.In, dz, d.Out, 1, d.a.Grad(d.w, 0), d.Out); err != nil {
		return Tensor{}, d.fail("backward (weight gradient)", err)
	}
	dx := Tensor{}
	if !d.NoInputGrad {
		if err := e.grow(&d.dx, name+" input gradient", n*d.In, 4); err != nil {
			return Tensor{}, err
		}
		if err := e.bl.SgemmPtr(false, true, n, d.In, d.Out, 1, dz, d.Out, d.a.Param(d.w, 0), d.Out, 0, d.dx.at(0), d.In); err != nil {
			return Tensor{}, d.fail("backward (input gradient)", err)
		}
		dx = d.dx.tensor(d.x.Shape...)
	}
	// after the last read of W
	if err := d.a.ready(d.w); err != nil {
		return Tensor{}, err
	}
	if err := d.a.ready(d.b); err != nil {
		return Tensor{}, err
	}
	return dx, nil
}
