//go:build linux && (amd64 || arm64)

package gpunn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// lstmCase is one LSTM configuration of the device-vs-CPU test.
type lstmCase struct {
	act, rec    nn.Activation
	seq         bool
	drop, rdrop float64
	train       bool
	keyed       bool
}

// TestLSTMMatchesCPUEmulated runs random tiny LSTMs (every option of
// nn.LSTM: activations, ReturnSequences, input and recurrent dropout with
// keyed masks, eval mode) forward and backward twice without zeroing the
// gradients on the CPU engine and on the emulated device, and compares
// outputs, input gradients and accumulated parameter gradients, the ready
// hook and the guard bands.
func TestLSTMMatchesCPUEmulated(t *testing.T) {
	cfg := emulated(t)
	for i, c := range lstmCases {
		t.Run(fmt.Sprintf("%d:%v/%v seq=%v drop=%v/%v train=%v", i, c.act, c.rec, c.seq, c.drop, c.rdrop, c.train), func(t *testing.T) {
			lstmBoth(t, cfg, c, uint64(i+1))
		})
	}
}

// lstmCases cover every option of nn.LSTM.
var lstmCases = []lstmCase{
	{act: nn.TanhAct, rec: nn.SigmoidAct, train: true},
	{act: nn.TanhAct, rec: nn.SigmoidAct, seq: true, drop: 0.3, rdrop: 0.25, train: true, keyed: true},
	{act: nn.SELUAct, rec: nn.SigmoidAct, drop: 0.2, rdrop: 0.2, train: true, keyed: true}, // earthquake
	{act: nn.ReLUAct, rec: nn.TanhAct, seq: true, train: true},
	{act: nn.Linear, rec: nn.SigmoidAct, rdrop: 0.4, train: true, keyed: true},
	{act: nn.TanhAct, rec: nn.SigmoidAct, seq: true, drop: 0.5, rdrop: 0.5, train: false}, // eval: no masks
}

// TestLSTMMatchesCPUGPU runs the same comparison on this machine's GPU.
func TestLSTMMatchesCPUGPU(t *testing.T) {
	cfg := realConfig(t, "the device LSTM is tested here on the host emulator only (TestLSTMMatchesCPUEmulated)")
	for i, lc := range lstmCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) { lstmBoth(t, cfg, lc, uint64(i+1)) })
	}
}

func lstmBoth(t *testing.T, cfg Config, c lstmCase, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 99))
	n, T, F, H := 2+rng.IntN(2), 3+rng.IntN(3), 2+rng.IntN(3), 3+rng.IntN(4)
	t.Logf("batch %d, %d steps, %d inputs, %d units", n, T, F, H)
	arena := nn.NewArena()
	lc := nn.DefaultLSTMConfig(F, H)
	lc.Act, lc.RecAct, lc.ReturnSequences = c.act, c.rec, c.seq
	lc.Dropout, lc.RecurrentDropout, lc.Seed = c.drop, c.rdrop, seed
	host := nn.NewLSTM(arena, "lstm", lc, rng)
	arena.Build()
	for _, p := range host.Params() { // random weights of a size that keeps the gates off saturation
		for j := range p.W {
			p.W[j] = float32(rng.NormFloat64() * 0.5)
		}
	}
	e := guarded(t, cfg)
	ga := mustArena(t, e, arena)
	dev, err := e.NewLSTM(ga, host)
	if err != nil {
		t.Fatal(err)
	}
	var ready []string
	ga.SetReadyHook(func(v View) error { ready = append(ready, v.Name); return nil })
	out := []int{n, H}
	if c.seq {
		out = []int{n, T, H}
	}
	xd, err := e.alloc("test input", n*T*F, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	dyd, err := e.alloc("test output gradient", tensor.New(out...).Len(), 4, true)
	if err != nil {
		t.Fatal(err)
	}
	arena.ZeroGrad()
	if err := ga.ZeroGrad(); err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 2; step++ {
		if c.keyed {
			key := rng.Uint64()
			first := rng.IntN(100)
			host.SetMaskKey(key, first)
			dev.SetMaskKey(key, first)
		}
		x, dy := tensor.New(n, T, F), tensor.New(out...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		for i := range dy.Data {
			dy.Data[i] = float32(rng.NormFloat64())
		}
		y := host.Forward(x, c.train)
		dx := host.Backward(dy)

		if err := e.Synchronize(ctx); err != nil {
			t.Fatal(err)
		}
		if err := e.upload(xd, x.Data); err != nil {
			t.Fatal(err)
		}
		if err := e.upload(dyd, dy.Data); err != nil {
			t.Fatal(err)
		}
		ready = ready[:0]
		gy, err := dev.Forward(xd.tensor(n, T, F), c.train)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(gy.Shape) != fmt.Sprint(y.Shape) {
			t.Fatalf("step %d: output shape %v on the device, %v on the CPU", step, gy.Shape, y.Shape)
		}
		got := fromDevice(t, e, gy)
		gdx, err := dev.Backward(dyd.tensor(out...))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(gdx.Shape) != fmt.Sprint(x.Shape) {
			t.Fatalf("step %d: input gradient shape %v, want %v", step, gdx.Shape, x.Shape)
		}
		compareVec(t, fmt.Sprintf("step %d output", step), got, y.Data)
		compareVec(t, fmt.Sprintf("step %d input gradient", step), fromDevice(t, e, gdx), dx.Data)
		grad := make([]float32, arena.Size())
		if err := ga.DownloadGrad(ctx, grad); err != nil {
			t.Fatal(err)
		}
		compare(t, fmt.Sprintf("step %d accumulated gradient", step), ga, grad, arena.Grad, 1e-5)
		if want := "lstm.bias lstm.recurrent_kernel lstm.kernel"; strings.Join(ready, " ") != want {
			t.Errorf("step %d: ready hook called for %v, want %s", step, ready, want)
		}
	}
	checkGuards(t, e)
}

// compareVec checks got against want within 1e-5 + 1e-4·|want|.
func compareVec(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values on the device, %d on the CPU", what, len(got), len(want))
	}
	bad := 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if !(math.Abs(g-w) <= 1e-5+1e-4*math.Abs(w)) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] = %v on the device, %v on the CPU", what, i, g, w)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d mismatches in all", what, bad)
	}
}

// TestLSTMErrorsEmulated checks that misuse is an error naming the layer
// and the device.
func TestLSTMErrorsEmulated(t *testing.T) {
	cfg := emulated(t)
	arena := nn.NewArena()
	host := nn.NewLSTM(arena, "lstmE", nn.DefaultLSTMConfig(3, 4), rand.New(rand.NewPCG(1, 2)))
	arena.Build()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Free()
	ga := mustArena(t, e, arena)
	l, err := e.NewLSTM(ga, host)
	if err != nil {
		t.Fatal(err)
	}
	x, err := e.alloc("x", 2*3*3, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "lstmE") || !strings.Contains(err.Error(), "device") {
			t.Errorf("%s: error %v, want one naming LSTM lstmE and the device", what, err)
		}
	}
	_, err = l.Backward(x.tensor(2, 4))
	check("backward before forward", err)
	_, err = l.Forward(x.tensor(2, 3, 2), true)
	check("forward of the wrong width", err)
	_, err = l.Forward(x.tensor(2, 9, 3), true)
	check("forward of an input beyond its buffer", err)
	if _, err = l.Forward(x.tensor(2, 3, 3), true); err != nil {
		t.Fatal(err)
	}
	_, err = l.Backward(x.tensor(2, 3))
	check("backward of the wrong size", err)
	other := nn.NewArena()
	stranger := nn.NewLSTM(other, "lstmE", nn.DefaultLSTMConfig(5, 4), rand.New(rand.NewPCG(1, 2)))
	other.Build()
	_, err = e.NewLSTM(ga, stranger)
	if err == nil {
		t.Error("NewLSTM accepted a layer of another arena")
	}
}

// TestLSTMUnkeyedMasksEmulated checks that unkeyed training draws a fresh
// mask per Forward (outputs of the same input differ, masked elements are
// zero) while a keyed pass repeats its mask.
func TestLSTMUnkeyedMasksEmulated(t *testing.T) {
	cfg := emulated(t)
	arena := nn.NewArena()
	lc := nn.DefaultLSTMConfig(3, 4)
	lc.Dropout, lc.ReturnSequences = 0.5, true
	host := nn.NewLSTM(arena, "lstmU", lc, rand.New(rand.NewPCG(3, 4)))
	arena.Build()
	cfg.guard = guardElems
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Free()
	ga := mustArena(t, e, arena)
	l, err := e.NewLSTM(ga, host)
	if err != nil {
		t.Fatal(err)
	}
	const n, T = 3, 4
	x, err := e.alloc("x", n*T*3, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]float32, n*T*3)
	for i := range xs {
		xs[i] = float32(i%7) - 3
	}
	if err := e.upload(x, xs); err != nil {
		t.Fatal(err)
	}
	run := func() []float32 {
		t.Helper()
		y, err := l.Forward(x.tensor(n, T, 3), true)
		if err != nil {
			t.Fatal(err)
		}
		return fromDevice(t, e, y)
	}
	same := func(a, b []float32) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
	if a, b := run(), run(); same(a, b) {
		t.Error("two unkeyed training passes used the same mask")
	}
	mx := make([]float32, n*3)
	if err := e.download(mx, l.mx); err != nil {
		t.Fatal(err)
	}
	zeros := 0
	for _, v := range mx {
		if v != 0 && v != 2 {
			t.Fatalf("input mask value %v, want 0 or 2", v)
		}
		if v == 0 {
			zeros++
		}
	}
	if zeros == 0 || zeros == len(mx) {
		t.Errorf("input mask %v at rate 0.5", mx)
	}
	l.SetMaskKey(5, 0)
	if a, b := run(), run(); !same(a, b) {
		t.Error("two keyed training passes used different masks")
	}
	checkGuards(t, e)
}
