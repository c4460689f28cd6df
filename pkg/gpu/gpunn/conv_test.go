//go:build linux && (amd64 || arm64)

package gpunn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

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
			ga, err := e.NewArena(context.Background(), ha)
			if err != nil {
				t.Fatal(err)
			}
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
			ga, err := e.NewArena(context.Background(), ha)
			if err != nil {
				t.Fatal(err)
			}
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
	ga, err := e.NewArena(context.Background(), ha)
	if err != nil {
		t.Fatal(err)
	}
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
