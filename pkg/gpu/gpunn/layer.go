package gpunn

import (
	"context"
	"fmt"

	"github.com/scibench/scibench/pkg/gpu"
)

// Tensor is a float32 tensor on the device: Shape (row-major, batch
// first, the host tensor's shape) starting at P. A Tensor does not own its
// memory: layers return views of their own buffers.
type Tensor struct {
	P     gpu.Ptr
	Shape []int
}

// Len is the number of elements.
func (t Tensor) Len() int {
	if len(t.Shape) == 0 {
		return 0
	}
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// At is the address of element i.
func (t Tensor) At(i int) gpu.Ptr { return t.P.Add(4 * i) }

// IsNil reports a missing tensor (a NoInputGrad layer's input gradient).
func (t Tensor) IsNil() bool { return t.P.IsNull() }

// Layer is the device twin of nn.Layer: Forward reads x and returns the
// layer's own output (valid until the next Forward), keeping what Backward
// needs; Backward takes dL/dy, accumulates parameter gradients into the
// arena (then calls Arena.ready on each parameter it finished) and returns
// dL/dx, or a nil Tensor when the layer computes no input gradient. All
// work is queued on the engine's stream; nothing waits for the device.
type Layer interface {
	Forward(x Tensor, train bool) (Tensor, error)
	Backward(dy Tensor) (Tensor, error)
}

// Sequential is the device twin of nn.Sequential.
type Sequential struct {
	Layers []Layer
}

// Forward feeds x through every layer.
func (s *Sequential) Forward(x Tensor, train bool) (Tensor, error) {
	for _, l := range s.Layers {
		var err error
		if x, err = l.Forward(x, train); err != nil {
			return Tensor{}, err
		}
	}
	return x, nil
}

// Backward feeds dy back through the layers in reverse, stopping at a
// layer that returns no input gradient.
func (s *Sequential) Backward(dy Tensor) (Tensor, error) {
	for i := len(s.Layers) - 1; i >= 0 && !dy.IsNil(); i-- {
		var err error
		if dy, err = s.Layers[i].Backward(dy); err != nil {
			return Tensor{}, err
		}
	}
	return dy, nil
}

// grow makes *d hold at least n elements of elem bytes, reallocating
// (and freeing the old buffer) when it is smaller; contents are not kept.
func (e *Engine) grow(d **devBuf, what string, n, elem int) error {
	if *d != nil && (*d).n >= n {
		return nil
	}
	if *d != nil {
		if err := e.release(*d); err != nil {
			return err
		}
		*d = nil
	}
	nb, err := e.alloc(what, n, elem, true)
	if err != nil {
		return err
	}
	*d = nb
	return nil
}

// release frees one engine allocation now.
func (e *Engine) release(d *devBuf) error {
	for i, x := range e.allocs {
		if x == d {
			e.allocs = append(e.allocs[:i], e.allocs[i+1:]...)
			break
		}
	}
	if err := d.buf.Free(); err != nil {
		return fmt.Errorf("gpunn: %s: %w", e.where(), err)
	}
	return nil
}

// tensor is a Tensor view of d with shape.
func (d *devBuf) tensor(shape ...int) Tensor {
	return Tensor{P: d.at(0), Shape: append([]int(nil), shape...)}
}

// checkLen reports an input of the wrong size for a layer.
func (e *Engine) checkIn(layer string, x Tensor, want ...int) error {
	if x.IsNil() {
		return fmt.Errorf("gpunn: %s: %s: nil input", e.where(), layer)
	}
	if len(x.Shape) != len(want) {
		return fmt.Errorf("gpunn: %s: %s: input shape %v, want %v", e.where(), layer, x.Shape, want)
	}
	for i, w := range want {
		if w >= 0 && x.Shape[i] != w {
			return fmt.Errorf("gpunn: %s: %s: input shape %v, want %v (-1: any)", e.where(), layer, x.Shape, want)
		}
	}
	return nil
}

// fits checks that t is present and lies inside its buffer.
func (e *Engine) fits(layer, what string, t Tensor) error {
	if t.IsNil() {
		return fmt.Errorf("gpunn: %s: %s: nil %s", e.where(), layer, what)
	}
	if b := t.P.Buffer(); t.P.Offset()+4*t.Len() > b.Size() {
		return fmt.Errorf("gpunn: %s: %s: %s of shape %v needs %d bytes, its buffer has %d from byte %d",
			e.where(), layer, what, t.Shape, 4*t.Len(), b.Size()-t.P.Offset(), t.P.Offset())
	}
	return nil
}

// Download waits for the engine's stream and returns t's values (tests,
// debugging; the training path moves data through Model).
func (e *Engine) Download(ctx context.Context, t Tensor) ([]float32, error) {
	if err := e.fits("download", "tensor", t); err != nil {
		return nil, err
	}
	if err := e.Synchronize(ctx); err != nil {
		return nil, err
	}
	b := t.P.Buffer()
	raw := make([]byte, b.Size())
	if err := e.c.CopyDtoH(raw, b); err != nil {
		return nil, fmt.Errorf("gpunn: %s: download: %w", e.where(), err)
	}
	out := make([]float32, t.Len())
	copy(gpu.Float32Bytes(out), raw[t.P.Offset():])
	return out, nil
}
