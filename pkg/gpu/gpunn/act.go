package gpunn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/nn"
)

// actKernels returns the forward and backward kernels of an activation
// ("" for Linear, the identity).
func actKernels(f nn.Activation) (fwd, bwd string, err error) {
	switch f {
	case nn.Linear:
		return "", "", nil
	case nn.ReLUAct:
		return "relu_fwd_f32", "relu_bwd_f32", nil
	case nn.SELUAct:
		return "selu_fwd_f32", "selu_bwd_f32", nil
	case nn.SigmoidAct:
		return "sigmoid_fwd_f32", "sigmoid_bwd_f32", nil
	case nn.TanhAct:
		return "tanh_fwd_f32", "tanh_bwd_f32", nil
	}
	return "", "", fmt.Errorf("activation %d has no device kernels", int(f))
}

// Act is the device twin of nn.Act: an element-wise activation of any
// shape (ReLU, SELU, Sigmoid, Tanh, or Linear, which copies). Backward
// uses the stored output, as the CPU layer does.
type Act struct {
	// Fn is the activation (from the host layer).
	Fn nn.Activation

	e     *Engine
	shape []int
	y, dx *devBuf
}

// NewAct mirrors host.
func (e *Engine) NewAct(host *nn.Act) (*Act, error) {
	if host == nil {
		return nil, fmt.Errorf("gpunn: %s: Act: nil host layer", e.where())
	}
	if _, _, err := actKernels(host.Fn); err != nil {
		return nil, fmt.Errorf("gpunn: %s: Act: %w", e.where(), err)
	}
	return &Act{Fn: host.Fn, e: e}, nil
}

func (l *Act) name() string { return "Act " + l.Fn.String() }

// Forward queues y = f(x) and returns y (x's shape, valid until the next
// Forward).
func (l *Act) Forward(x Tensor, _ bool) (Tensor, error) {
	e := l.e
	fwd, _, err := actKernels(l.Fn)
	if err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: %w", e.where(), l.name(), err)
	}
	if err := e.fits(l.name()+" forward", "input", x); err != nil {
		return Tensor{}, err
	}
	n := x.Len()
	if n == 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: empty input of shape %v", e.where(), l.name(), x.Shape)
	}
	if err := e.grow(&l.y, l.name()+" output", n, 4); err != nil {
		return Tensor{}, err
	}
	if fwd == "" {
		err = e.launch("scale_f32", n, l.y.at(0), x.P, float32(1), n)
	} else {
		err = e.launch(fwd, n, l.y.at(0), x.P, n)
	}
	if err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s forward: %w", l.name(), err)
	}
	l.shape = append(l.shape[:0], x.Shape...)
	return l.y.tensor(l.shape...), nil
}

// Backward queues dx = dy·f'(x), computed from the stored output, and
// returns dx (the output's shape).
func (l *Act) Backward(dy Tensor) (Tensor, error) {
	e := l.e
	if l.shape == nil {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward before forward", e.where(), l.name())
	}
	_, bwd, err := actKernels(l.Fn)
	if err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward: %w", e.where(), l.name(), err)
	}
	if err := e.fits(l.name()+" backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	n := shapeLen(l.shape)
	if dy.Len() != n {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward: output gradient of shape %v for an output of %v", e.where(), l.name(), dy.Shape, l.shape)
	}
	if err := e.grow(&l.dx, l.name()+" input gradient", n, 4); err != nil {
		return Tensor{}, err
	}
	if bwd == "" {
		err = e.launch("scale_f32", n, l.dx.at(0), dy.P, float32(1), n)
	} else {
		err = e.launch(bwd, n, l.dx.at(0), dy.P, l.y.at(0), n)
	}
	if err != nil {
		return Tensor{}, fmt.Errorf("gpunn: %s backward: %w", l.name(), err)
	}
	return l.dx.tensor(l.shape...), nil
}

// shapeLen is the number of elements of shape.
func shapeLen(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Softmax is the device twin of nn.Softmax: a softmax over the last axis
// (softmax_fwd_f32, one thread per row), and its backward
// dx = y ⊙ (dy − Σ dy·y) per row.
type Softmax struct {
	e     *Engine
	shape []int
	y, dx *devBuf
}

// NewSoftmax mirrors host (which has no settings).
func (e *Engine) NewSoftmax(host *nn.Softmax) (*Softmax, error) {
	if host == nil {
		return nil, fmt.Errorf("gpunn: %s: Softmax: nil host layer", e.where())
	}
	return &Softmax{e: e}, nil
}

// Forward queues the row softmax of x ([..., k], k ≥ 1) and returns y.
func (l *Softmax) Forward(x Tensor, _ bool) (Tensor, error) {
	e := l.e
	if err := e.fits("Softmax forward", "input", x); err != nil {
		return Tensor{}, err
	}
	n := x.Len()
	if n == 0 || x.Shape[len(x.Shape)-1] <= 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: Softmax forward: empty input of shape %v", e.where(), x.Shape)
	}
	k := x.Shape[len(x.Shape)-1]
	if err := e.grow(&l.y, "Softmax output", n, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("softmax_fwd_f32", n/k, l.y.at(0), x.P, n/k, k); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: Softmax forward: %w", err)
	}
	l.shape = append(l.shape[:0], x.Shape...)
	return l.y.tensor(l.shape...), nil
}

// Backward queues dx = y ⊙ (dy − Σ dy·y) per row and returns dx.
func (l *Softmax) Backward(dy Tensor) (Tensor, error) {
	e := l.e
	if l.shape == nil {
		return Tensor{}, fmt.Errorf("gpunn: %s: Softmax backward before forward", e.where())
	}
	if err := e.fits("Softmax backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	n, k := shapeLen(l.shape), l.shape[len(l.shape)-1]
	if dy.Len() != n {
		return Tensor{}, fmt.Errorf("gpunn: %s: Softmax backward: output gradient of shape %v for an output of %v", e.where(), dy.Shape, l.shape)
	}
	if err := e.grow(&l.dx, "Softmax input gradient", n, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("softmax_bwd_f32", n/k, l.dx.at(0), dy.P, l.y.at(0), n/k, k); err != nil {
		return Tensor{}, fmt.Errorf("gpunn: Softmax backward: %w", err)
	}
	return l.dx.tensor(l.shape...), nil
}
