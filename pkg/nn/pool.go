package nn

import (
	"fmt"
	"math"

	"github.com/scibench/scibench/pkg/tensor"
)

// MaxPool2DConfig configures a max pooling window. Zero Stride means
// Kernel. Padding counts as -∞ (PyTorch's MaxPool2d) and must be at most
// Kernel/2.
type MaxPool2DConfig struct {
	Kernel  int
	Stride  int
	Padding int
}

// MaxPool2D takes the maximum over K×K windows of every channel (NCHW).
// The output size is floor((H+2p-K)/s)+1, as in PyTorch and Keras "valid".
// Ties go to the first element in row-major window order; the gradient
// flows to that element only.
type MaxPool2D struct {
	cfg   MaxPool2DConfig
	g     convGeom
	in    []int
	arg   []int32 // per output: index of the max inside its input plane
	y, dx tensor.Tensor
}

// NewMaxPool2D returns a max pooling layer (2×2/2 for U-Net, 3×3/2 pad 1
// for ResNet).
func NewMaxPool2D(c MaxPool2DConfig) (*MaxPool2D, error) {
	if c.Stride == 0 {
		c.Stride = c.Kernel
	}
	if c.Kernel <= 0 || c.Stride <= 0 || c.Padding < 0 || 2*c.Padding > c.Kernel {
		return nil, fmt.Errorf("%w: maxpool kernel %d stride %d padding %d", ErrLayerConfig, c.Kernel, c.Stride, c.Padding)
	}
	return &MaxPool2D{cfg: c}, nil
}

// OutputShape returns the output shape for an input shape, or an error
// wrapping ErrInputShape.
func (l *MaxPool2D) OutputShape(in []int) ([]int, error) {
	if err := l.check(in); err != nil {
		return nil, err
	}
	c := l.cfg
	return []int{in[0], in[1], outDim(in[2], c.Kernel, c.Stride, c.Padding), outDim(in[3], c.Kernel, c.Stride, c.Padding)}, nil
}

func (l *MaxPool2D) check(in []int) error {
	c := l.cfg
	if len(in) != 4 || in[2]+2*c.Padding < c.Kernel || in[3]+2*c.Padding < c.Kernel {
		return fmt.Errorf("%w: maxpool: input %v, want [N C H W] with H, W ≥ %d", ErrInputShape, in, c.Kernel-2*c.Padding)
	}
	return nil
}

// Forward pools x ([N, C, H, W]).
func (l *MaxPool2D) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	if err := l.check(x.Shape); err != nil {
		panic(err)
	}
	c := l.cfg
	n, ch := x.Shape[0], x.Shape[1]
	g := &l.g
	g.set(ch, x.Shape[2], x.Shape[3], c.Kernel, c.Kernel, c.Stride, c.Stride, c.Padding, c.Padding)
	l.in = append(l.in[:0], x.Shape...)
	y := l.y.Ensure(n, ch, g.oh, g.ow)
	if cap(l.arg) < len(y.Data) {
		l.arg = make([]int32, len(y.Data))
	}
	l.arg = l.arg[:len(y.Data)]
	hw, ohw := g.h*g.w, g.oh*g.ow
	for p := 0; p < n*ch; p++ {
		xp := x.Data[p*hw : (p+1)*hw]
		yp, ap := y.Data[p*ohw:(p+1)*ohw], l.arg[p*ohw:(p+1)*ohw]
		for oy := 0; oy < g.oh; oy++ {
			y0 := oy*g.sh - g.ph
			ylo, yhi := max(y0, 0), min(y0+g.kh, g.h)
			for ox := 0; ox < g.ow; ox++ {
				x0 := ox*g.sw - g.pw
				xlo, xhi := max(x0, 0), min(x0+g.kw, g.w)
				best, bi := float32(math.Inf(-1)), ylo*g.w+xlo
				for iy := ylo; iy < yhi; iy++ {
					row := xp[iy*g.w : (iy+1)*g.w]
					for ix := xlo; ix < xhi; ix++ {
						if v := row[ix]; v > best {
							best, bi = v, iy*g.w+ix
						}
					}
				}
				yp[oy*g.ow+ox], ap[oy*g.ow+ox] = best, int32(bi)
			}
		}
	}
	return y
}

// Backward routes each output gradient to its window's maximum.
func (l *MaxPool2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	dx := l.dx.Ensure(l.in...)
	clear(dx.Data)
	hw, ohw := l.g.h*l.g.w, l.g.oh*l.g.ow
	for p := 0; p < l.in[0]*l.in[1]; p++ {
		dxp := dx.Data[p*hw : (p+1)*hw]
		for i, a := range l.arg[p*ohw : (p+1)*ohw] {
			dxp[a] += dy.Data[p*ohw+i]
		}
	}
	return dx
}

// Config returns the layer's configuration.
func (l *MaxPool2D) Config() MaxPool2DConfig { return l.cfg }
