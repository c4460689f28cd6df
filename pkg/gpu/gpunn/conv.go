package gpunn

import (
	"fmt"
	"strings"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
)

// layerName is a host layer's name: its weight's name without ".weight".
func layerName(w *nn.Param) string { return strings.TrimSuffix(w.Name, ".weight") }

// biasGradChannels queues g[c] += Σ_n Σ_i dy[n][c][i] (one block per
// channel, blocks striding over channels).
func (e *Engine) biasGradChannels(g, dy gpu.Ptr, n, c, hw int) error {
	lc := gpu.LaunchConfig{Grid: gpu.Dim3{X: max(1, min(c, gpu.MaxGridX))}, Block: gpu.Dim3{X: e.block}}
	return e.s.Launch(e.fn["bias_grad_channels_f32"], lc, g, dy, n, c, hw)
}

// Conv2D is the device twin of an nn.Conv2D (NCHW cross-correlation with
// square kernel, stride, zero padding, optional bias and fused
// activation), its weight [Cout, Cin, K, K] and bias in an Arena's views.
// Forward runs, per sample, im2col_f32 into one column buffer and an SGEMM
// W·col into the output (1×1 stride-1 unpadded convolutions read the input
// as the column matrix), then bias_add_channels_f32 and the activation's
// kernel over the whole batch. Backward rebuilds each sample's column
// matrix (the layer keeps one sample's, whatever the batch), accumulates
// dW += dy·colᵀ with SGEMM (beta 1), the bias gradient with
// bias_grad_channels_f32, and scatters dcol = Wᵀ·dy back into dx with
// col2im_f32, unless NoInputGrad.
type Conv2D struct {
	Name string
	// Act is the fused activation; it may be changed between steps, as on
	// the host (Backward uses the one of the last Forward).
	Act nn.Activation
	// NoInputGrad skips the input gradient (the first layer of a model).
	NoInputGrad bool

	cfg    nn.Conv2DConfig
	e      *Engine
	a      *Arena
	w, b   View
	hasB   bool
	direct bool

	x            Tensor
	n, h, wd     int // batch and input size of the last Forward
	oh, ow       int
	act          nn.Activation // the activation of the last Forward
	y, col, dact *devBuf
	dx           *devBuf
}

// NewConv2D mirrors host, whose parameters must be in a's host arena.
func (e *Engine) NewConv2D(a *Arena, host *nn.Conv2D) (*Conv2D, error) {
	if a == nil || a.e != e || host == nil || host.W == nil {
		return nil, fmt.Errorf("gpunn: %s: Conv2D: nil layer or arena of another engine", e.where())
	}
	c := host.Config()
	l := &Conv2D{Name: layerName(host.W), Act: host.Act, NoInputGrad: c.NoInputGrad, cfg: c, e: e, a: a}
	l.direct = c.Kernel == 1 && c.Stride == 1 && c.Padding == 0
	var err error
	if l.w, err = a.view(host.W); err != nil {
		return nil, fmt.Errorf("Conv2D %s: %w", l.Name, err)
	}
	if l.w.Len != c.OutChannels*c.InChannels*c.Kernel*c.Kernel {
		return nil, fmt.Errorf("gpunn: %s: Conv2D %s: weight of %d values for %d→%d channels, kernel %d",
			e.where(), l.Name, l.w.Len, c.InChannels, c.OutChannels, c.Kernel)
	}
	if host.B != nil {
		if l.b, err = a.view(host.B); err != nil {
			return nil, fmt.Errorf("Conv2D %s: %w", l.Name, err)
		}
		if l.b.Len != c.OutChannels {
			return nil, fmt.Errorf("gpunn: %s: Conv2D %s: bias of %d values for %d channels", e.where(), l.Name, l.b.Len, c.OutChannels)
		}
		l.hasB = true
	}
	return l, nil
}

// Config is the host layer's configuration.
func (l *Conv2D) Config() nn.Conv2DConfig { return l.cfg }

func (l *Conv2D) fail(what string, err error) error {
	return fmt.Errorf("gpunn: Conv2D %s %s: %w", l.Name, what, err)
}

// Forward queues the convolution of x ([N, Cin, H, W]) and returns y
// ([N, Cout, OH, OW], valid until the next Forward). x must stay
// unchanged until Backward.
func (l *Conv2D) Forward(x Tensor, _ bool) (Tensor, error) {
	e, c, name := l.e, l.cfg, "Conv2D "+l.Name
	if err := e.checkIn(name+" forward", x, -1, c.InChannels, -1, -1); err != nil {
		return Tensor{}, err
	}
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	if n <= 0 || h <= 0 || w <= 0 || h+2*c.Padding < c.Kernel || w+2*c.Padding < c.Kernel {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: input shape %v, want [N %d H W] with N ≥ 1 and H, W ≥ max(1, %d)",
			e.where(), name, x.Shape, c.InChannels, c.Kernel-2*c.Padding)
	}
	if err := e.fits(name+" forward", "input", x); err != nil {
		return Tensor{}, err
	}
	oh, ow := (h+2*c.Padding-c.Kernel)/c.Stride+1, (w+2*c.Padding-c.Kernel)/c.Stride+1
	ohw, ckk := oh*ow, c.InChannels*c.Kernel*c.Kernel
	cout := c.OutChannels
	if err := e.grow(&l.y, name+" output", n*cout*ohw, 4); err != nil {
		return Tensor{}, err
	}
	if !l.direct {
		if err := e.grow(&l.col, name+" column matrix", ckk*ohw, 4); err != nil {
			return Tensor{}, err
		}
	}
	l.x, l.n, l.h, l.wd, l.oh, l.ow = x, n, h, w, oh, ow
	for b := 0; b < n; b++ {
		col, err := l.columns(b)
		if err != nil {
			return Tensor{}, l.fail("forward (im2col)", err)
		}
		if err := e.bl.SgemmPtr(false, false, cout, ohw, ckk, 1, l.a.Param(l.w, 0), ckk, col, ohw,
			0, l.y.at(b*cout*ohw), ohw); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("forward (sample %d)", b), err)
		}
	}
	if l.hasB {
		if err := e.launch("bias_add_channels_f32", n*cout*ohw, l.y.at(0), l.a.Param(l.b, 0), n, cout, ohw); err != nil {
			return Tensor{}, l.fail("forward (bias)", err)
		}
	}
	l.act = l.Act
	if l.act != nn.Linear {
		fwd, _, err := actKernels(l.act)
		if err != nil {
			return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: %w", e.where(), name, err)
		}
		if err := e.launch(fwd, n*cout*ohw, l.y.at(0), l.y.at(0), n*cout*ohw); err != nil {
			return Tensor{}, l.fail("forward ("+l.act.String()+")", err)
		}
	}
	return l.y.tensor(n, cout, oh, ow), nil
}

// columns returns the column matrix of sample b of the last input: the
// sample itself for a direct convolution, else im2col_f32 into l.col.
func (l *Conv2D) columns(b int) (gpu.Ptr, error) {
	c := l.cfg
	xb := l.x.At(b * c.InChannels * l.h * l.wd)
	if l.direct {
		return xb, nil
	}
	ckk := c.InChannels * c.Kernel * c.Kernel
	err := l.e.launch("im2col_f32", ckk*l.oh*l.ow, l.col.at(0), xb, c.InChannels, l.h, l.wd, c.Kernel, c.Kernel,
		c.Stride, c.Stride, c.Padding, c.Padding, l.ow, 0, l.oh)
	return l.col.at(0), err
}

// Backward queues the gradients for dy ([N, Cout, OH, OW] of the last
// Forward): the weight and bias gradients are added into the arena, and
// the input gradient is returned, or a nil Tensor with NoInputGrad.
func (l *Conv2D) Backward(dy Tensor) (Tensor, error) {
	e, c, name := l.e, l.cfg, "Conv2D "+l.Name
	if l.x.IsNil() {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward before forward", e.where(), name)
	}
	n, cout, ohw := l.n, c.OutChannels, l.oh*l.ow
	chw, ckk := c.InChannels*l.h*l.wd, c.InChannels*c.Kernel*c.Kernel
	if dy.IsNil() || dy.Len() != n*cout*ohw {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward: output gradient of shape %v, want %v",
			e.where(), name, dy.Shape, []int{n, cout, l.oh, l.ow})
	}
	if err := e.fits(name+" backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	g := dy.P
	if l.act != nn.Linear {
		if err := e.grow(&l.dact, name+" pre-activation gradient", n*cout*ohw, 4); err != nil {
			return Tensor{}, err
		}
		_, bwd, _ := actKernels(l.act) // checked by Forward
		if err := e.launch(bwd, n*cout*ohw, l.dact.at(0), dy.P, l.y.at(0), n*cout*ohw); err != nil {
			return Tensor{}, l.fail("backward ("+l.act.String()+")", err)
		}
		g = l.dact.at(0)
	}
	if l.hasB {
		if err := e.biasGradChannels(l.a.Grad(l.b, 0), g, n, cout, ohw); err != nil {
			return Tensor{}, l.fail("backward (bias gradient)", err)
		}
	}
	dx := Tensor{}
	if !l.NoInputGrad {
		if err := e.grow(&l.dx, name+" input gradient", n*chw, 4); err != nil {
			return Tensor{}, err
		}
		if !l.direct { // col2im accumulates
			if err := e.launch("fill_f32", n*chw, l.dx.at(0), float32(0), n*chw); err != nil {
				return Tensor{}, l.fail("backward (clearing the input gradient)", err)
			}
		}
		dx = l.dx.tensor(l.x.Shape...)
	}
	w := l.a.Param(l.w, 0)
	for b := 0; b < n; b++ {
		gb := g.Add(4 * b * cout * ohw)
		col, err := l.columns(b)
		if err != nil {
			return Tensor{}, l.fail("backward (im2col)", err)
		}
		// dW[o][r] += Σ_p g[o][p]·col[r][p]
		if err := e.bl.SgemmPtr(false, true, cout, ckk, ohw, 1, gb, ohw, col, ohw, 1, l.a.Grad(l.w, 0), ckk); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("backward (weight gradient, sample %d)", b), err)
		}
		if l.NoInputGrad {
			continue
		}
		if l.direct {
			if err := e.bl.SgemmPtr(true, false, ckk, ohw, cout, 1, w, ckk, gb, ohw, 0, l.dx.at(b*chw), ohw); err != nil {
				return Tensor{}, l.fail(fmt.Sprintf("backward (input gradient, sample %d)", b), err)
			}
			continue
		}
		// the column matrix is no longer needed: reuse it for dcol = Wᵀ·g
		if err := e.bl.SgemmPtr(true, false, ckk, ohw, cout, 1, w, ckk, gb, ohw, 0, col, ohw); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("backward (input gradient, sample %d)", b), err)
		}
		if err := e.launch("col2im_f32", chw, l.dx.at(b*chw), col, c.InChannels, l.h, l.wd, c.Kernel, c.Kernel,
			c.Stride, c.Stride, c.Padding, c.Padding, l.ow, 0, l.oh); err != nil {
			return Tensor{}, l.fail("backward (col2im)", err)
		}
	}
	// after the last read of W, in nn.Conv2D's order
	if l.hasB {
		if err := l.a.ready(l.b); err != nil {
			return Tensor{}, err
		}
	}
	if err := l.a.ready(l.w); err != nil {
		return Tensor{}, err
	}
	return dx, nil
}

// ConvTranspose2D is the device twin of an nn.ConvTranspose2D (kernel =
// stride = K, no padding: [N, Cin, H, W] → [N, Cout, KH, KW]), its weight
// [Cin, Cout, K, K] and optional bias in an Arena's views. Per sample an
// SGEMM t = Wᵀ·x (Cout·K² × H·W) is scattered into the output with
// col2im_f32, the adjoint of a K×K stride-K convolution whose windows do
// not overlap, so each output element receives exactly one value (the
// output is cleared first, then bias_add_channels_f32 adds the bias: the
// same float32 sum as on the host). Backward gathers dy with im2col_f32
// and runs the two SGEMMs of the host layer (dW accumulated, beta 1).
type ConvTranspose2D struct {
	Name string

	cfg  nn.ConvTranspose2DConfig
	e    *Engine
	a    *Arena
	w, b View
	hasB bool

	x        Tensor
	n, h, wd int
	t        *devBuf // Cout·K² × H·W
	y, dx    *devBuf
}

// NewConvTranspose2D mirrors host, whose parameters must be in a's host
// arena.
func (e *Engine) NewConvTranspose2D(a *Arena, host *nn.ConvTranspose2D) (*ConvTranspose2D, error) {
	if a == nil || a.e != e || host == nil || host.W == nil {
		return nil, fmt.Errorf("gpunn: %s: ConvTranspose2D: nil layer or arena of another engine", e.where())
	}
	if len(host.W.Shape) != 4 {
		return nil, fmt.Errorf("gpunn: %s: ConvTranspose2D: weight %s is not [Cin Cout K K]", e.where(), host.W)
	}
	s := host.W.Shape
	l := &ConvTranspose2D{Name: layerName(host.W), e: e, a: a,
		cfg: nn.ConvTranspose2DConfig{InChannels: s[0], OutChannels: s[1], Kernel: s[2], Bias: host.B != nil}}
	if s[2] != s[3] || s[0] <= 0 || s[1] <= 0 || s[2] <= 0 {
		return nil, fmt.Errorf("gpunn: %s: ConvTranspose2D %s: weight %s is not [Cin Cout K K]", e.where(), l.Name, host.W)
	}
	var err error
	if l.w, err = a.view(host.W); err != nil {
		return nil, fmt.Errorf("ConvTranspose2D %s: %w", l.Name, err)
	}
	if host.B != nil {
		if l.b, err = a.view(host.B); err != nil {
			return nil, fmt.Errorf("ConvTranspose2D %s: %w", l.Name, err)
		}
		if l.b.Len != s[1] {
			return nil, fmt.Errorf("gpunn: %s: ConvTranspose2D %s: bias of %d values for %d channels", e.where(), l.Name, l.b.Len, s[1])
		}
		l.hasB = true
	}
	return l, nil
}

// Config is the layer's configuration (read from the host weight's shape).
func (l *ConvTranspose2D) Config() nn.ConvTranspose2DConfig { return l.cfg }

func (l *ConvTranspose2D) fail(what string, err error) error {
	return fmt.Errorf("gpunn: ConvTranspose2D %s %s: %w", l.Name, what, err)
}

// Forward queues the transposed convolution of x ([N, Cin, H, W]) and
// returns y ([N, Cout, KH, KW], valid until the next Forward). x must stay
// unchanged until Backward.
func (l *ConvTranspose2D) Forward(x Tensor, _ bool) (Tensor, error) {
	e, c, name := l.e, l.cfg, "ConvTranspose2D "+l.Name
	if err := e.checkIn(name+" forward", x, -1, c.InChannels, -1, -1); err != nil {
		return Tensor{}, err
	}
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	if n <= 0 || h <= 0 || w <= 0 {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: empty input of shape %v", e.where(), name, x.Shape)
	}
	if err := e.fits(name+" forward", "input", x); err != nil {
		return Tensor{}, err
	}
	k, cin, cout := c.Kernel, c.InChannels, c.OutChannels
	hw, rows := h*w, cout*k*k
	if err := e.grow(&l.t, name+" scratch", rows*hw, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.grow(&l.y, name+" output", n*rows*hw, 4); err != nil {
		return Tensor{}, err
	}
	if err := e.launch("fill_f32", n*rows*hw, l.y.at(0), float32(0), n*rows*hw); err != nil {
		return Tensor{}, l.fail("forward (clearing the output)", err)
	}
	for b := 0; b < n; b++ {
		// t[(o·k+a)·k+bb][p] = Σ_c W[c][(o·k+a)·k+bb]·x[c][p]
		if err := e.bl.SgemmPtr(true, false, rows, hw, cin, 1, l.a.Param(l.w, 0), rows, x.At(b*cin*hw), hw,
			0, l.t.at(0), hw); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("forward (sample %d)", b), err)
		}
		if err := e.launch("col2im_f32", rows*hw, l.y.at(b*rows*hw), l.t.at(0), cout, h*k, w*k, k, k, k, k, 0, 0, w, 0, h); err != nil {
			return Tensor{}, l.fail("forward (scatter)", err)
		}
	}
	if l.hasB {
		if err := e.launch("bias_add_channels_f32", n*rows*hw, l.y.at(0), l.a.Param(l.b, 0), n, cout, k*k*hw); err != nil {
			return Tensor{}, l.fail("forward (bias)", err)
		}
	}
	l.x, l.n, l.h, l.wd = x, n, h, w
	return l.y.tensor(n, cout, h*k, w*k), nil
}

// Backward queues the gradients for dy ([N, Cout, KH, KW] of the last
// Forward): the weight and bias gradients are added into the arena and
// the input gradient is returned.
func (l *ConvTranspose2D) Backward(dy Tensor) (Tensor, error) {
	e, c, name := l.e, l.cfg, "ConvTranspose2D "+l.Name
	if l.x.IsNil() {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward before forward", e.where(), name)
	}
	n, h, w, k, cin, cout := l.n, l.h, l.wd, c.Kernel, c.InChannels, c.OutChannels
	hw, rows := h*w, cout*k*k
	if dy.IsNil() || dy.Len() != n*rows*hw {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward: output gradient of shape %v, want %v",
			e.where(), name, dy.Shape, []int{n, cout, h * k, w * k})
	}
	if err := e.fits(name+" backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	if err := e.grow(&l.dx, name+" input gradient", n*cin*hw, 4); err != nil {
		return Tensor{}, err
	}
	if l.hasB {
		if err := e.biasGradChannels(l.a.Grad(l.b, 0), dy.P, n, cout, k*k*hw); err != nil {
			return Tensor{}, l.fail("backward (bias gradient)", err)
		}
	}
	for b := 0; b < n; b++ {
		// dt[(o·k+a)·k+bb][i·w+j] = dy[o][k·i+a][k·j+bb]
		if err := e.launch("im2col_f32", rows*hw, l.t.at(0), dy.At(b*rows*hw), cout, h*k, w*k, k, k, k, k, 0, 0, w, 0, h); err != nil {
			return Tensor{}, l.fail("backward (gather)", err)
		}
		xb := l.x.At(b * cin * hw)
		// dW[c][r] += Σ_p x[c][p]·dt[r][p];  dx[c][p] = Σ_r W[c][r]·dt[r][p]
		if err := e.bl.SgemmPtr(false, true, cin, rows, hw, 1, xb, hw, l.t.at(0), hw, 1, l.a.Grad(l.w, 0), rows); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("backward (weight gradient, sample %d)", b), err)
		}
		if err := e.bl.SgemmPtr(false, false, cin, hw, rows, 1, l.a.Param(l.w, 0), rows, l.t.at(0), hw, 0, l.dx.at(b*cin*hw), hw); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("backward (input gradient, sample %d)", b), err)
		}
	}
	if l.hasB {
		if err := l.a.ready(l.b); err != nil {
			return Tensor{}, err
		}
	}
	if err := l.a.ready(l.w); err != nil {
		return Tensor{}, err
	}
	return l.dx.tensor(l.x.Shape...), nil
}
