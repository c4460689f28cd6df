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

// convColumnCap is the most float32s a Conv2D's batched column matrices
// (and its per-sample weight gradients) take: larger batches are processed
// in chunks of samples that fit.
const convColumnCap = 64 << 20

// convGemm queues C_i = op(A_i)·op(B_i) + beta·C_i for i < batch, A_i at
// a + i·strideA elements (likewise B, C): one strided-batched SGEMM, or one
// SGEMM per entry when the loaded libcublas lacks
// cublasSgemmStridedBatched.
func (e *Engine) convGemm(transA, transB bool, m, n, k int, a gpu.Ptr, lda, strideA int, b gpu.Ptr, ldb, strideB int,
	beta float32, c gpu.Ptr, ldc, strideC, batch int) error {
	if e.bl.StridedBatched() {
		return e.bl.SgemmStridedBatched(transA, transB, m, n, k, 1, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch)
	}
	for i := 0; i < batch; i++ {
		if err := e.bl.SgemmPtr(transA, transB, m, n, k, 1, a.Add(4*i*strideA), lda, b.Add(4*i*strideB), ldb,
			beta, c.Add(4*i*strideC), ldc); err != nil {
			return fmt.Errorf("sample %d of %d: %w", i, batch, err)
		}
	}
	return nil
}

// Conv2D is the device twin of an nn.Conv2D (NCHW cross-correlation with
// square kernel, stride, zero padding, optional bias and fused
// activation), its weight [Cout, Cin, K, K] and bias in an Arena's views.
//
// The batch is the unit of work, in chunks of samples whose column
// matrices fit in convColumnCap floats (usually the whole batch). Forward
// runs, per chunk, im2col_batch_f32 into the column matrices
// [n][Cin·K²][OH·OW] and one strided-batched SGEMM W·col_b into the output
// (W shared with stride 0; 1×1 stride-1 unpadded convolutions read the
// input as the column matrices), then bias_add_channels_f32 and the
// activation's kernel over the whole batch: 4 launches for a batch in one
// chunk (2n+2 with the former per-sample loop). Backward reuses the
// column matrices of Forward when the batch was one chunk (else rebuilds
// each chunk's), computes the per-sample weight gradients dy_b·col_bᵀ
// with one strided-batched SGEMM into a scratch [n][Cout][Cin·K²] that
// sum_samples_f32 adds into the arena gradient (one SGEMM with beta 1 for
// a single sample), the bias gradient with bias_grad_channels_f32, and,
// unless NoInputGrad, dcol_b = Wᵀ·dy_b with one strided-batched SGEMM
// gathered into dx by col2im_batch_f32 (which overwrites dx): 6 launches
// with an activation and a bias, 7 when the columns are rebuilt (3+4n
// with the former per-sample loop). When libcublas has no
// cublasSgemmStridedBatched the SGEMMs fall back to one per sample (the
// weight gradient then accumulates with beta 1, without the scratch).
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
	colCap int // float32s for column matrices and scratch; 0: convColumnCap (tests lower it)

	x            Tensor
	n, h, wd     int // batch and input size of the last Forward
	oh, ow       int
	chunk        int           // samples per chunk of the last Forward
	colValid     bool          // col holds the column matrices of the whole batch of the last Forward
	act          nn.Activation // the activation of the last Forward
	y, col, dact *devBuf
	dx, dw       *devBuf
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

// chunkSize returns how many samples of the last input are processed
// together: as many as fit the column cap (at least one).
func (l *Conv2D) chunkSize() int {
	c := l.cfg
	ckk, ohw := c.InChannels*c.Kernel*c.Kernel, l.oh*l.ow
	per := c.OutChannels * ckk // per-sample weight gradient
	if !l.direct {
		per = max(per, ckk*ohw)
	}
	limit := l.colCap
	if limit <= 0 {
		limit = convColumnCap
	}
	return max(1, min(l.n, limit/max(1, per)))
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
	l.x, l.n, l.h, l.wd, l.oh, l.ow = x, n, h, w, oh, ow
	l.colValid = false
	l.chunk = l.chunkSize()
	if !l.direct {
		if err := e.grow(&l.col, name+" column matrices", l.chunk*ckk*ohw, 4); err != nil {
			return Tensor{}, err
		}
	}
	for b0 := 0; b0 < n; b0 += l.chunk {
		nb := min(l.chunk, n-b0)
		col, err := l.columns(b0, nb)
		if err != nil {
			return Tensor{}, l.fail("forward (im2col)", err)
		}
		if err := e.convGemm(false, false, cout, ohw, ckk, l.a.Param(l.w, 0), ckk, 0, col, ohw, ckk*ohw,
			0, l.y.at(b0*cout*ohw), ohw, cout*ohw, nb); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("forward (samples %d..%d)", b0, b0+nb-1), err)
		}
	}
	l.colValid = !l.direct && l.chunk >= n
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

// columns returns the column matrices of samples [b0, b0+nb) of the last
// input, Cin·K²·OH·OW floats apart: the samples themselves for a direct
// convolution, else im2col_batch_f32 into l.col.
func (l *Conv2D) columns(b0, nb int) (gpu.Ptr, error) {
	c := l.cfg
	xb := l.x.At(b0 * c.InChannels * l.h * l.wd)
	if l.direct {
		return xb, nil
	}
	ckk := c.InChannels * c.Kernel * c.Kernel
	err := l.e.launch("im2col_batch_f32", nb*ckk*l.oh*l.ow, l.col.at(0), xb, nb, c.InChannels, l.h, l.wd, c.Kernel, c.Kernel,
		c.Stride, c.Stride, c.Padding, c.Padding, l.oh, l.ow)
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
		dx = l.dx.tensor(l.x.Shape...)
	}
	batched := e.bl.StridedBatched() && min(l.chunk, n) > 1
	if batched {
		if err := e.grow(&l.dw, name+" per-sample weight gradients", l.chunk*cout*ckk, 4); err != nil {
			return Tensor{}, err
		}
	}
	w, gw := l.a.Param(l.w, 0), l.a.Grad(l.w, 0)
	for b0 := 0; b0 < n; b0 += l.chunk {
		nb := min(l.chunk, n-b0)
		gb := g.Add(4 * b0 * cout * ohw)
		var col gpu.Ptr
		if l.colValid {
			col = l.col.at(0)
		} else {
			var err error
			if col, err = l.columns(b0, nb); err != nil {
				return Tensor{}, l.fail("backward (im2col)", err)
			}
		}
		// dW[o][r] += Σ_b Σ_p g_b[o][p]·col_b[r][p]
		if batched && nb > 1 {
			if err := e.bl.SgemmStridedBatched(false, true, cout, ckk, ohw, 1, gb, ohw, cout*ohw, col, ohw, ckk*ohw,
				0, l.dw.at(0), ckk, cout*ckk, nb); err != nil {
				return Tensor{}, l.fail(fmt.Sprintf("backward (weight gradients, samples %d..%d)", b0, b0+nb-1), err)
			}
			if err := e.launch("sum_samples_f32", cout*ckk, gw, l.dw.at(0), nb, cout*ckk); err != nil {
				return Tensor{}, l.fail("backward (weight gradient sum)", err)
			}
		} else {
			for i := 0; i < nb; i++ {
				if err := e.bl.SgemmPtr(false, true, cout, ckk, ohw, 1, gb.Add(4*i*cout*ohw), ohw, col.Add(4*i*ckk*ohw), ohw,
					1, gw, ckk); err != nil {
					return Tensor{}, l.fail(fmt.Sprintf("backward (weight gradient, sample %d)", b0+i), err)
				}
			}
		}
		if l.NoInputGrad {
			continue
		}
		if l.direct {
			if err := e.convGemm(true, false, ckk, ohw, cout, w, ckk, 0, gb, ohw, cout*ohw, 0, l.dx.at(b0*chw), ohw, chw, nb); err != nil {
				return Tensor{}, l.fail(fmt.Sprintf("backward (input gradient, samples %d..%d)", b0, b0+nb-1), err)
			}
			continue
		}
		// the column matrices are no longer needed: reuse them for dcol_b = Wᵀ·g_b
		l.colValid = false
		if err := e.convGemm(true, false, ckk, ohw, cout, w, ckk, 0, gb, ohw, cout*ohw, 0, col, ohw, ckk*ohw, nb); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("backward (input gradient, samples %d..%d)", b0, b0+nb-1), err)
		}
		if err := e.launch("col2im_batch_f32", nb*chw, l.dx.at(b0*chw), col, nb, c.InChannels, l.h, l.wd, c.Kernel, c.Kernel,
			c.Stride, c.Stride, c.Padding, c.Padding, l.oh, l.ow); err != nil {
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
