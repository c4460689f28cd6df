package nn

import "github.com/scibench/scibench/pkg/tensor"

// Flatten reshapes [N, ...] to [N, prod(...)] without copying: its output
// and dx share the data of its input and dy.
type Flatten struct {
	in    []int
	y, dx tensor.Tensor
}

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Forward returns a [N, rest] view of x.
func (l *Flatten) Forward(x *tensor.Tensor, _ bool) *tensor.Tensor {
	l.in = append(l.in[:0], x.Shape...)
	n := 1
	if len(x.Shape) > 0 {
		n = x.Shape[0]
	}
	rest := 0
	if n > 0 {
		rest = len(x.Data) / n
	}
	l.y.Data = x.Data
	l.y.Reshape(n, rest)
	return &l.y
}

// Backward returns a view of dy in the input's shape.
func (l *Flatten) Backward(dy *tensor.Tensor) *tensor.Tensor {
	l.dx.Data = dy.Data
	l.dx.Reshape(l.in...)
	return &l.dx
}
