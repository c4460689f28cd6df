//go:build linux && (amd64 || arm64)

package gpunn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebitengine/purego"

	"github.com/scibench/scibench/internal/testutil"
	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
)

// near checks got against want within 1e-4·(1 + |want|).
func near(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values on the device, %d on the CPU", what, len(got), len(want))
		return
	}
	bad := 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if !(math.Abs(g-w) <= 1e-4*(1+math.Abs(w))) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] = %v on the device, %v on the CPU", what, i, g, w)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d mismatches of %d", what, bad, len(want))
	}
}

// pair is one layer built on both engines; ha and ga are nil for layers
// without parameters.
type pair struct {
	e           *Engine
	ha          *nn.Arena
	ga          *Arena
	host        nn.Layer
	dev         Layer
	noInputGrad bool
}

// randomize gives every parameter of the built host arena N(0, 0.5²)
// values (non-zero biases included).
func randomize(ha *nn.Arena, rng *rand.Rand) {
	for _, p := range ha.Params() {
		for i := range p.W {
			p.W[i] = float32(rng.NormFloat64() * 0.5)
		}
	}
}

// check runs one forward and two backward passes (different output
// gradients, so the parameter gradients accumulate) on both engines and
// compares the outputs, the input gradients and the parameter gradients,
// that every parameter is reported ready once per backward pass, and the
// guard bands.
func (p *pair) check(t *testing.T, rng *rand.Rand, inShape ...int) {
	t.Helper()
	ctx := context.Background()
	e := p.e
	ready := map[string]int{}
	if p.ga != nil {
		p.ga.SetReadyHook(func(v View) error { ready[v.Name]++; return nil })
		p.ha.ZeroGrad()
		if err := p.ga.ZeroGrad(); err != nil {
			t.Fatal(err)
		}
	}
	x := randTensor(rng, inShape...)
	xd := toDevice(t, e, x)
	yh := p.host.Forward(x, true)
	yd, err := p.dev.Forward(xd, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(yd.Shape, yh.Shape) {
		t.Fatalf("output shape %v on the device, %v on the CPU", yd.Shape, yh.Shape)
	}
	near(t, "output", fromDevice(t, e, yd), yh.Data)
	for round := 1; round <= 2; round++ {
		dy := randTensor(rng, yh.Shape...)
		dyd := toDevice(t, e, dy)
		dxh := p.host.Backward(dy)
		dxd, err := p.dev.Backward(dyd)
		if err != nil {
			t.Fatal(err)
		}
		if p.noInputGrad {
			if !dxd.IsNil() || dxh != nil {
				t.Errorf("backward %d: input gradient with NoInputGrad (device nil: %v, CPU nil: %v)", round, dxd.IsNil(), dxh == nil)
			}
		} else {
			if !slices.Equal(dxd.Shape, x.Shape) {
				t.Fatalf("backward %d: input gradient shape %v, want %v", round, dxd.Shape, x.Shape)
			}
			near(t, fmt.Sprintf("backward %d: input gradient", round), fromDevice(t, e, dxd), dxh.Data)
		}
		if p.ga == nil {
			continue
		}
		for _, v := range p.ga.Views() {
			if ready[v.Name] != round {
				t.Errorf("backward %d: %s reported ready %d times", round, v.Name, ready[v.Name])
			}
		}
		if len(ready) != len(p.ga.Views()) {
			t.Errorf("backward %d: ready reported for %v, the arena has %v", round, ready, p.ga.Views())
		}
	}
	if p.ga != nil {
		g := make([]float32, p.ga.Size())
		if err := p.ga.DownloadGrad(ctx, g); err != nil {
			t.Fatal(err)
		}
		compare(t, "gradient after 2 backward passes", p.ga, g, p.ha.Grad, 1e-4)
		p.ga.SetReadyHook(nil)
	}
	checkGuards(t, e)
}

func TestConv2DMatchesCPU(t *testing.T) {
	cases := []struct {
		cfg   nn.Conv2DConfig
		in    []int
		label string
	}{
		{nn.Conv2DConfig{InChannels: 2, OutChannels: 3, Kernel: 3, Padding: 1, Bias: true, Act: nn.ReLUAct}, []int{2, 2, 6, 6}, "3x3 same relu"},
		{nn.Conv2DConfig{InChannels: 3, OutChannels: 2, Kernel: 3, Stride: 2, Padding: 1, Bias: true}, []int{3, 3, 7, 5}, "3x3/2 pad 1"},
		{nn.Conv2DConfig{InChannels: 2, OutChannels: 2, Kernel: 2, Stride: 2, Act: nn.TanhAct, NoInputGrad: true}, []int{2, 2, 6, 6}, "2x2/2 no bias tanh NoInputGrad"},
		{nn.Conv2DConfig{InChannels: 3, OutChannels: 2, Kernel: 1, Bias: true, Act: nn.SigmoidAct}, []int{2, 3, 5, 5}, "1x1 direct sigmoid"},
		{nn.Conv2DConfig{InChannels: 1, OutChannels: 2, Kernel: 3, Stride: 2, Padding: 2, Bias: true, Act: nn.SELUAct}, []int{2, 1, 5, 6}, "3x3/2 pad 2 selu"},
		{nn.Conv2DConfig{InChannels: 2, OutChannels: 1, Kernel: 1, Stride: 2, Bias: true}, []int{3, 2, 5, 5}, "1x1/2"},
	}
	e := newTestEngine(t)
	for i, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i+1), 11))
			ha := nn.NewArena()
			host, err := nn.NewConv2D(ha, fmt.Sprintf("conv%d", i), c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ha.Build()
			randomize(ha, rng)
			ga := mustArena(t, e, ha)
			dev, err := e.NewConv2D(ga, host)
			if err != nil {
				t.Fatal(err)
			}
			p := &pair{e: e, ha: ha, ga: ga, host: host, dev: dev, noInputGrad: c.cfg.NoInputGrad}
			p.check(t, rng, c.in...)
			// a second call with another batch size grows the buffers
			in := slices.Clone(c.in)
			in[0]++
			p.check(t, rng, in...)
		})
	}
}

// newConvPair builds one Conv2D on the CPU and on e with random
// parameters.
func newConvPair(t *testing.T, e *Engine, rng *rand.Rand, name string, cfg nn.Conv2DConfig) (*pair, *Conv2D) {
	t.Helper()
	ha := nn.NewArena()
	host, err := nn.NewConv2D(ha, name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ha.Build()
	randomize(ha, rng)
	ga := mustArena(t, e, ha)
	dev, err := e.NewConv2D(ga, host)
	if err != nil {
		t.Fatal(err)
	}
	return &pair{e: e, ha: ha, ga: ga, host: host, dev: dev, noInputGrad: cfg.NoInputGrad}, dev
}

// batchedConvCases are the Conv2D configurations of the batching tests:
// column matrices (with and without the input gradient) and the direct
// 1×1 path.
var batchedConvCases = []struct {
	cfg   nn.Conv2DConfig
	label string
}{
	{nn.Conv2DConfig{InChannels: 2, OutChannels: 3, Kernel: 3, Stride: 2, Padding: 1, Bias: true, Act: nn.ReLUAct}, "3x3/2 relu"},
	{nn.Conv2DConfig{InChannels: 2, OutChannels: 2, Kernel: 3, Padding: 1, NoInputGrad: true}, "3x3 NoInputGrad"},
	{nn.Conv2DConfig{InChannels: 3, OutChannels: 2, Kernel: 1, Bias: true}, "1x1 direct"},
}

// TestConv2DChunks: with the column cap lowered so that the batch of 5 is
// processed in chunks of 2 (2, 2, 1) or of 1, Conv2D still matches the CPU
// (outputs, input and accumulated parameter gradients, guard bands).
func TestConv2DChunks(t *testing.T) {
	e := newTestEngine(t)
	for i, c := range batchedConvCases {
		for _, chunk := range []int{2, 1} {
			t.Run(fmt.Sprintf("%s chunk %d", c.label, chunk), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(i+1), uint64(chunk)))
				p, dev := newConvPair(t, e, rng, fmt.Sprintf("chunk%d", i), c.cfg)
				const n, h, w = 5, 5, 6
				k, s, pad := c.cfg.Kernel, max(1, c.cfg.Stride), c.cfg.Padding
				ohw := ((h+2*pad-k)/s + 1) * ((w+2*pad-k)/s + 1)
				ckk := c.cfg.InChannels * k * k
				per := c.cfg.OutChannels * ckk
				if !dev.direct {
					per = max(per, ckk*ohw)
				}
				dev.colCap = chunk*per + per - 1
				p.check(t, rng, n, c.cfg.InChannels, h, w)
				if dev.chunk != chunk {
					t.Fatalf("chunks of %d samples, want %d", dev.chunk, chunk)
				}
			})
		}
	}
}

// launchCounter returns the kernel launches of the emulated driver and the
// cublasSgemmStridedBatched calls of its fake cuBLAS so far.
func launchCounter(t *testing.T) func() (kernels, batched int64) {
	t.Helper()
	hc, err := purego.Dlopen(os.Getenv(gpu.LibEnv), purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := purego.Dlopen(os.Getenv(gpu.CUBLASLibEnv), purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	var stats func(out *[2]int64, name *byte, dims *[7]uint32, stream *uintptr)
	var last func(out *[4]int64) int64
	purego.RegisterLibFunc(&stats, hc, "fake_launch_stats")
	purego.RegisterLibFunc(&last, hb, "fake_cublas_last_batched")
	return func() (int64, int64) {
		var out [2]int64
		name := make([]byte, 256)
		var dims [7]uint32
		var s uintptr
		stats(&out, &name[0], &dims, &s)
		var b [4]int64
		return out[1], last(&b)
	}
}

// TestConv2DLaunches: a batch of 3 in one chunk costs a fixed number of
// kernel launches and strided-batched SGEMMs, whatever n: forward
// im2col_batch, bias, ReLU and one SGEMM; backward ReLU, bias gradient,
// sum_samples, col2im_batch and two SGEMMs (the columns of Forward are
// reused).
func TestConv2DLaunches(t *testing.T) {
	e := newTestEngine(t)
	count := launchCounter(t)
	rng := rand.New(rand.NewPCG(5, 5))
	cfg := batchedConvCases[0].cfg
	_, dev := newConvPair(t, e, rng, "count", cfg)
	x := toDevice(t, e, randTensor(rng, 3, 2, 6, 5))
	k0, b0 := count()
	y, err := dev.Forward(x, true)
	if err != nil {
		t.Fatal(err)
	}
	k1, b1 := count()
	if k1-k0 != 3 || b1-b0 != 1 {
		t.Errorf("forward: %d kernel launches and %d batched SGEMMs, want 3 and 1", k1-k0, b1-b0)
	}
	dy := toDevice(t, e, randTensor(rng, y.Shape...))
	k1, b1 = count()
	if _, err := dev.Backward(dy); err != nil {
		t.Fatal(err)
	}
	k2, b2 := count()
	if k2-k1 != 4 || b2-b1 != 2 {
		t.Errorf("backward: %d kernel launches and %d batched SGEMMs, want 4 and 2", k2-k1, b2-b1)
	}
	// a second backward rebuilds the columns (overwritten by dcol)
	if _, err := dev.Backward(dy); err != nil {
		t.Fatal(err)
	}
	if k3, b3 := count(); k3-k2 != 5 || b3-b2 != 2 {
		t.Errorf("second backward: %d kernel launches and %d batched SGEMMs, want 5 and 2", k3-k2, b3-b2)
	}
	checkGuards(t, e)
}

// TestConv2DWithoutStridedBatched: on a libcublas without
// cublasSgemmStridedBatched Conv2D falls back to one SGEMM per sample and
// still matches the CPU, in one chunk and in chunks.
func TestConv2DWithoutStridedBatched(t *testing.T) {
	cfg := emulated(t)
	cc, _, skip := testutil.Compilers()
	if skip != "" {
		t.Skip(skip)
	}
	lib, err := testutil.BuildCLib(cc, t.TempDir(), filepath.Join("..", "testdata"), "fakecublas.c", "-DNO_SGEMM_BATCHED")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(gpu.CUBLASLibEnv, lib)
	if cfg.Blas, err = cfg.Context.NewBlas(cfg.Stream, gpu.BlasConfig{}); err != nil {
		t.Fatal(err)
	}
	if cfg.Blas.StridedBatched() {
		t.Fatal("the fake cuBLAS built without cublasSgemmStridedBatched has it")
	}
	cfg.Block = 32
	e := guarded(t, cfg)
	for i, c := range batchedConvCases {
		t.Run(c.label, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i+1), 77))
			p, dev := newConvPair(t, e, rng, fmt.Sprintf("plain%d", i), c.cfg)
			p.check(t, rng, 3, c.cfg.InChannels, 5, 5)
			dev.colCap = 1 // one sample per chunk
			p.check(t, rng, 2, c.cfg.InChannels, 6, 5)
		})
	}
}

func TestConvTranspose2DMatchesCPU(t *testing.T) {
	cases := []struct {
		cfg nn.ConvTranspose2DConfig
		in  []int
	}{
		{nn.ConvTranspose2DConfig{InChannels: 2, OutChannels: 3, Bias: true}, []int{2, 2, 3, 4}},
		{nn.ConvTranspose2DConfig{InChannels: 3, OutChannels: 2, Kernel: 3}, []int{2, 3, 2, 3}},
	}
	e := newTestEngine(t)
	for i, c := range cases {
		t.Run(fmt.Sprint(c.cfg), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i+1), 12))
			ha := nn.NewArena()
			host, err := nn.NewConvTranspose2D(ha, fmt.Sprintf("up%d", i), c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ha.Build()
			randomize(ha, rng)
			ga := mustArena(t, e, ha)
			dev, err := e.NewConvTranspose2D(ga, host)
			if err != nil {
				t.Fatal(err)
			}
			(&pair{e: e, ha: ha, ga: ga, host: host, dev: dev}).check(t, rng, c.in...)
		})
	}
}

func TestPoolingMatchesCPU(t *testing.T) {
	e := newTestEngine(t)
	rng := rand.New(rand.NewPCG(5, 13))
	for _, c := range []struct {
		cfg nn.MaxPool2DConfig
		in  []int
	}{
		{nn.MaxPool2DConfig{Kernel: 2}, []int{2, 2, 6, 6}},
		{nn.MaxPool2DConfig{Kernel: 3, Stride: 2, Padding: 1}, []int{2, 2, 7, 7}},
		{nn.MaxPool2DConfig{Kernel: 3, Stride: 1, Padding: 1}, []int{2, 1, 5, 5}},
		{nn.MaxPool2DConfig{Kernel: 2, Stride: 1, Padding: 1}, []int{3, 2, 5, 4}},
	} {
		t.Run(fmt.Sprintf("maxpool %+v", c.cfg), func(t *testing.T) {
			host, err := nn.NewMaxPool2D(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			dev, err := e.NewMaxPool2D(host)
			if err != nil {
				t.Fatal(err)
			}
			(&pair{e: e, host: host, dev: dev}).check(t, rng, c.in...)
		})
	}
	for _, c := range []struct {
		scale int
		in    []int
	}{{2, []int{2, 2, 3, 4}}, {3, []int{2, 1, 2, 2}}} {
		t.Run(fmt.Sprintf("upsample ×%d", c.scale), func(t *testing.T) {
			host, err := nn.NewUpsample2D(c.scale)
			if err != nil {
				t.Fatal(err)
			}
			dev, err := e.NewUpsample2D(host)
			if err != nil {
				t.Fatal(err)
			}
			(&pair{e: e, host: host, dev: dev}).check(t, rng, c.in...)
		})
	}
	t.Run("global average pool", func(t *testing.T) {
		host := nn.NewGlobalAvgPool()
		dev, err := e.NewGlobalAvgPool(host)
		if err != nil {
			t.Fatal(err)
		}
		(&pair{e: e, host: host, dev: dev}).check(t, rng, 3, 2, 5, 4)
	})
	t.Run("flatten", func(t *testing.T) {
		host := nn.NewFlatten()
		dev, err := e.NewFlatten(host)
		if err != nil {
			t.Fatal(err)
		}
		x := toDevice(t, e, randTensor(rng, 2, 3, 2, 2))
		y, err := dev.Forward(x, true)
		if err != nil {
			t.Fatal(err)
		}
		if y.P != x.P || !slices.Equal(y.Shape, []int{2, 12}) {
			t.Errorf("flatten of %v at %v: %v at %v, want [2 12] at the same address", x.Shape, x.P, y.Shape, y.P)
		}
		dx, err := dev.Backward(y)
		if err != nil {
			t.Fatal(err)
		}
		if dx.P != x.P || !slices.Equal(dx.Shape, x.Shape) {
			t.Errorf("flatten backward: %v at %v, want %v at %v", dx.Shape, dx.P, x.Shape, x.P)
		}
		(&pair{e: e, host: host, dev: dev}).check(t, rng, 2, 3, 2, 2)
	})
}

// TestConvBadInputIsAnError checks that wrong shapes are errors naming the
// layer and the device.
func TestConvBadInputIsAnError(t *testing.T) {
	e := newTestEngine(t)
	rng := rand.New(rand.NewPCG(9, 9))
	ha := nn.NewArena()
	host, err := nn.NewConv2D(ha, "c1", nn.Conv2DConfig{InChannels: 2, OutChannels: 2, Kernel: 3, Bias: true})
	if err != nil {
		t.Fatal(err)
	}
	ha.Build()
	ga := mustArena(t, e, ha)
	conv, err := e.NewConv2D(ga, host)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := nn.NewMaxPool2D(nn.MaxPool2DConfig{Kernel: 2})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := e.NewMaxPool2D(mp)
	if err != nil {
		t.Fatal(err)
	}
	where := e.where()
	mustFail := func(what string, err error, words ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, w := range append(words, where) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %q", what, err, w)
			}
		}
	}
	x := toDevice(t, e, randTensor(rng, 1, 2, 4, 4))
	_, err = conv.Backward(x)
	mustFail("backward before forward", err, "Conv2D c1")
	_, err = conv.Forward(Tensor{P: x.P, Shape: []int{1, 3, 4, 4}}, true)
	mustFail("wrong channels", err, "Conv2D c1", "[1 3 4 4]")
	_, err = conv.Forward(Tensor{P: x.P, Shape: []int{1, 2, 2, 2}}, true)
	mustFail("input smaller than the kernel", err, "Conv2D c1")
	_, err = conv.Forward(Tensor{P: x.P, Shape: []int{2, 2, 4, 4}}, true)
	mustFail("input past its buffer", err, "Conv2D c1", "input")
	y, err := conv.Forward(x, true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conv.Backward(Tensor{P: y.P, Shape: []int{1, 2, 1, 2}})
	mustFail("short output gradient", err, "Conv2D c1")
	_, err = pool.Backward(x)
	mustFail("maxpool backward before forward", err, "MaxPool2D")
	_, err = pool.Forward(Tensor{P: x.P, Shape: []int{2, 4, 4}}, true)
	mustFail("maxpool of a 3-D input", err, "MaxPool2D")
	if _, err := e.NewConv2D(ga, nil); err == nil {
		t.Error("NewConv2D(nil): no error")
	}
	checkGuards(t, e)
}
