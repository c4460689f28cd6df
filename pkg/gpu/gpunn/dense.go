package gpunn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
)

// Dense is the device twin of an nn.Dense (y = x·W + b, W In×Out
// row-major), optionally followed by a ReLU, with W and b living in an
// Arena's views. Backward accumulates into the arena's gradient views as
// nn.Dense.Backward does (call Arena.ZeroGrad between steps).
type Dense struct {
	Name    string
	In, Out int
	ReLU    bool
	// NoInputGrad skips the input gradient (the first layer of a model).
	NoInputGrad bool

	e     *Engine
	a     *Arena
	w, b  View
	rows  int // batch rows of the last Forward
	x     *gpu.Buffer
	wcopy *devBuf // W copied out of the arena for cuBLAS (it takes whole buffers)
	dw    *devBuf // this step's weight gradient, added into the arena
	y     *devBuf // output (after the ReLU when ReLU)
	dz    *devBuf // gradient before the ReLU
	dx    *devBuf
	cap   int // rows the activation buffers hold
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
	if d.wcopy, err = e.alloc("Dense "+d.Name+" weights", d.w.Len, 4, false); err != nil {
		return nil, err
	}
	if d.dw, err = e.alloc("Dense "+d.Name+" weight gradient", d.w.Len, 4, false); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Dense) fail(what string, err error) error {
	return fmt.Errorf("gpunn: Dense %s %s: %w", d.Name, what, err)
}

// ensure sizes the activation buffers for rows rows.
func (d *Dense) ensure(rows int) error {
	if rows <= d.cap {
		return nil
	}
	var err error
	name := "Dense " + d.Name
	if d.y, err = d.e.alloc(name+" output", rows*d.Out, 4, false); err != nil {
		return err
	}
	if d.dz, err = d.e.alloc(name+" output gradient", rows*d.Out, 4, false); err != nil {
		return err
	}
	if d.dx, err = d.e.alloc(name+" input gradient", rows*d.In, 4, false); err != nil {
		return err
	}
	d.cap = rows
	return nil
}

// Forward queues y = x·W + b (then the ReLU) for rows rows of x (rows×In
// float32s, row-major, from the start of x) and returns the output buffer
// (rows×Out, valid until the next Forward with more rows). x must stay
// unchanged until Backward.
func (d *Dense) Forward(x *gpu.Buffer, rows int) (*gpu.Buffer, error) {
	if x == nil || rows <= 0 || x.Size() < 4*rows*d.In {
		size := 0
		if x != nil {
			size = x.Size()
		}
		return nil, fmt.Errorf("gpunn: %s: Dense %s forward: input of %d bytes for %d rows of %d", d.e.where(), d.Name, size, rows, d.In)
	}
	if err := d.ensure(rows); err != nil {
		return nil, err
	}
	e, data := d.e, d.a.data
	if err := e.launch("scale_f32", d.w.Len, d.wcopy.at(0), data.at(d.w.Offset), float32(1), d.w.Len); err != nil {
		return nil, d.fail("forward (weight copy)", err)
	}
	y := d.y.buf
	if err := e.bl.Sgemm(false, false, rows, d.Out, d.In, 1, x, d.In, d.wcopy.buf, d.Out, 0, y, d.Out); err != nil {
		return nil, d.fail("forward", err)
	}
	if err := e.launch("bias_add_rows_f32", rows*d.Out, d.y.at(0), data.at(d.b.Offset), rows, d.Out); err != nil {
		return nil, d.fail("forward (bias)", err)
	}
	if d.ReLU {
		if err := e.launch("relu_fwd_f32", rows*d.Out, d.y.at(0), d.y.at(0), rows*d.Out); err != nil {
			return nil, d.fail("forward (ReLU)", err)
		}
	}
	d.x, d.rows = x, rows
	return y, nil
}

// Backward queues the gradients for dy (rows×Out of the last Forward):
// the bias and weight gradients are added into the arena, and the input
// gradient (rows×In) is returned, or nil with NoInputGrad.
func (d *Dense) Backward(dy *gpu.Buffer) (*gpu.Buffer, error) {
	if d.x == nil {
		return nil, fmt.Errorf("gpunn: %s: Dense %s backward before forward", d.e.where(), d.Name)
	}
	n := d.rows
	if dy == nil || dy.Size() < 4*n*d.Out {
		size := 0
		if dy != nil {
			size = dy.Size()
		}
		return nil, fmt.Errorf("gpunn: %s: Dense %s backward: output gradient of %d bytes for %d rows of %d", d.e.where(), d.Name, size, n, d.Out)
	}
	e, grad := d.e, d.a.grad
	dz := dy
	if d.ReLU {
		if err := e.launch("relu_bwd_f32", n*d.Out, d.dz.at(0), dy.At(0), d.y.at(0), n*d.Out); err != nil {
			return nil, d.fail("backward (ReLU)", err)
		}
		dz = d.dz.buf
	}
	if err := e.launch("bias_grad_rows_f32", d.Out, grad.at(d.b.Offset), dz.At(0), n, d.Out); err != nil {
		return nil, d.fail("backward (bias gradient)", err)
	}
	if err := e.bl.Sgemm(true, false, d.In, d.Out, n, 1, d.x, d.In, dz, d.Out, 0, d.dw.buf, d.Out); err != nil {
		return nil, d.fail("backward (weight gradient)", err)
	}
	if err := e.launch("axpy_f32", d.w.Len, grad.at(d.w.Offset), float32(1), d.dw.at(0), d.w.Len); err != nil {
		return nil, d.fail("backward (weight gradient accumulation)", err)
	}
	if d.NoInputGrad {
		return nil, nil
	}
	if err := e.bl.Sgemm(false, true, n, d.In, d.Out, 1, dz, d.Out, d.wcopy.buf, d.Out, 0, d.dx.buf, d.In); err != nil {
		return nil, d.fail("backward (input gradient)", err)
	}
	return d.dx.buf, nil
}
