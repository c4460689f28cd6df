package nn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/tensor"
)

// GlobalAvgPool averages every channel over its spatial positions:
// [N, C, H, W] → [N, C].
type GlobalAvgPool struct {
	in    []int
	y, dx tensor.Tensor
}

// NewGlobalAvgPool returns a global average pooling layer.
func NewGlobalAvgPool() *GlobalAvgPool { return &GlobalAvgPool{} }

// OutputShape returns [N, C], or an error wrapping ErrInputShape.
func (l *GlobalAvgPool) OutputShape(in []int) ([]int, error) {
	if err := l.check(in); err != nil {
		return nil, err
	}
	return []int{in[0], in[1]}, nil
}

func (l *GlobalAvgPool) check(in []int) error {
	if len(in) != 4 || in[2]*in[3] == 0 {
		return fmt.Errorf("%w: global average pool: input %v, want [N C H W]", ErrInputShape, in)
	}
	return nil
}

// Forward averages x over H and W.
func (l *GlobalAvgPool) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	if err := l.check(x.Shape); err != nil {
		panic(err)
	}
	l.in = append(l.in[:0], x.Shape...)
	hw := x.Shape[2] * x.Shape[3]
	y := l.y.Ensure(x.Shape[0], x.Shape[1])
	inv := 1 / float64(hw)
	for p := range y.Data {
		var s float64
		for _, v := range x.Data[p*hw : (p+1)*hw] {
			s += float64(v)
		}
		y.Data[p] = float32(s * inv)
	}
	return y
}

// Backward spreads dy[n][c]/(H·W) over the plane.
func (l *GlobalAvgPool) Backward(dy *tensor.Tensor) *tensor.Tensor {
	dx := l.dx.Ensure(l.in...)
	hw := l.in[2] * l.in[3]
	inv := 1 / float32(hw)
	for p, g := range dy.Data[:l.in[0]*l.in[1]] {
		v := g * inv
		d := dx.Data[p*hw : (p+1)*hw]
		for i := range d {
			d[i] = v
		}
	}
	return dx
}
