package nn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/blas"
	"github.com/scibench/scibench/pkg/tensor"
)

// ConvTranspose2DConfig configures a transposed convolution whose kernel
// equals its stride (non-overlapping windows, e.g. 2×2 stride 2). Zero
// Kernel means 2.
type ConvTranspose2DConfig struct {
	InChannels  int
	OutChannels int
	Kernel      int // kernel = stride
	Bias        bool
}

// ConvTranspose2D is PyTorch's ConvTranspose2d with kernel = stride = k and
// no padding: [N, Cin, H, W] → [N, Cout, kH, kW],
//
//	y[n][o][k·i+a][k·j+b] = bias[o] + Σ_c x[n][c][i][j]·W[c][o][a][b]
//
// computed per sample as one SGEMM (Wᵀ as Cout·k² × Cin times x as
// Cin × H·W) followed by a scatter into the output.
type ConvTranspose2D struct {
	W *Param // [InChannels, OutChannels, Kernel, Kernel]
	B *Param // [OutChannels]; nil without bias

	cfg   ConvTranspose2DConfig
	name  string
	x     *tensor.Tensor
	t     []float32 // Cout·k² × H·W scratch
	y, dx tensor.Tensor
}

// NewConvTranspose2D registers the parameters in a as name+".weight" and
// name+".bias".
func NewConvTranspose2D(a *Arena, name string, c ConvTranspose2DConfig) (*ConvTranspose2D, error) {
	if c.Kernel == 0 {
		c.Kernel = 2
	}
	if c.InChannels <= 0 || c.OutChannels <= 0 || c.Kernel < 0 {
		return nil, fmt.Errorf("%w: convtranspose %q: channels %d→%d kernel %d", ErrLayerConfig, name, c.InChannels, c.OutChannels, c.Kernel)
	}
	l := &ConvTranspose2D{cfg: c, name: name}
	l.W = a.Param(name+".weight", c.InChannels, c.OutChannels, c.Kernel, c.Kernel)
	if c.Bias {
		l.B = a.Param(name+".bias", c.OutChannels)
	}
	return l, nil
}

// OutputShape returns [N, Cout, kH, kW], or an error wrapping ErrInputShape.
func (l *ConvTranspose2D) OutputShape(in []int) ([]int, error) {
	if err := l.check(in); err != nil {
		return nil, err
	}
	k := l.cfg.Kernel
	return []int{in[0], l.cfg.OutChannels, in[2] * k, in[3] * k}, nil
}

func (l *ConvTranspose2D) check(in []int) error {
	if len(in) != 4 || in[1] != l.cfg.InChannels {
		return fmt.Errorf("%w: convtranspose %q: input %v, want [N %d H W]", ErrInputShape, l.name, in, l.cfg.InChannels)
	}
	return nil
}

// Forward computes the transposed convolution of x and keeps x for
// Backward.
func (l *ConvTranspose2D) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	if err := l.check(x.Shape); err != nil {
		panic(err)
	}
	l.x = x
	n, cin, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, k := l.cfg.OutChannels, l.cfg.Kernel
	hw, rows := h*w, cout*k*k
	if cap(l.t) < rows*hw {
		l.t = make([]float32, rows*hw)
	}
	l.t = l.t[:rows*hw]
	y := l.y.Ensure(n, cout, h*k, w*k)
	ow := w * k
	for b := 0; b < n; b++ {
		xb := x.Data[b*cin*hw : (b+1)*cin*hw]
		// t[(o·k+a)·k+bb][p] = Σ_c W[c][(o·k+a)·k+bb]·x[c][p]
		blas.Sgemm(true, false, rows, hw, cin, 1, l.W.W, rows, xb, hw, 0, l.t, hw)
		yb := y.Data[b*rows*hw : (b+1)*rows*hw]
		for o := 0; o < cout; o++ {
			var bias float32
			if l.B != nil {
				bias = l.B.W[o]
			}
			yo := yb[o*k*k*hw : (o+1)*k*k*hw]
			for a := 0; a < k; a++ {
				for bb := 0; bb < k; bb++ {
					tr := l.t[((o*k+a)*k+bb)*hw : ((o*k+a)*k+bb+1)*hw]
					for i := 0; i < h; i++ {
						row := yo[(i*k+a)*ow:]
						for j, v := range tr[i*w : (i+1)*w] {
							row[j*k+bb] = v + bias
						}
					}
				}
			}
		}
	}
	return y
}

// Backward accumulates dW (and db) and returns dL/dx.
func (l *ConvTranspose2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := l.x
	n, cin, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, k := l.cfg.OutChannels, l.cfg.Kernel
	hw, rows := h*w, cout*k*k
	ow := w * k
	dx := l.dx.Ensure(x.Shape...)
	for b := 0; b < n; b++ {
		dyb := dy.Data[b*rows*hw : (b+1)*rows*hw]
		// Gather dt[(o·k+a)·k+bb][i·w+j] = dy[o][k·i+a][k·j+bb].
		for o := 0; o < cout; o++ {
			dyo := dyb[o*k*k*hw : (o+1)*k*k*hw]
			var s float32
			for a := 0; a < k; a++ {
				for bb := 0; bb < k; bb++ {
					tr := l.t[((o*k+a)*k+bb)*hw : ((o*k+a)*k+bb+1)*hw]
					for i := 0; i < h; i++ {
						row := dyo[(i*k+a)*ow:]
						for j := range tr[i*w : (i+1)*w] {
							v := row[j*k+bb]
							tr[i*w+j] = v
							s += v
						}
					}
				}
			}
			if l.B != nil {
				l.B.G[o] += s
			}
		}
		xb := x.Data[b*cin*hw : (b+1)*cin*hw]
		// dW[c][r] += Σ_p x[c][p]·dt[r][p];  dx[c][p] = Σ_r W[c][r]·dt[r][p]
		blas.Sgemm(false, true, cin, rows, hw, 1, xb, hw, l.t, hw, 1, l.W.G, rows)
		blas.Sgemm(false, false, cin, hw, rows, 1, l.W.W, rows, l.t, hw, 0, dx.Data[b*cin*hw:(b+1)*cin*hw], hw)
	}
	if l.B != nil {
		l.B.MarkReady()
	}
	l.W.MarkReady()
	return dx
}
