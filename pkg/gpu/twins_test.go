//go:build linux && (amd64 || arm64)

package gpu_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/scibench/scibench/kernels"
	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/tensor"
)

// The kernel-vs-CPU-twin tests: every kernel of package kernels runs on
// random inputs and is compared with the Go code it mirrors (pkg/nn,
// pkg/optim, pkg/tensor) within float32 tolerances, with guard bands
// around every device buffer. They run twice: on a real GPU (skipped when
// gpu.Probe finds none, or NVRTC is missing), and on the fake driver's
// host emulator, which compiles the same .cu sources with the host C++
// compiler and runs each CUDA thread as a POSIX thread.

// TestKernelsMatchCPUTwinsGPU runs the suite on the GPU of this machine.
func TestKernelsMatchCPUTwinsGPU(t *testing.T) {
	c, m := realGPU(t, "the kernel-vs-CPU-twin tests run here on the host emulator only (TestKernelsMatchCPUTwinsEmulated)")
	allTwins(t, c, m, 256, 0)
}

// launched holds the name of every kernel the suites launched.
var launched sync.Map

// allTwins runs every twin suite (kernels/*.cu) and then checks that each
// kernel of kernels.Table was launched by one of them.
func allTwins(t *testing.T, c *gpu.Context, m *gpu.Module, block, maxGrid int) {
	launched.Clear()
	runTwins(t, c, m, block, maxGrid)
	runLSTMTwins(t, c, m, block, maxGrid)
	runMergeTwins(t, c, m, block, maxGrid)
	runConvBatchTwins(t, c, m, block, maxGrid)
	if t.Failed() {
		return
	}
	for _, k := range kernels.Table {
		if _, ok := launched.Load(k.Name); !ok {
			t.Errorf("kernel %s (%s) is not tested against its twin %s", k.Name, k.File, k.Twin)
		}
	}
}

// realGPU opens this machine's GPU with the kernels loaded (closed at the
// end of t), or skips t saying why there is none and where the test runs
// instead (elsewhere).
func realGPU(t *testing.T, elsewhere string) (*gpu.Context, *gpu.Module) {
	t.Helper()
	if _, err := gpu.Probe(); errors.Is(err, gpu.ErrNoGPU) {
		t.Skipf("no GPU (%v): %s", err, elsewhere)
	} else if err != nil {
		t.Fatal(err)
	}
	c, err := gpu.Open(gpu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	m, err := c.LoadKernels(gpu.KernelConfig{})
	if errors.Is(err, gpu.ErrNoNVRTC) {
		t.Skipf("GPU found but no NVRTC (%v): set %s to libnvrtc.so to run the kernel tests", err, gpu.NVRTCLibEnv)
	} else if err != nil {
		t.Fatal(err)
	}
	return c, m
}

// TestKernelsMatchCPUTwinsEmulated runs the suite on the host emulator.
func TestKernelsMatchCPUTwinsEmulated(t *testing.T) {
	c, m := gpu.EmulatedForTest(t)
	allTwins(t, c, m, 32, 3)
}

// env is one device, its kernels and a stream.
type env struct {
	t       *testing.T
	c       *gpu.Context
	m       *gpu.Module
	s       *gpu.Stream
	block   int
	maxGrid int // 0: as many blocks as the data needs
	rng     *rand.Rand
}

const guardN = 16 // elements of guard band on each side of a device buffer

var guard32 = uint32(0x7fa5a5a5) // a NaN no kernel writes

// dvec is a device buffer with guard bands: n elements of elem bytes.
type dvec struct {
	buf     *gpu.Buffer
	n, elem int
}

func (v dvec) p() gpu.Ptr { return v.buf.At(guardN * v.elem) }

func (e *env) upload(raw []byte, n, elem int) dvec {
	e.t.Helper()
	b := make([]byte, (n+2*guardN)*elem)
	for i := 0; i+4 <= len(b); i += 4 {
		binary.LittleEndian.PutUint32(b[i:], guard32)
	}
	copy(b[guardN*elem:], raw)
	buf, err := e.c.Alloc(len(b))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.c.CopyHtoD(buf, b); err != nil {
		e.t.Fatal(err)
	}
	return dvec{buf: buf, n: n, elem: elem}
}

func (e *env) f32(x []float32) dvec { return e.upload(gpu.Float32Bytes(x), len(x), 4) }
func (e *env) zeros(n int) dvec     { return e.f32(make([]float32, n)) }
func (e *env) i32(x []int32) dvec {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return e.upload(b, len(x), 4)
}
func (e *env) f64(x []float64) dvec {
	b := make([]byte, 8*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return e.upload(b, len(x), 8)
}

// raw synchronises the stream, downloads v and checks its guard bands.
func (e *env) raw(what string, v dvec) []byte {
	e.t.Helper()
	if err := e.s.Synchronize(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	b := make([]byte, (v.n+2*guardN)*v.elem)
	if err := e.c.CopyDtoH(b, v.buf); err != nil {
		e.t.Fatal(err)
	}
	for _, off := range []int{0, (guardN + v.n) * v.elem} {
		for i := off; i < off+guardN*v.elem; i += 4 {
			if binary.LittleEndian.Uint32(b[i:]) != guard32 {
				e.t.Fatalf("%s: guard band overwritten at byte %d (buffer of %d elements)", what, i-guardN*v.elem, v.n)
			}
		}
	}
	return b[guardN*v.elem : (guardN+v.n)*v.elem]
}

func (e *env) read32(what string, v dvec) []float32 {
	b := e.raw(what, v)
	out := make([]float32, v.n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func (e *env) readI32(what string, v dvec) []int32 {
	b := e.raw(what, v)
	out := make([]int32, v.n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func (e *env) read64(what string, v dvec) []float64 {
	b := e.raw(what, v)
	out := make([]float64, v.n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// run launches kernel name over n elements (grid-stride; the emulator
// caps the grid so that the loops wrap).
func (e *env) run(name string, n int, args ...any) {
	e.t.Helper()
	lc := gpu.Linear(n, e.block)
	if e.maxGrid > 0 {
		lc.Grid.X = min(lc.Grid.X, e.maxGrid)
	}
	e.launch(name, lc, args...)
}

// perBlock launches a reduction kernel with one block per item (capped).
func (e *env) perBlock(name string, items int, args ...any) {
	e.t.Helper()
	g := max(1, items)
	if e.maxGrid > 0 {
		g = min(g, e.maxGrid)
	}
	e.launch(name, gpu.LaunchConfig{Grid: gpu.Dim3{X: g}, Block: gpu.Dim3{X: e.block}}, args...)
}

func (e *env) launch(name string, lc gpu.LaunchConfig, args ...any) {
	e.t.Helper()
	f, err := e.m.Function(name)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.Launch(f, lc, args...); err != nil {
		e.t.Fatal(err)
	}
	launched.Store(name, true)
}

func (e *env) rand32(n int, lo, hi float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = lo + (hi-lo)*e.rng.Float32()
	}
	return x
}

// near reports whether got is within atol + rtol·|want| of want (NaN
// matches NaN).
func near(got, want, rtol, atol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

func check32(t *testing.T, what string, got, want []float32, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !near(float64(got[i]), float64(want[i]), rtol, atol) {
			t.Fatalf("%s: [%d] = %v, CPU twin %v (rtol %g, atol %g)", what, i, got[i], want[i], rtol, atol)
		}
	}
}

// envMaker makes a stream on c (destroyed at the end of t) and returns
// a maker of one env per subtest, its random stream seeded by seed and
// the subtest's name.
func envMaker(t *testing.T, c *gpu.Context, m *gpu.Module, block, maxGrid int, seed uint64) func(*testing.T) *env {
	t.Helper()
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Destroy() })
	return func(t *testing.T) *env {
		return &env{t: t, c: c, m: m, s: s, block: block, maxGrid: maxGrid, rng: rand.New(rand.NewPCG(seed, uint64(len(t.Name()))))}
	}
}

func runTwins(t *testing.T, c *gpu.Context, m *gpu.Module, block, maxGrid int) {
	mk := envMaker(t, c, m, block, maxGrid, 7)
	t.Run("elementwise", func(t *testing.T) { testElementwise(mk(t)) })
	t.Run("activations", func(t *testing.T) { testActivations(mk(t)) })
	t.Run("dense bias", func(t *testing.T) { testDenseBias(mk(t)) })
	t.Run("conv bias", func(t *testing.T) { testConvBias(mk(t)) })
	t.Run("global average pool", func(t *testing.T) { testGAP(mk(t)) })
	t.Run("maxpool", func(t *testing.T) { testMaxPool(mk(t)) })
	t.Run("upsample", func(t *testing.T) { testUpsample(mk(t)) })
	t.Run("im2col", func(t *testing.T) { testIm2col(mk(t)) })
	t.Run("batchnorm", func(t *testing.T) { testBatchNorm(mk(t)) })
	t.Run("losses", func(t *testing.T) { testLosses(mk(t)) })
	t.Run("optimizers", func(t *testing.T) { testOptimizers(mk(t)) })
}

func testElementwise(e *env) {
	t := e.t
	const n = 1000
	a, b := e.rand32(n, -2, 2), e.rand32(n, -2, 2)
	ta, tb := tensor.FromSlice(a, n), tensor.FromSlice(b, n)
	da, db := e.f32(a), e.f32(b)
	want := tensor.New(n)

	y := e.zeros(n)
	e.run("fill_f32", n, y.p(), float32(3.5), n)
	_ = tensor.Fill(want, 3.5)
	check32(t, "fill_f32", e.read32("fill", y), want.Data, 0, 0)

	e.run("add_f32", n, y.p(), da.p(), db.p(), n)
	_ = tensor.Add(want, ta, tb)
	check32(t, "add_f32", e.read32("add", y), want.Data, 0, 0)

	e.run("mul_f32", n, y.p(), da.p(), db.p(), n)
	_ = tensor.Mul(want, ta, tb)
	check32(t, "mul_f32", e.read32("mul", y), want.Data, 0, 0)

	e.run("scale_f32", n, y.p(), da.p(), float32(-0.3), n)
	_ = tensor.Scale(want, ta, -0.3)
	check32(t, "scale_f32", e.read32("scale", y), want.Data, 0, 0)

	yy := e.f32(b)
	e.run("axpy_f32", n, yy.p(), float32(0.7), da.p(), n)
	wy := tensor.FromSlice(append([]float32(nil), b...), n)
	_ = tensor.AXPY(wy, 0.7, ta)
	check32(t, "axpy_f32", e.read32("axpy", yy), wy.Data, 1e-6, 1e-7)

	mask := make([]float32, n)
	for i := range mask {
		if e.rng.Float32() >= 0.3 {
			mask[i] = 1 / (1 - 0.3)
		}
	}
	dm := e.f32(mask)
	e.run("dropout_apply_f32", n, y.p(), da.p(), dm.p(), n)
	_ = tensor.Mul(want, ta, tensor.FromSlice(mask, n))
	check32(t, "dropout_apply_f32", e.read32("dropout", y), want.Data, 0, 0)
}

func testActivations(e *env) {
	t := e.t
	x := append(e.rand32(500, -6, 6), 0, float32(math.Copysign(0, -1)), 30, -30, 100, -100, 1e-6, -1e-6,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.Float32frombits(0xffc00000))
	n := len(x)
	dy := e.rand32(n, -1, 1)
	dx, ddy := e.f32(x), e.f32(dy)
	for _, a := range []struct {
		fn         nn.Activation
		fwd, bwd   string
		rtol, atol float64
	}{
		{nn.ReLUAct, "relu_fwd_f32", "relu_bwd_f32", 0, 0},
		{nn.SELUAct, "selu_fwd_f32", "selu_bwd_f32", 2e-6, 1e-7},
		{nn.SigmoidAct, "sigmoid_fwd_f32", "sigmoid_bwd_f32", 2e-6, 1e-7},
		{nn.TanhAct, "tanh_fwd_f32", "tanh_bwd_f32", 2e-6, 1e-7},
	} {
		l := nn.NewAct(a.fn)
		want := l.Forward(tensor.FromSlice(x, n), true)
		y := e.zeros(n)
		e.run(a.fwd, n, y.p(), dx.p(), n)
		check32(t, a.fwd, e.read32(a.fwd, y), want.Data, a.rtol, a.atol)
		wdx := l.Backward(tensor.FromSlice(dy, n))
		cy := e.f32(want.Data) // the CPU's y, so the backward is compared alone
		g := e.zeros(n)
		e.run(a.bwd, n, g.p(), ddy.p(), cy.p(), n)
		check32(t, a.bwd, e.read32(a.bwd, g), wdx.Data, a.rtol, a.atol)
	}
}

func testDenseBias(e *env) {
	t := e.t
	const rows, in, out = 5, 3, 7
	a := nn.NewArena()
	d := nn.NewDense(a, "d", in, out, nn.Zeros, nn.NewRand(1))
	a.Build()
	copy(d.B.W, e.rand32(out, -1, 1))
	y := d.Forward(tensor.FromSlice(e.rand32(rows*in, -1, 1), rows, in), true) // W = 0: y = bias rows
	gy, gb := e.zeros(rows*out), e.f32(d.B.W)
	e.run("bias_add_rows_f32", rows*out, gy.p(), gb.p(), rows, out)
	check32(t, "bias_add_rows_f32", e.read32("bias rows", gy), y.Data, 0, 0)

	dyv := e.rand32(rows*out, -1, 1)
	d.Backward(tensor.FromSlice(dyv, rows, out))
	g := e.zeros(out)
	e.run("bias_grad_rows_f32", out, g.p(), e.f32(dyv).p(), rows, out)
	check32(t, "bias_grad_rows_f32", e.read32("bias grad rows", g), d.B.G, 1e-6, 1e-6)
}

func testConvBias(e *env) {
	t := e.t
	const n, cin, cout, h, w = 2, 2, 3, 4, 5
	a := nn.NewArena()
	l, err := nn.NewConv2D(a, "c", nn.Conv2DConfig{InChannels: cin, OutChannels: cout, Kernel: 1, Bias: true})
	if err != nil {
		t.Fatal(err)
	}
	a.Build()
	copy(l.B.W, e.rand32(cout, -1, 1))
	y := l.Forward(tensor.FromSlice(e.rand32(n*cin*h*w, -1, 1), n, cin, h, w), true) // W = 0: y = bias
	gy, gb := e.zeros(n*cout*h*w), e.f32(l.B.W)
	e.run("bias_add_channels_f32", n*cout*h*w, gy.p(), gb.p(), n, cout, h*w)
	check32(t, "bias_add_channels_f32", e.read32("bias channels", gy), y.Data, 0, 0)

	dyv := e.rand32(n*cout*h*w, -1, 1)
	l.Backward(tensor.FromSlice(dyv, n, cout, h, w))
	g := e.zeros(cout)
	e.perBlock("bias_grad_channels_f32", cout, g.p(), e.f32(dyv).p(), n, cout, h*w)
	check32(t, "bias_grad_channels_f32", e.read32("bias grad channels", g), l.B.G, 1e-6, 1e-6)
}

func testGAP(e *env) {
	t := e.t
	const n, c, h, w = 3, 4, 5, 6
	x := e.rand32(n*c*h*w, -1, 1)
	l := nn.NewGlobalAvgPool()
	y := l.Forward(tensor.FromSlice(x, n, c, h, w), true)
	gy := e.zeros(n * c)
	e.run("gap_fwd_f32", n*c, gy.p(), e.f32(x).p(), n*c, h*w)
	check32(t, "gap_fwd_f32", e.read32("gap", gy), y.Data, 0, 0)
	dy := e.rand32(n*c, -1, 1)
	dx := l.Backward(tensor.FromSlice(dy, n, c))
	gdx := e.zeros(n * c * h * w)
	e.run("gap_bwd_f32", n*c*h*w, gdx.p(), e.f32(dy).p(), n*c, h*w)
	check32(t, "gap_bwd_f32", e.read32("gap bwd", gdx), dx.Data, 0, 0)
}

func testMaxPool(e *env) {
	t := e.t
	const n, c, h, w = 2, 3, 7, 8
	for _, cfg := range []nn.MaxPool2DConfig{{Kernel: 2, Stride: 2}, {Kernel: 3, Stride: 2, Padding: 1}, {Kernel: 3, Stride: 1, Padding: 1}} {
		name := fmt.Sprintf("maxpool k%d s%d p%d", cfg.Kernel, cfg.Stride, cfg.Padding)
		x := e.rand32(n*c*h*w, -1, 1)
		for i := range x {
			if i%5 == 0 {
				x[i] = 0.5 // ties: the first maximum wins on both sides
			}
		}
		l, err := nn.NewMaxPool2D(cfg)
		if err != nil {
			t.Fatal(err)
		}
		y := l.Forward(tensor.FromSlice(x, n, c, h, w), true)
		oh, ow := y.Shape[2], y.Shape[3]
		gy, garg := e.zeros(len(y.Data)), e.i32(make([]int32, len(y.Data)))
		geo := []any{n * c, h, w, cfg.Kernel, cfg.Kernel, cfg.Stride, cfg.Stride, cfg.Padding, cfg.Padding, oh, ow}
		e.run("maxpool_fwd_f32", len(y.Data), append([]any{gy.p(), garg.p(), e.f32(x).p()}, geo...)...)
		check32(t, name+" maxpool_fwd_f32", e.read32(name, gy), y.Data, 0, 0)
		dy := e.rand32(len(y.Data), -1, 1)
		dx := l.Backward(tensor.FromSlice(dy, y.Shape...))
		gdx := e.f32(e.rand32(n*c*h*w, 5, 6)) // overwritten, not accumulated
		e.run("maxpool_bwd_f32", n*c*h*w, append([]any{gdx.p(), e.f32(dy).p(), garg.p()}, geo...)...)
		check32(t, name+" maxpool_bwd_f32", e.read32(name+" bwd", gdx), dx.Data, 1e-6, 1e-7)
		for i, a := range e.readI32(name+" arg", garg) {
			if a < 0 || int(a) >= h*w {
				t.Fatalf("%s: arg[%d] = %d outside the %d×%d plane", name, i, a, h, w)
			}
		}
	}
}

func testUpsample(e *env) {
	t := e.t
	const n, c, h, w = 2, 3, 4, 5
	for _, sc := range []int{2, 3} {
		l, err := nn.NewUpsample2D(sc)
		if err != nil {
			t.Fatal(err)
		}
		x := e.rand32(n*c*h*w, -1, 1)
		y := l.Forward(tensor.FromSlice(x, n, c, h, w), true)
		gy := e.zeros(len(y.Data))
		e.run("upsample_nearest_fwd_f32", len(y.Data), gy.p(), e.f32(x).p(), n*c, h, w, sc)
		check32(t, "upsample_nearest_fwd_f32", e.read32("upsample", gy), y.Data, 0, 0)
		dy := e.rand32(len(y.Data), -1, 1)
		dx := l.Backward(tensor.FromSlice(dy, y.Shape...))
		gdx := e.zeros(len(x))
		e.run("upsample_nearest_bwd_f32", len(x), gdx.p(), e.f32(dy).p(), n*c, h, w, sc)
		check32(t, "upsample_nearest_bwd_f32", e.read32("upsample bwd", gdx), dx.Data, 0, 0)
	}
}

// im2colRef is nn.im2col's documented loop (the function is unexported):
// col[(c·KH+i)·KW+j][(oy−oy0)·OW+ox] = x[c][oy·sh−ph+i][ox·sw−pw+j] (0 outside).
func im2colRef(x []float32, c, h, w, k, s, p, ow, oy0, oy1 int) []float32 {
	t := (oy1 - oy0) * ow
	col := make([]float32, c*k*k*t)
	for ch := 0; ch < c; ch++ {
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				r := (ch*k+i)*k + j
				for oy := oy0; oy < oy1; oy++ {
					for ox := 0; ox < ow; ox++ {
						iy, ix := oy*s-p+i, ox*s-p+j
						if iy >= 0 && iy < h && ix >= 0 && ix < w {
							col[r*t+(oy-oy0)*ow+ox] = x[(ch*h+iy)*w+ix]
						}
					}
				}
			}
		}
	}
	return col
}

// col2imRef is nn.col2im's adjoint: dx += the entries of col at the
// positions im2col read them from.
func col2imRef(col, dx []float32, c, h, w, k, s, p, ow, oy0, oy1 int) {
	t := (oy1 - oy0) * ow
	for ch := 0; ch < c; ch++ {
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				r := (ch*k+i)*k + j
				for oy := oy0; oy < oy1; oy++ {
					for ox := 0; ox < ow; ox++ {
						iy, ix := oy*s-p+i, ox*s-p+j
						if iy >= 0 && iy < h && ix >= 0 && ix < w {
							dx[(ch*h+iy)*w+ix] += col[r*t+(oy-oy0)*ow+ox]
						}
					}
				}
			}
		}
	}
}

func testIm2col(e *env) {
	t := e.t
	for _, g := range []struct{ c, h, w, k, s, p int }{{2, 5, 6, 3, 1, 1}, {3, 7, 6, 3, 2, 1}, {1, 4, 4, 2, 2, 0}, {2, 6, 5, 5, 1, 2}} {
		oh, ow := (g.h+2*g.p-g.k)/g.s+1, (g.w+2*g.p-g.k)/g.s+1
		for _, tile := range [][2]int{{0, oh}, {1, max(2, oh-1)}} {
			name := fmt.Sprintf("c%d h%d w%d k%d s%d p%d rows %v", g.c, g.h, g.w, g.k, g.s, g.p, tile)
			x := e.rand32(g.c*g.h*g.w, -1, 1)
			want := im2colRef(x, g.c, g.h, g.w, g.k, g.s, g.p, ow, tile[0], tile[1])
			col := e.f32(e.rand32(len(want), 7, 8))
			geo := []any{g.c, g.h, g.w, g.k, g.k, g.s, g.s, g.p, g.p, ow, tile[0], tile[1]}
			e.run("im2col_f32", len(want), append([]any{col.p(), e.f32(x).p()}, geo...)...)
			check32(t, name+" im2col_f32", e.read32(name, col), want, 0, 0)

			cv := e.rand32(len(want), -1, 1)
			dx0 := e.rand32(len(x), -1, 1) // col2im accumulates
			wdx := append([]float32(nil), dx0...)
			col2imRef(cv, wdx, g.c, g.h, g.w, g.k, g.s, g.p, ow, tile[0], tile[1])
			gdx := e.f32(dx0)
			e.run("col2im_f32", len(x), append([]any{gdx.p(), e.f32(cv).p()}, geo...)...)
			check32(t, name+" col2im_f32", e.read32(name+" col2im", gdx), wdx, 1e-6, 1e-6)
		}
	}
}

func testBatchNorm(e *env) {
	t := e.t
	const n, c, h, w = 4, 3, 5, 6
	hw := h * w
	for _, train := range []bool{true, false} {
		for _, act := range []nn.Activation{nn.Linear, nn.ReLUAct, nn.SigmoidAct} {
			name := fmt.Sprintf("train=%v act=%v", train, act)
			a := nn.NewArena()
			bn, err := nn.NewBatchNorm(a, "bn", nn.BatchNormConfig{Channels: c})
			if err != nil {
				t.Fatal(err)
			}
			a.Build()
			bn.Act = act
			copy(bn.Gamma.W, e.rand32(c, 0.5, 1.5))
			copy(bn.Beta.W, e.rand32(c, -0.5, 0.5))
			copy(bn.RunningMean, e.rand32(c, -0.2, 0.2))
			copy(bn.RunningVar, e.rand32(c, 0.5, 2))
			rm0, rv0 := append([]float32(nil), bn.RunningMean...), append([]float32(nil), bn.RunningVar...)
			x := e.rand32(n*c*hw, -2, 3)
			y := bn.Forward(tensor.FromSlice(x, n, c, h, w), train)

			mean, invstd := e.f64(make([]float64, c)), e.f64(make([]float64, c))
			grm, grv := e.f32(rm0), e.f32(rv0)
			gx, gamma, beta := e.f32(x), e.f32(bn.Gamma.W), e.f32(bn.Beta.W)
			if train {
				e.perBlock("batchnorm_stats_f32", c, mean.p(), invstd.p(), grm.p(), grv.p(), gx.p(), n, c, hw, 0.1, 1e-5)
			} else {
				e.run("batchnorm_eval_stats_f32", c, mean.p(), invstd.p(), grm.p(), grv.p(), c, 1e-5)
			}
			gy, xhat := e.zeros(len(x)), e.zeros(len(x))
			relu := 0
			if act == nn.ReLUAct {
				relu = 1
			}
			e.run("batchnorm_fwd_f32", len(x), gy.p(), xhat.p(), gx.p(), mean.p(), invstd.p(), gamma.p(), beta.p(), n, c, hw, relu)
			if act == nn.SigmoidAct {
				e.run("sigmoid_fwd_f32", len(x), gy.p(), gy.p(), len(x))
			}
			check32(t, name+" y", e.read32(name+" y", gy), y.Data, 1e-5, 1e-5)
			check32(t, name+" running mean", e.read32("rm", grm), bn.RunningMean, 1e-6, 1e-7)
			check32(t, name+" running var", e.read32("rv", grv), bn.RunningVar, 1e-6, 1e-7)

			dy := e.rand32(len(x), -1, 1)
			dx := bn.Backward(tensor.FromSlice(dy, n, c, h, w))
			gdy, g := e.f32(dy), e.zeros(len(x))
			switch act {
			case nn.ReLUAct:
				e.run("relu_bwd_f32", len(x), g.p(), gdy.p(), gy.p(), len(x))
			case nn.SigmoidAct:
				e.run("sigmoid_bwd_f32", len(x), g.p(), gdy.p(), gy.p(), len(x))
			default:
				g = gdy
			}
			sum, dot := e.f64(make([]float64, c)), e.f64(make([]float64, c))
			dgamma, dbeta := e.zeros(c), e.zeros(c)
			e.perBlock("batchnorm_bwd_reduce_f32", c, sum.p(), dot.p(), dgamma.p(), dbeta.p(), g.p(), xhat.p(), n, c, hw)
			gdx := e.zeros(len(x))
			tr := 0
			if train {
				tr = 1
			}
			e.run("batchnorm_bwd_dx_f32", len(x), gdx.p(), g.p(), xhat.p(), sum.p(), dot.p(), invstd.p(), gamma.p(), n, c, hw, tr)
			check32(t, name+" dx", e.read32(name+" dx", gdx), dx.Data, 1e-4, 1e-5)
			check32(t, name+" dgamma", e.read32("dgamma", dgamma), bn.Gamma.G, 1e-4, 1e-5)
			check32(t, name+" dbeta", e.read32("dbeta", dbeta), bn.Beta.G, 1e-4, 1e-5)
		}
	}
}

// sum64 adds a float64 device vector with sum_f64.
func (e *env) sum64(v dvec) float64 {
	out := e.f64([]float64{0})
	e.launch("sum_f64", gpu.LaunchConfig{Grid: gpu.Dim3{X: 1}, Block: gpu.Dim3{X: e.block}}, out.p(), v.p(), v.n)
	return e.read64("sum", out)[0]
}

func testLosses(e *env) {
	t := e.t
	const n, k = 6, 4
	pred, target := e.rand32(n*k, -1, 1), e.rand32(n*k, -1, 1)
	target[3], target[10] = float32(math.NaN()), float32(math.NaN())
	weights := e.rand32(k, 0.1, 2)
	for _, red := range []nn.Reduction{nn.ReduceMean, nn.ReduceSum} {
		for _, wts := range [][]float32{nil, weights} {
			name := fmt.Sprintf("MSE reduction %d weights %v", red, wts != nil)
			l := &nn.MSE{Weights: wts, Reduction: red}
			grad := tensor.New(n, k)
			loss, err := l.Loss(grad, tensor.FromSlice(pred, n, k), tensor.FromSlice(target, n, k))
			if err != nil {
				t.Fatal(err)
			}
			bs := 1.0
			if red == nn.ReduceMean {
				bs = 1.0 / n
			}
			wp := gpu.Null
			if wts != nil {
				wp = e.f32(wts).p()
			}
			out, g := e.f64(make([]float64, n*k)), e.zeros(n*k)
			e.run("mse_masked_f32", n*k, out.p(), g.p(), e.f32(pred).p(), e.f32(target).p(), wp, n*k, k, 1.0/k, bs)
			if got := e.sum64(out) * bs; !near(got, loss, 1e-12, 1e-15) {
				t.Fatalf("%s: loss %v, CPU twin %v", name, got, loss)
			}
			check32(t, name+" grad", e.read32(name, g), grad.Data, 1e-6, 1e-8)
		}
	}

	logits := append(e.rand32(n*k-4, -5, 5), 40, -40, 0, 100)
	tgt := e.rand32(n*k, 0, 1)
	bce := &nn.BCEWithLogits{}
	grad := tensor.New(n, k)
	loss, err := bce.Loss(grad, tensor.FromSlice(logits, n, k), tensor.FromSlice(tgt, n, k))
	if err != nil {
		t.Fatal(err)
	}
	scale := 1.0 / n / k
	out, g := e.f64(make([]float64, n*k)), e.zeros(n*k)
	e.run("bce_logits_f32", n*k, out.p(), g.p(), e.f32(logits).p(), e.f32(tgt).p(), n*k, scale)
	if got := e.sum64(out) * scale; !near(got, loss, 1e-12, 1e-15) {
		t.Fatalf("BCE: loss %v, CPU twin %v", got, loss)
	}
	check32(t, "bce_logits_f32 grad", e.read32("bce", g), grad.Data, 2e-6, 1e-8)

	const rows, classes = 7, 5
	z := e.rand32(rows*classes, -4, 4)
	labels := []int{0, 4, 2, 2, 1, 3, 0}
	lab32 := make([]int32, rows)
	for i, l := range labels {
		lab32[i] = int32(l)
	}
	sce := &nn.SoftmaxCrossEntropy{}
	grad = tensor.New(rows, classes)
	loss, err = sce.Loss(grad, tensor.FromSlice(z, rows, classes), labels)
	if err != nil {
		t.Fatal(err)
	}
	out, g, bad := e.f64(make([]float64, rows)), e.zeros(rows*classes), e.i32([]int32{0})
	e.run("softmax_xent_f32", rows, out.p(), g.p(), e.f32(z).p(), e.i32(lab32).p(), bad.p(), rows, classes, 1.0/rows)
	if got := e.sum64(out) / rows; !near(got, loss, 1e-12, 1e-15) {
		t.Fatalf("softmax cross-entropy: loss %v, CPU twin %v", got, loss)
	}
	check32(t, "softmax_xent_f32 grad", e.read32("sce", g), grad.Data, 2e-6, 1e-8)
	if b := e.readI32("bad", bad)[0]; b != 0 {
		t.Fatalf("bad label flag %d with good labels", b)
	}
	// a label out of range: the CPU returns an error, the kernel flags the row
	lab32[2], lab32[4] = -1, classes
	labels[2], labels[4] = -1, classes
	if _, err := sce.Loss(grad, tensor.FromSlice(z, rows, classes), labels); err == nil {
		t.Fatal("CPU twin accepted a bad label")
	}
	e.run("softmax_xent_f32", rows, out.p(), g.p(), e.f32(z).p(), e.i32(lab32).p(), bad.p(), rows, classes, 1.0/rows)
	if b := e.readI32("bad", bad)[0]; b != 3 && b != 5 {
		t.Fatalf("bad label flag %d, want row 2 or 4 (+1)", b)
	}
	if !math.IsNaN(e.read64("rows", out)[2]) {
		t.Fatal("the row with a bad label has a loss")
	}
}

func testOptimizers(e *env) {
	t := e.t
	const n = 1000
	w0 := e.rand32(n, -1, 1)
	grads := [][]float32{e.rand32(n, -1, 1), e.rand32(n, -0.1, 0.1)}
	f := func(x float64) float32 { return float32(x) }
	type stepFn func(step int, w, g, s1, s2 dvec)
	cases := []struct {
		name string
		cpu  func(w, g []float32)
		gpu  stepFn
	}{}
	for _, c := range []optim.AdamConfig{{LR: 0.01}, {LR: 0.01, WeightDecay: 0.1, Decoupled: true}, {LR: 0.01, WeightDecay: 0.1}} {
		a := optim.NewAdam(n, c)
		cases = append(cases, struct {
			name string
			cpu  func(w, g []float32)
			gpu  stepFn
		}{"Adam " + fmt.Sprint(c), a.Step, func(step int, w, g, m, v dvec) {
			tt := float64(step)
			lrt := f(c.LR * math.Sqrt(1-math.Pow(0.999, tt)) / (1 - math.Pow(0.9, tt)))
			decay, l2 := float32(1), float32(0)
			if c.Decoupled {
				decay = f(1 - c.LR*c.WeightDecay)
			} else {
				l2 = f(c.WeightDecay)
			}
			e.run("adam_f32", n, w.p(), g.p(), m.p(), v.p(), n, lrt, f(0.9), f(1-0.9), f(0.999), f(1-0.999), f(1e-7), decay, l2)
		}})
		ax := optim.NewAdamax(n, c)
		cases = append(cases, struct {
			name string
			cpu  func(w, g []float32)
			gpu  stepFn
		}{"Adamax " + fmt.Sprint(c), ax.Step, func(step int, w, g, m, u dvec) {
			lrt := f(c.LR / (1 - math.Pow(0.9, float64(step))))
			decay, l2 := float32(1), float32(0)
			if c.Decoupled {
				decay = f(1 - c.LR*c.WeightDecay)
			} else {
				l2 = f(c.WeightDecay)
			}
			e.run("adamax_f32", n, w.p(), g.p(), m.p(), u.p(), n, lrt, f(0.9), f(1-0.9), f(0.999), f(1e-7), decay, l2)
		}})
	}
	for _, c := range []optim.SGDConfig{{LR: 0.1, WeightDecay: 0.01}, {LR: 0.1, Momentum: 0.9, WeightDecay: 0.01}, {LR: 0.1, Momentum: 0.9, Nesterov: true}} {
		s := optim.NewSGD(n, c)
		cases = append(cases, struct {
			name string
			cpu  func(w, g []float32)
			gpu  stepFn
		}{"SGD " + fmt.Sprint(c), s.Step, func(_ int, w, g, v, _ dvec) {
			if c.Momentum == 0 {
				e.run("sgd_f32", n, w.p(), g.p(), n, f(c.LR), f(c.WeightDecay))
				return
			}
			nest := 0
			if c.Nesterov {
				nest = 1
			}
			e.run("sgd_momentum_f32", n, w.p(), g.p(), v.p(), n, f(c.LR), f(c.Momentum), f(c.WeightDecay), nest)
		}})
	}
	for _, tc := range cases {
		w := append([]float32(nil), w0...)
		dw, s1, s2 := e.f32(w0), e.zeros(n), e.zeros(n)
		for step, g := range grads {
			tc.cpu(w, g)
			tc.gpu(step+1, dw, e.f32(g), s1, s2)
			check32(t, fmt.Sprintf("%s step %d", tc.name, step+1), e.read32(tc.name, dw), w, 1e-5, 1e-6)
		}
	}
}
