package nn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/tensor"
)

// Upsample2D is nearest-neighbour upsampling by an integer factor:
// y[n][c][i][j] = x[n][c][i/s][j/s] (Keras UpSampling2D, PyTorch
// Upsample(mode="nearest")). Backward sums each s×s block.
type Upsample2D struct {
	scale int
	in    []int
	y, dx tensor.Tensor
}

// NewUpsample2D returns an upsampling layer with the given factor (2 for
// U-Net).
func NewUpsample2D(scale int) (*Upsample2D, error) {
	if scale <= 0 {
		return nil, fmt.Errorf("%w: upsample scale %d", ErrLayerConfig, scale)
	}
	return &Upsample2D{scale: scale}, nil
}

// OutputShape returns the output shape, or an error wrapping ErrInputShape.
func (l *Upsample2D) OutputShape(in []int) ([]int, error) {
	if err := l.check(in); err != nil {
		return nil, err
	}
	return []int{in[0], in[1], in[2] * l.scale, in[3] * l.scale}, nil
}

func (l *Upsample2D) check(in []int) error {
	if len(in) != 4 {
		return fmt.Errorf("%w: upsample: input %v, want [N C H W]", ErrInputShape, in)
	}
	return nil
}

// Forward upsamples x ([N, C, H, W]) to [N, C, sH, sW].
func (l *Upsample2D) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	if err := l.check(x.Shape); err != nil {
		panic(err)
	}
	s := l.scale
	p, h, w := x.Shape[0]*x.Shape[1], x.Shape[2], x.Shape[3]
	l.in = append(l.in[:0], x.Shape...)
	y := l.y.Ensure(x.Shape[0], x.Shape[1], h*s, w*s)
	ow := w * s
	for q := 0; q < p; q++ {
		xp := x.Data[q*h*w : (q+1)*h*w]
		yp := y.Data[q*h*w*s*s : (q+1)*h*w*s*s]
		for i := 0; i < h; i++ {
			row := yp[i*s*ow : i*s*ow+ow]
			for j, v := range xp[i*w : (i+1)*w] {
				for k := 0; k < s; k++ {
					row[j*s+k] = v
				}
			}
			for k := 1; k < s; k++ {
				copy(yp[(i*s+k)*ow:(i*s+k+1)*ow], row)
			}
		}
	}
	return y
}

// Backward sums dy over each s×s block.
func (l *Upsample2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	s := l.scale
	p, h, w := l.in[0]*l.in[1], l.in[2], l.in[3]
	dx := l.dx.Ensure(l.in...)
	ow := w * s
	for q := 0; q < p; q++ {
		dxp := dx.Data[q*h*w : (q+1)*h*w]
		dyp := dy.Data[q*h*w*s*s : (q+1)*h*w*s*s]
		for i := 0; i < h; i++ {
			d := dxp[i*w : (i+1)*w]
			clear(d)
			for k := 0; k < s; k++ {
				row := dyp[(i*s+k)*ow : (i*s+k+1)*ow]
				for j := range d {
					for m := 0; m < s; m++ {
						d[j] += row[j*s+m]
					}
				}
			}
		}
	}
	return dx
}

// Scale returns the upsampling factor.
func (l *Upsample2D) Scale() int { return l.scale }
