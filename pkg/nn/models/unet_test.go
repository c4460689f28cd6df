package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// Both builders implement the training loop's Model.
var (
	_ Model = (*UNet)(nil)
	_ Model = (*ResNet)(nil)
)

// checkModelGrads runs one forward/backward of L = Σ out·r and compares the
// analytic gradient of nParams random parameters at offsets ≥ from (and of
// the first and the last two) with central differences. It also checks that the
// MarkReady hook moved monotonically down to offset 0.
func checkModelGrads(t *testing.T, m Model, x *tensor.Tensor, train bool, nParams, from int) {
	t.Helper()
	a := m.Arena()
	in := []*tensor.Tensor{x}
	out, err := m.Forward(in, train)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(99, 1))
	r := tensor.New(out.Shape...)
	for i := range r.Data {
		r.Data[i] = float32(rng.Float64()*2 - 1)
	}
	var hooks []int
	a.SetGradHook(func(lo int) { hooks = append(hooks, lo) })
	defer a.SetGradHook(nil)
	a.ZeroGrad()
	if err := m.Backward(r); err != nil {
		t.Fatal(err)
	}
	if len(hooks) == 0 || hooks[len(hooks)-1] != 0 {
		t.Fatalf("MarkReady hook calls %v, want the last at offset 0", hooks)
	}
	for i := 1; i < len(hooks); i++ {
		if hooks[i] >= hooks[i-1] {
			t.Fatalf("MarkReady hook not monotonic at call %d: %v", i, hooks[i-1:i+1])
		}
	}
	loss := func() float64 {
		o, err := m.Forward(in, train)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, v := range o.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	idx := make([]int, 0, nParams+3)
	for i := 0; i < nParams; i++ {
		idx = append(idx, from+rng.IntN(a.Size()-from))
	}
	idx = append(idx, a.Size()-1, a.Size()-2, from)
	grad := append([]float32(nil), a.Grad...)
	eps := float32(checkEps)
	bad := 0
	for _, i := range idx {
		old := a.Data[i]
		a.Data[i] = old + eps
		lp := loss()
		a.Data[i] = old - eps
		lm := loss()
		a.Data[i] = old
		num := (lp - lm) / (2 * float64(eps))
		if g := float64(grad[i]); math.Abs(g-num) > 5e-3+5e-2*math.Max(math.Abs(g), math.Abs(num)) {
			bad++
			t.Logf("param %d: analytic %.6g, numeric %.6g", i, g, num)
		}
	}
	// A ReLU or max-pool switch inside ±eps somewhere in a deep net spoils a
	// few central differences; a wiring bug spoils most of them.
	if bad > len(idx)/10 {
		t.Errorf("%d of %d parameter gradients differ", bad, len(idx))
	}
}

// checkEps is the finite-difference step: small enough that no ReLU or
// max-pool switch happens inside it in these small nets.
var checkEps = 1e-3

func TestUNetParamCount(t *testing.T) {
	m, err := NewUNet(UNetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Arena().Size(); got != 1948609 {
		t.Errorf("U-Net params %d, want 1,948,609", got)
	}
	// Per-layer counts of BENCHMARKS.md §2.3, in registration order.
	want := []int{2624, 9248, 18496, 36928, 73856, 147584, 295168, 590080, 442496, 147584, 110656, 36928, 27680, 9248, 33}
	var got []int
	ps := m.Arena().Params()
	for i := 0; i+1 < len(ps); i += 2 {
		got = append(got, ps[i].Len()+ps[i+1].Len())
	}
	if len(got) != len(want) {
		t.Fatalf("%d conv layers, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("conv %d (%s): %d params, want %d", i, ps[2*i].Name, got[i], want[i])
		}
	}
	// BENCHMARKS.md §2.3: ≈10.7 GMAC forward per 256² patch (exactly
	// Σ K²·Cin·Cout·H·W over the table).
	if got, want := m.FLOPs(256, 256), 2*10741612544.0; got != want {
		t.Errorf("U-Net FLOPs(256²) = %g, want %g", got, want)
	}
	// he_normal: truncated at 2σ', σ' = sqrt(2/fan_in)/0.8796.
	w := ps[0].W
	sigma := math.Sqrt(2.0/81) / 0.87962566
	var ss float64
	for _, v := range w {
		if math.Abs(float64(v)) > 2*sigma+1e-6 {
			t.Fatalf("first conv weight %g beyond 2σ' = %g", v, 2*sigma)
		}
		ss += float64(v) * float64(v)
	}
	if sd := math.Sqrt(ss / float64(len(w))); math.Abs(sd-math.Sqrt(2.0/81)) > 0.1*math.Sqrt(2.0/81) {
		t.Errorf("first conv weight std %g, want ≈ %g", sd, math.Sqrt(2.0/81))
	}
	// One forward/backward of the full model on a tiny input.
	x := randNormal(nn.NewRand(1), 1, 9, 16, 16)
	out, err := m.Forward([]*tensor.Tensor{x}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Shape) != 4 || out.Shape[0] != 1 || out.Shape[1] != 1 || out.Shape[2] != 16 || out.Shape[3] != 16 {
		t.Fatalf("output shape %v", out.Shape)
	}
	m.Arena().ZeroGrad()
	if err := m.Backward(randNormal(nn.NewRand(2), out.Shape...)); err != nil {
		t.Fatal(err)
	}
	for i, g := range m.Arena().Grad {
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			t.Fatalf("grad[%d] = %g", i, g)
		}
	}
}

func TestUNetGradients(t *testing.T) {
	m, err := NewUNet(UNetConfig{InChannels: 3, Filters: 3, Levels: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	x := randNormal(nn.NewRand(3), 2, 3, 8, 12)
	for _, s := range append(append([]*nn.Sequential(nil), m.down...), m.up...) {
		smooth(s)
	}
	checkModelGrads(t, m, x, true, 40, 0)
}

func TestUNetErrors(t *testing.T) {
	if _, err := NewUNet(UNetConfig{Levels: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad config: err %v, want ErrConfig", err)
	}
	m, err := NewUNet(UNetConfig{InChannels: 2, Filters: 2, Levels: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, shape := range [][]int{{1, 3, 8, 8}, {1, 2, 6, 8}, {1, 2, 8}, {1, 2, 2, 2}} {
		if _, err := m.Forward([]*tensor.Tensor{tensor.New(shape...)}, true); !errors.Is(err, ErrInput) {
			t.Errorf("input %v: err %v, want ErrInput", shape, err)
		}
	}
	if _, err := m.Forward(nil, true); !errors.Is(err, ErrInput) {
		t.Errorf("no input: err %v, want ErrInput", err)
	}
	if err := m.Backward(tensor.New(1, 1, 8, 8)); !errors.Is(err, ErrInput) {
		t.Errorf("backward before forward: err %v, want ErrInput", err)
	}
	if _, err := m.Forward([]*tensor.Tensor{tensor.New(1, 2, 8, 8)}, true); err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(tensor.New(1, 1, 8, 4)); !errors.Is(err, ErrInput) {
		t.Errorf("bad gradient shape: err %v, want ErrInput", err)
	}
}

// stepCPUSeconds is the process's user+system CPU time: the machine is
// shared, so GFLOP per CPU-second shows the rate the code reaches when it
// has a core.
func stepCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkTrainStep runs train-bench's U-Net and ResNet steps (forward,
// loss, backward, Adam) and reports GFLOP/s by the convolution count.
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		name  string
		batch int
	}{{"unet", 8}, {"resnet50", 16}, {"resnet18", 16}} {
		b.Run(c.name, func(b *testing.B) {
			bench, err := Benches[c.name](c.batch, 1)
			if err != nil {
				b.Fatal(err)
			}
			if err := bench.Step(); err != nil { // warm-up: buffers
				b.Fatal(err)
			}
			b.ReportAllocs()
			start, cpu0 := time.Now(), stepCPUSeconds()
			for b.Loop() {
				if err := bench.Step(); err != nil {
					b.Fatal(err)
				}
			}
			total := bench.FlopsPerSample * float64(bench.Batch*b.N) / 1e9
			b.ReportMetric(total/time.Since(start).Seconds(), "GFLOP/s")
			if c := stepCPUSeconds() - cpu0; c > 0 {
				b.ReportMetric(total/c, "GFLOP/cpu-s")
			}
		})
	}
}
