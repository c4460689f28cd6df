package gpunn

import (
	"fmt"
	"slices"

	"github.com/scibench/scibench/pkg/nn"
)

// Concat is the device twin of nn.Concat: [N, Ca, ...] and [N, Cb, ...]
// joined along axis 1 (the channels of NCHW, the last axis of [N, C]) into
// [N, Ca+Cb, ...] with concat_fwd_f32; Backward2 splits the gradient back
// with concat_bwd_f32.
type Concat struct {
	e          *Engine
	sa, sb, so []int
	ea, eb     int // elements per sample of a and b
	y, da, db  *devBuf
}

// NewConcat mirrors host (which has no settings).
func (e *Engine) NewConcat(host *nn.Concat) (*Concat, error) {
	if host == nil {
		return nil, fmt.Errorf("gpunn: %s: Concat: nil host layer", e.where())
	}
	return &Concat{e: e}, nil
}

// Forward2 queues the join of a and b and returns it (valid until the
// next Forward2).
func (l *Concat) Forward2(a, b Tensor) (Tensor, error) {
	e := l.e
	if err := e.fits("Concat forward", "first input", a); err != nil {
		return Tensor{}, err
	}
	if err := e.fits("Concat forward", "second input", b); err != nil {
		return Tensor{}, err
	}
	ok := len(a.Shape) >= 2 && len(a.Shape) == len(b.Shape) && a.Shape[0] == b.Shape[0] && a.Shape[0] > 0
	for i := 2; ok && i < len(a.Shape); i++ {
		ok = a.Shape[i] == b.Shape[i]
	}
	if !ok || a.Len() == 0 || b.Len() == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: Concat forward: inputs %v and %v differ outside axis 1 or are empty", e.where(), a.Shape, b.Shape)
	}
	n := a.Shape[0]
	l.ea, l.eb = a.Len()/n, b.Len()/n
	l.sa = append(l.sa[:0], a.Shape...)
	l.sb = append(l.sb[:0], b.Shape...)
	l.so = append(l.so[:0], a.Shape...)
	l.so[1] += b.Shape[1]
	total := n * (l.ea + l.eb)
	if err := e.grow(&l.y, "Concat output", total, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("concat_fwd_f32", total, l.y.at(0), a.P, b.P, n, l.ea, l.eb); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: Concat forward: %w", err)
	}
	return l.y.tensor(l.so...), nil
}

// Backward2 queues the split of dy (the output's shape) into the
// gradients of the two inputs.
func (l *Concat) Backward2(dy Tensor) (da, db Tensor, err error) {
	e := l.e
	if l.so == nil {
		return Tensor{}, Tensor{}, fmt.Errorf("gpunn: %s: Concat backward before forward", e.where())
	}
	n := l.so[0]
	total := n * (l.ea + l.eb)
	if dy.IsNil() || dy.Len() != total {
		return Tensor{}, Tensor{}, fmt.Errorf("gpunn: %s: Concat backward: output gradient of shape %v for an output of %v", e.where(), dy.Shape, l.so)
	}
	if err := e.fits("Concat backward", "output gradient", dy); err != nil {
		return Tensor{}, Tensor{}, err
	}
	if err := e.grow(&l.da, "Concat first input gradient", n*l.ea, 4); err != nil {
		return Tensor{}, Tensor{}, err
	}
	if err := e.grow(&l.db, "Concat second input gradient", n*l.eb, 4); err != nil {
		return Tensor{}, Tensor{}, err
	}
	if err := e.launch("concat_bwd_f32", total, l.da.at(0), l.db.at(0), dy.P, n, l.ea, l.eb); err != nil {
		return Tensor{}, Tensor{}, fmt.Errorf("gpunn: Concat backward: %w", err)
	}
	return l.da.tensor(l.sa...), l.db.tensor(l.sb...), nil
}

// Add is the device twin of nn.Add, the element-wise sum of two
// same-shaped tensors (a residual connection).
type Add struct {
	e     *Engine
	shape []int
	y     *devBuf
}

// NewAdd mirrors host (which has no settings).
func (e *Engine) NewAdd(host *nn.Add) (*Add, error) {
	if host == nil {
		return nil, fmt.Errorf("gpunn: %s: Add: nil host layer", e.where())
	}
	return &Add{e: e}, nil
}

// Forward2 queues a+b and returns it (valid until the next Forward2).
func (l *Add) Forward2(a, b Tensor) (Tensor, error) {
	e := l.e
	if err := e.fits("Add forward", "first input", a); err != nil {
		return Tensor{}, err
	}
	if err := e.fits("Add forward", "second input", b); err != nil {
		return Tensor{}, err
	}
	if !slices.Equal(a.Shape, b.Shape) || a.Len() == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: Add forward: inputs %v and %v differ or are empty", e.where(), a.Shape, b.Shape)
	}
	n := a.Len()
	if err := e.grow(&l.y, "Add output", n, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("add_f32", n, l.y.at(0), a.P, b.P, n); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: Add forward: %w", err)
	}
	l.shape = append(l.shape[:0], a.Shape...)
	return l.y.tensor(l.shape...), nil
}

// Backward2 returns dy twice, without a copy, as nn.Add.Backward2 does:
// both gradients are dy itself and callers must not write to them.
func (l *Add) Backward2(dy Tensor) (da, db Tensor, err error) {
	e := l.e
	if l.shape == nil {
		return Tensor{}, Tensor{}, fmt.Errorf("gpunn: %s: Add backward before forward", e.where())
	}
	if dy.IsNil() || dy.Len() != shapeLen(l.shape) {
		return Tensor{}, Tensor{}, fmt.Errorf("gpunn: %s: Add backward: output gradient of shape %v for an output of %v", e.where(), dy.Shape, l.shape)
	}
	if err := e.fits("Add backward", "output gradient", dy); err != nil {
		return Tensor{}, Tensor{}, err
	}
	return dy, dy, nil
}
