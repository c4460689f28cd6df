package nn

import (
	"errors"
	"fmt"

	"github.com/scibench/scibench/pkg/blas"
	"github.com/scibench/scibench/pkg/tensor"
)

// Errors of the convolution family. Constructors wrap ErrLayerConfig;
// OutputShape methods wrap ErrInputShape.
var (
	ErrLayerConfig = errors.New("nn: invalid layer config")
	ErrInputShape  = errors.New("nn: input shape mismatch")
)

// Conv2DConfig configures a 2-D convolution over NCHW input. Zero Stride
// means 1.
type Conv2DConfig struct {
	InChannels  int
	OutChannels int
	Kernel      int  // square kernel size
	Stride      int  // default 1
	Padding     int  // zero padding on every side (1 gives "same" for a 3×3 stride-1 conv)
	Bias        bool // add a learned per-channel bias
	// NoInputGrad makes Backward skip dL/dx (it returns nil): for a first
	// layer, whose input needs no gradient.
	NoInputGrad bool
	// Act is an activation fused after the bias (Linear, the zero value,
	// for none). Forward applies it to each output tile while the tile is
	// in cache, and the layer needs no separate activation buffers.
	Act Activation
}

// Conv2D is a 2-D cross-correlation (PyTorch's Conv2d) computed per sample
// as an SGEMM over an im2col matrix:
//
//	y[n][o][oy][ox] = b[o] + Σ_{c,i,j} W[o][c][i][j]·x[n][c][oy·s-p+i][ox·s-p+j]
//
// with x = 0 outside the image. 1×1 stride-1 unpadded convolutions use the
// input directly as the column matrix. Otherwise the column matrix is built
// a tile of output rows at a time (about 1 MiB, at least 256 columns) and
// consumed by SGEMM while it is still in cache; Backward rebuilds the tiles
// for dW instead of keeping a matrix per sample, so the layer holds one tile
// of scratch whatever the batch size. For dx, stride-1 convolutions
// convolve dy (padding K-1-p) with the flipped kernel, again through column
// tiles; strided ones scatter Wᵀ·dy back with col2im.
type Conv2D struct {
	W   *Param     // [OutChannels, InChannels, Kernel, Kernel]
	B   *Param     // [OutChannels]; nil without bias
	Act Activation // fused activation (from the config; may be changed between steps)

	cfg    Conv2DConfig
	name   string
	direct bool // 1×1, stride 1, no padding: col == x
	g      convGeom
	rows   int // output rows per column tile
	x      *tensor.Tensor
	y, dx  tensor.Tensor
	col    []float32
	dact   []float32 // one sample's dL/d(pre-activation)

	// Stride-1 dx path: dx is the convolution of dy (padding K-1-p) with
	// the flipped, transposed kernel, so Backward builds column tiles of
	// dy (a copy) instead of scattering with col2im (a read-add-write).
	flip  bool
	gd    convGeom   // geometry of that convolution over one dy sample
	rowsD int        // dx rows per dy column tile
	colD  []float32  // dy column tile
	wf    []float32  // [Cin, Cout·K²]: wf[c][(o·K+i)·K+j] = W[o][c][K-1-i][K-1-j]
	act   Activation // the activation of the last Forward

	// maxTileCols caps the tile width (tests set it to force many tiles);
	// 0 means the default sizing. flipMode forces the stride-1 dx path:
	// 1 the flipped kernel, -1 col2im, 0 the measured choice (tests and
	// benchmarks compare the two paths).
	maxTileCols int
	flipMode    int
}

// Tile sizing: a column tile of about tileFloats floats stays in L2 while
// the SGEMM reads it; below minTileCols columns SGEMM runs too short.
const (
	tileFloats  = 256 << 10
	minTileCols = 256
)

// NewConv2D registers the layer's parameters in a (named name+".weight"
// and name+".bias"). Weights start at zero; the model initialises them.
func NewConv2D(a *Arena, name string, c Conv2DConfig) (*Conv2D, error) {
	if c.Stride == 0 {
		c.Stride = 1
	}
	switch {
	case c.InChannels <= 0 || c.OutChannels <= 0:
		return nil, fmt.Errorf("%w: conv %q: channels %d→%d must be positive", ErrLayerConfig, name, c.InChannels, c.OutChannels)
	case c.Kernel <= 0 || c.Stride < 0 || c.Padding < 0:
		return nil, fmt.Errorf("%w: conv %q: kernel %d stride %d padding %d", ErrLayerConfig, name, c.Kernel, c.Stride, c.Padding)
	case c.Padding >= c.Kernel:
		return nil, fmt.Errorf("%w: conv %q: padding %d not below kernel %d", ErrLayerConfig, name, c.Padding, c.Kernel)
	}
	l := &Conv2D{cfg: c, name: name, Act: c.Act}
	l.W = a.Param(name+".weight", c.OutChannels, c.InChannels, c.Kernel, c.Kernel)
	if c.Bias {
		l.B = a.Param(name+".bias", c.OutChannels)
	}
	l.direct = c.Kernel == 1 && c.Stride == 1 && c.Padding == 0
	return l, nil
}

// Config returns the layer's configuration (defaults filled in).
func (l *Conv2D) Config() Conv2DConfig { return l.cfg }

// OutputShape returns the output shape for an input shape, or an error
// wrapping ErrInputShape when the input does not fit the layer.
func (l *Conv2D) OutputShape(in []int) ([]int, error) {
	if err := l.check(in); err != nil {
		return nil, err
	}
	c := l.cfg
	return []int{in[0], c.OutChannels, outDim(in[2], c.Kernel, c.Stride, c.Padding), outDim(in[3], c.Kernel, c.Stride, c.Padding)}, nil
}

func (l *Conv2D) check(in []int) error {
	c := l.cfg
	if len(in) != 4 || in[1] != c.InChannels || in[2]+2*c.Padding < c.Kernel || in[3]+2*c.Padding < c.Kernel {
		return fmt.Errorf("%w: conv %q: input %v, want [N %d H W] with H, W ≥ %d", ErrInputShape, l.name, in, c.InChannels, c.Kernel-2*c.Padding)
	}
	return nil
}

// FLOPs is the forward multiply-add count ×2 for one sample of the given
// input height and width: 2·K²·Cin·Cout·OH·OW.
func (l *Conv2D) FLOPs(h, w int) float64 {
	c := l.cfg
	oh, ow := outDim(h, c.Kernel, c.Stride, c.Padding), outDim(w, c.Kernel, c.Stride, c.Padding)
	return 2 * float64(c.Kernel*c.Kernel*c.InChannels*c.OutChannels) * float64(oh*ow)
}

func (l *Conv2D) geom(x *tensor.Tensor) {
	if err := l.check(x.Shape); err != nil {
		panic(err) // programmer error: the model checks its input shape
	}
	c := l.cfg
	l.g.set(c.InChannels, x.Shape[2], x.Shape[3], c.Kernel, c.Kernel, c.Stride, c.Stride, c.Padding, c.Padding)
	g := &l.g
	if l.direct {
		l.rows = g.oh
		return
	}
	rows := max(tileFloats/(g.colRows()*g.ow), (minTileCols+g.ow-1)/g.ow)
	if l.maxTileCols > 0 {
		rows = max(1, l.maxTileCols/g.ow)
	}
	l.rows = min(rows, g.oh)
	n := g.colRows() * l.rows * g.ow
	if cap(l.col) < n {
		l.col = make([]float32, n)
	}
	l.col = l.col[:n]
	// Measured (docs/results-engine-conv.md): the flipped-kernel dx wins on
	// large images (≥ 32×32 outputs, 4-27 %) and loses on small ones, where
	// col2im is cheap next to the GEMM, and when Cin is too small for a
	// good GEMM.
	l.flip = c.InChannels >= 16 && g.oh*g.ow >= 1024
	if l.flipMode != 0 {
		l.flip = l.flipMode > 0
	}
	l.flip = l.flip && c.Stride == 1 && !c.NoInputGrad
	if !l.flip {
		return
	}
	k, q := c.Kernel, c.Kernel-1-c.Padding
	l.gd.set(c.OutChannels, g.oh, g.ow, k, k, 1, 1, q, q)
	rows = max(tileFloats/(l.gd.colRows()*l.gd.ow), (minTileCols+l.gd.ow-1)/l.gd.ow)
	if l.maxTileCols > 0 {
		rows = max(1, l.maxTileCols/l.gd.ow)
	}
	l.rowsD = min(rows, l.gd.oh)
	l.colD = ensureF32(l.colD, l.gd.colRows()*l.rowsD*l.gd.ow)
	l.wf = ensureF32(l.wf, len(l.W.W))
}

// ensureF32 returns buf resized to n, reusing its capacity.
func ensureF32(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// columns returns the column tile of output rows [oy0, oy1) of sample b of
// x and its row stride.
func (l *Conv2D) columns(x *tensor.Tensor, b, oy0, oy1 int) ([]float32, int) {
	g := &l.g
	chw := g.c * g.h * g.w
	xb := x.Data[b*chw : (b+1)*chw]
	if l.direct {
		return xb[oy0*g.ow:], g.oh * g.ow
	}
	im2col(g, xb, l.col, oy0, oy1)
	return l.col, (oy1 - oy0) * g.ow
}

// Forward computes the convolution of x ([N, Cin, H, W]). It keeps a
// reference to x for Backward.
func (l *Conv2D) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	l.geom(x)
	l.x = x
	n, g := x.Shape[0], &l.g
	cout := l.cfg.OutChannels
	ohw, ckk := g.oh*g.ow, g.colRows()
	y := l.y.Ensure(n, cout, g.oh, g.ow)
	for b := 0; b < n; b++ {
		yb := y.Data[b*cout*ohw : (b+1)*cout*ohw]
		var beta float32
		if l.B != nil {
			for o, bias := range l.B.W {
				row := yb[o*ohw : (o+1)*ohw]
				for i := range row {
					row[i] = bias
				}
			}
			beta = 1
		}
		for oy0 := 0; oy0 < g.oh; oy0 += l.rows {
			oy1 := min(oy0+l.rows, g.oh)
			col, ld := l.columns(x, b, oy0, oy1)
			blas.Sgemm(false, false, cout, (oy1-oy0)*g.ow, ckk, 1, l.W.W, ckk, col, ld, beta, yb[oy0*g.ow:], ohw)
			if l.Act != Linear {
				for o := 0; o < cout; o++ {
					t := yb[o*ohw+oy0*g.ow : o*ohw+oy1*g.ow]
					l.Act.apply(t, t)
				}
			}
		}
	}
	l.act = l.Act
	return y
}

// Backward accumulates dL/dW (and dL/db) and returns dL/dx (nil with
// NoInputGrad). With a fused activation, dy is first multiplied by f'
// (from the stored output).
func (l *Conv2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x, g := l.x, &l.g
	n := x.Shape[0]
	cout := l.cfg.OutChannels
	ohw, ckk := g.oh*g.ow, g.colRows()
	chw := g.c * g.h * g.w
	var dx *tensor.Tensor
	if !l.cfg.NoInputGrad {
		dx = l.dx.Ensure(x.Shape...)
	}
	if l.flip {
		k := l.cfg.Kernel
		for o := 0; o < cout; o++ {
			for c := 0; c < g.c; c++ {
				w := l.W.W[(o*g.c+c)*k*k : (o*g.c+c+1)*k*k]
				f := l.wf[c*cout*k*k+o*k*k : c*cout*k*k+(o+1)*k*k]
				for i := range w {
					f[len(w)-1-i] = w[i]
				}
			}
		}
	}
	for b := 0; b < n; b++ {
		dyb := dy.Data[b*cout*ohw : (b+1)*cout*ohw]
		if l.act != Linear {
			if cap(l.dact) < cout*ohw {
				l.dact = make([]float32, cout*ohw)
			}
			l.dact = l.dact[:cout*ohw]
			l.act.backward(l.dact, dyb, l.y.Data[b*cout*ohw:(b+1)*cout*ohw])
			dyb = l.dact
		}
		if l.B != nil {
			for o := range l.B.G {
				var s float32
				for _, v := range dyb[o*ohw : (o+1)*ohw] {
					s += v
				}
				l.B.G[o] += s
			}
		}
		var dxb []float32
		if dx != nil {
			dxb = dx.Data[b*chw : (b+1)*chw]
			if l.flip && !l.direct {
				l.flipInputGrad(dyb, dxb)
				dxb = nil // done
			} else if !l.direct {
				clear(dxb)
			}
		}
		for oy0 := 0; oy0 < g.oh; oy0 += l.rows {
			oy1 := min(oy0+l.rows, g.oh)
			t := (oy1 - oy0) * g.ow
			col, ld := l.columns(x, b, oy0, oy1)
			dyt := dyb[oy0*g.ow:]
			// dW[o][r] += Σ_p dy[o][p]·col[r][p]
			blas.Sgemm(false, true, cout, ckk, t, 1, dyt, ohw, col, ld, 1, l.W.G, ckk)
			if dxb == nil {
				continue
			}
			if l.direct {
				blas.Sgemm(true, false, ckk, t, cout, 1, l.W.W, ckk, dyt, ohw, 0, dxb[oy0*g.ow:], ohw)
				continue
			}
			// The column tile is no longer needed: reuse it for dcol = Wᵀ·dy.
			blas.Sgemm(true, false, ckk, t, cout, 1, l.W.W, ckk, dyt, ohw, 0, l.col, t)
			col2im(g, l.col, dxb, oy0, oy1)
		}
	}
	if l.B != nil {
		l.B.MarkReady()
	}
	l.W.MarkReady()
	return dx
}

// flipInputGrad writes one sample's dx (Cin×H×W) for a stride-1
// convolution as the convolution of dy (Cout×OH×OW, padding K-1-p) with the
// flipped kernel wf, a dx row tile at a time.
func (l *Conv2D) flipInputGrad(dyb, dxb []float32) {
	gd := &l.gd
	ckk, hw := gd.colRows(), gd.oh*gd.ow
	cin := l.cfg.InChannels
	for y0 := 0; y0 < gd.oh; y0 += l.rowsD {
		y1 := min(y0+l.rowsD, gd.oh)
		t := (y1 - y0) * gd.ow
		im2col(gd, dyb, l.colD, y0, y1)
		blas.Sgemm(false, false, cin, t, ckk, 1, l.wf, ckk, l.colD, t, 0, dxb[y0*gd.ow:], hw)
	}
}
