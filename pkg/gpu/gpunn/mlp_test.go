//go:build linux && (amd64 || arm64)

package gpunn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/tensor"
)

// TestMLPMatchesCPUEmulated trains random small MLPs for 3 steps on the
// CPU engine (pkg/nn, pkg/optim) and on the emulated device and compares
// losses, gradients and parameters.
func TestMLPMatchesCPUEmulated(t *testing.T) {
	cfg := emulated(t)
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { trainBoth(t, cfg, seed) })
	}
}

// TestMLPMatchesCPUGPU runs the same comparison on this machine's GPU.
func TestMLPMatchesCPUGPU(t *testing.T) {
	cfg := realConfig(t, "the device MLP is tested here on the host emulator only (TestMLPMatchesCPUEmulated)")
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { trainBoth(t, cfg, seed) })
	}
}

const guardElems = 16

// model is one MLP built on both engines.
type model struct {
	arena  *nn.Arena
	seq    *nn.Sequential
	sizes  []int
	e      *Engine
	ga     *Arena
	layers []*Dense
}

func build(t *testing.T, cfg Config, rng *rand.Rand) *model {
	t.Helper()
	nl := 2 + rng.IntN(2)
	sizes := make([]int, nl+1)
	for i := range sizes {
		sizes[i] = 1 + rng.IntN(9)
	}
	md := &model{arena: nn.NewArena(), seq: nn.NewSequential(), sizes: sizes}
	var hosts []*nn.Dense
	for i := range nl {
		d := nn.NewDense(md.arena, fmt.Sprintf("dense%d", i), sizes[i], sizes[i+1], nn.GlorotUniform, rng)
		d.NoInputGrad = i == 0
		hosts = append(hosts, d)
		md.seq.Add(d)
		if i < nl-1 {
			md.seq.Add(nn.NewReLU())
		}
	}
	md.arena.Build()
	for _, d := range hosts { // non-zero biases, so the bias path counts
		for j := range d.B.W {
			d.B.W[j] = float32(rng.NormFloat64() * 0.1)
		}
	}
	e := guarded(t, cfg)
	md.e = e
	var err error
	if md.ga, err = e.NewArena(context.Background(), md.arena); err != nil {
		t.Fatal(err)
	}
	for i, h := range hosts {
		d, err := e.NewDense(md.ga, h, i < nl-1)
		if err != nil {
			t.Fatal(err)
		}
		md.layers = append(md.layers, d)
	}
	return md
}

func trainBoth(t *testing.T, cfg Config, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 42))
	md := build(t, cfg, rng)
	rows := 5 + rng.IntN(13)
	in, out := md.sizes[0], md.sizes[len(md.sizes)-1]
	t.Logf("sizes %v, batch %d, %d parameters", md.sizes, rows, md.arena.Size())
	ocfg := optim.AdamConfig{LR: 0.01}
	cpuOpt := optim.NewAdamax(md.arena.Size(), ocfg)
	devOpt, err := md.e.NewOptimizer(md.ga, optim.NewAdamax(md.arena.Size(), ocfg), OptimizerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cpuLoss := &nn.MSE{Reduction: nn.ReduceSum}
	devLoss := md.e.NewMSE()
	xd, err := md.e.alloc("test input", rows*in, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	td, err := md.e.alloc("test target", rows*out, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	grad := make([]float32, md.arena.Size())
	for step := 1; step <= 3; step++ {
		x, y := tensor.New(rows, in), tensor.New(rows, out)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		for i := range y.Data {
			y.Data[i] = float32(rng.NormFloat64())
		}
		y.Data[rng.IntN(len(y.Data))] = float32(math.NaN()) // a masked target
		// CPU engine.
		md.arena.ZeroGrad()
		pred := md.seq.Forward(x, true)
		var g tensor.Tensor
		want, err := cpuLoss.Loss(&g, pred, y)
		if err != nil {
			t.Fatal(err)
		}
		md.seq.Backward(&g)
		// Device engine.
		if err := md.e.Synchronize(ctx); err != nil {
			t.Fatal(err)
		}
		if err := md.e.upload(xd, x.Data); err != nil {
			t.Fatal(err)
		}
		if err := md.e.upload(td, y.Data); err != nil {
			t.Fatal(err)
		}
		if err := md.ga.ZeroGrad(); err != nil {
			t.Fatal(err)
		}
		h := xd.tensor(rows, in)
		for _, d := range md.layers {
			if h, err = d.Forward(h, true); err != nil {
				t.Fatal(err)
			}
		}
		got, dh, err := devLoss.Loss(ctx, h, td.tensor(rows, out))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
			t.Errorf("step %d: loss %v on the device, %v on the CPU", step, got, want)
		}
		for i := len(md.layers) - 1; i >= 0; i-- {
			if dh, err = md.layers[i].Backward(dh); err != nil {
				t.Fatal(err)
			}
		}
		if !dh.IsNil() {
			t.Errorf("step %d: first layer returned an input gradient with NoInputGrad", step)
		}
		if err := md.ga.DownloadGrad(ctx, grad); err != nil {
			t.Fatal(err)
		}
		compare(t, fmt.Sprintf("step %d gradient", step), md.ga, grad, md.arena.Grad, 1e-4)
		cpuOpt.Step(md.arena.Data, md.arena.Grad)
		if err := devOpt.StepErr(nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	w := make([]float32, md.arena.Size())
	if err := md.ga.Download(ctx, w); err != nil {
		t.Fatal(err)
	}
	compare(t, "parameters after 3 steps", md.ga, w, md.arena.Data, 1e-5)
	checkGuards(t, md.e)
}

// compare checks got against want within atol + rtol·|want| (rtol 1e-4),
// naming the parameter of the first mismatches.
func compare(t *testing.T, what string, a *Arena, got, want []float32, atol float64) {
	t.Helper()
	bad := 0
	for _, v := range a.Views() {
		for i := v.Offset; i < v.Offset+v.Len; i++ {
			g, w := float64(got[i]), float64(want[i])
			if !(math.Abs(g-w) <= atol+1e-4*math.Abs(w)) {
				if bad++; bad <= 5 {
					t.Errorf("%s: %s[%d] = %v on the device, %v on the CPU", what, v.Name, i-v.Offset, g, w)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d mismatches in all", what, bad)
	}
}

// checkGuards checks that the guard bands of every engine allocation
// still hold the pattern.
func checkGuards(t *testing.T, e *Engine) {
	t.Helper()
	if err := e.Synchronize(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, d := range e.allocs {
		raw := make([]byte, d.buf.Size())
		if err := e.c.CopyDtoH(raw, d.buf); err != nil {
			t.Fatal(err)
		}
		end := d.off + d.n*d.elem
		if d.off != guardElems*d.elem && d.front || len(raw)-end != guardElems*d.elem {
			t.Fatalf("allocation %d: guard bands %d and %d bytes, want %d", i, d.off, len(raw)-end, guardElems*d.elem)
		}
		for j, b := range raw {
			if (j < d.off || j >= end) && b != guardByte {
				t.Errorf("allocation %d (%d elements of %d bytes): guard byte %d overwritten", i, d.n, d.elem, j)
				break
			}
		}
	}
}
