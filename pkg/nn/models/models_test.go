package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/scibench/scibench/pkg/nn"

	"github.com/scibench/scibench/pkg/tensor"
)

func TestUnoParamCount(t *testing.T) {
	m, err := NewUno(UnoConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Arena().Size(); got != 16224001 {
		t.Fatalf("uno params = %d, want 16,224,001", got)
	}
	if f := m.FlopsPerSample(); math.Abs(f-97.3e6) > 0.1e6 {
		t.Errorf("uno flops/sample = %g, want ≈97.3e6", f)
	}
}

func TestEarthquakeParamCounts(t *testing.T) {
	for _, c := range []struct {
		preset string
		inputs int
		want   int
	}{
		{"small", 27, 8792}, {"small", 23, 8664}, {"pure", 27, 65560}, {"pure", 23, 65048},
	} {
		cfg, err := EarthquakePreset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Inputs = c.inputs
		m, err := NewEarthquake(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Arena().Size(); got != c.want {
			t.Errorf("%s with %d inputs: %d params, want %d", c.preset, c.inputs, got, c.want)
		}
	}
	if _, err := EarthquakePreset("huge"); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown preset: err %v, want ErrConfig", err)
	}
}

func TestBadInputs(t *testing.T) {
	u, err := NewUno(UnoConfig{CellFeatures: 5, DrugFeatures: 7, Hidden: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]*tensor.Tensor{
		nil,
		{tensor.New(2, 5)},
		{tensor.New(2, 5), tensor.New(2, 6)},
		{tensor.New(2, 5), tensor.New(3, 7)},
		{tensor.New(2, 5, 1), tensor.New(2, 7)},
	} {
		if _, err := u.Forward(in, true); !errors.Is(err, ErrInput) {
			t.Errorf("uno inputs %v: err %v, want ErrInput", in, err)
		}
	}
	e, err := NewEarthquake(EarthquakeConfig{Inputs: 3, DenseIn: 4, Units: 2, DenseOut: 3, Outputs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Backward(tensor.New(2, 2)); !errors.Is(err, ErrInput) {
		t.Errorf("backward before forward: err %v", err)
	}
	if _, err := e.Forward([]*tensor.Tensor{tensor.New(2, 4, 3)}, true); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*tensor.Tensor{tensor.New(3, 2), tensor.New(2, 3), tensor.New(2, 2, 1), nil} {
		if err := e.Backward(d); !errors.Is(err, ErrInput) {
			t.Errorf("earthquake dout %v: err %v", d, err)
		}
	}
	if _, err := u.Forward([]*tensor.Tensor{tensor.New(2, 5), tensor.New(2, 7)}, true); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*tensor.Tensor{tensor.New(3, 1), tensor.New(2, 2), nil} {
		if err := u.Backward(d); !errors.Is(err, ErrInput) {
			t.Errorf("uno dout %v: err %v", d, err)
		}
	}
	if _, err := e.Forward([]*tensor.Tensor{tensor.New(2, 0, 3)}, true); !errors.Is(err, ErrInput) {
		t.Errorf("T=0: err %v", err)
	}
	if _, err := NewUno(UnoConfig{Dropout: 1}); !errors.Is(err, ErrConfig) {
		t.Errorf("dropout 1: err %v", err)
	}
}

// modelGradCheck compares the arena gradient of L = Σ y·r with central
// differences for a sample of parameters (dropout must be off).
func modelGradCheck(t *testing.T, m Model, in []*tensor.Tensor, rng *rand.Rand) {
	t.Helper()
	y, err := m.Forward(in, false)
	if err != nil {
		t.Fatal(err)
	}
	r := tensor.New(y.Shape...)
	for i := range r.Data {
		r.Data[i] = float32(rng.NormFloat64())
	}
	a := m.Arena()
	a.ZeroGrad()
	if err := m.Backward(r); err != nil {
		t.Fatal(err)
	}
	grad := append([]float32(nil), a.Grad...)
	loss := func() float64 {
		out, err := m.Forward(in, false)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, v := range out.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	const eps = 1e-3
	bad := 0
	idx := rng.Perm(len(a.Data))
	for _, i := range idx[:min(300, len(idx))] {
		old := a.Data[i]
		a.Data[i] = old + eps
		lp := loss()
		a.Data[i] = old - eps
		lm := loss()
		a.Data[i] = old
		num := (lp - lm) / (2 * eps)
		if math.Abs(float64(grad[i])-num) > 3e-3+3e-2*math.Abs(num) {
			bad++
			if bad < 5 {
				t.Errorf("param %d: analytic %g, numeric %g", i, grad[i], num)
			}
		}
	}
	if bad > 3 { // a few SELU/ReLU kinks may be straddled
		t.Errorf("%d of %d sampled gradients differ", bad, min(300, len(idx)))
	}
}

func randIn(rng *rand.Rand, shape ...int) *tensor.Tensor {
	return randNormal(rng, shape...)
}

func TestUnoGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := NewUno(UnoConfig{CellFeatures: 5, DrugFeatures: 7, Hidden: 6, TowerLayers: 2, HeadLayers: 2, Dropout: -1})
	if err != nil {
		t.Fatal(err)
	}
	// 2 towers × (in·6+6 + 6·6+6) + (12·6+6 + 6·6+6) + 7
	if want := (5*6 + 6 + 42) + (7*6 + 6 + 42) + (12*6 + 6 + 42) + 7; m.Arena().Size() != want {
		t.Fatalf("params %d, want %d", m.Arena().Size(), want)
	}
	modelGradCheck(t, m, []*tensor.Tensor{randIn(rng, 3, 5), randIn(rng, 3, 7)}, rng)
}

func TestEarthquakeGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, err := NewEarthquake(EarthquakeConfig{Inputs: 3, DenseIn: 4, Units: 3, DenseOut: 5, Outputs: 2, Dropout: -1, RecurrentDropout: -1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	modelGradCheck(t, m, []*tensor.Tensor{randIn(rng, 2, 4, 3)}, rng)
}

func TestUnoPermanentDropout(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m, err := NewUno(UnoConfig{CellFeatures: 5, DrugFeatures: 7, Hidden: 16, TowerLayers: 1, HeadLayers: 1})
	if err != nil {
		t.Fatal(err)
	}
	in := []*tensor.Tensor{randIn(rng, 4, 5), randIn(rng, 4, 7)}
	y1, _ := m.Forward(in, false)
	a := append([]float32(nil), y1.Data...)
	y2, _ := m.Forward(in, false)
	same := true
	for i := range a {
		same = same && a[i] == y2.Data[i]
	}
	if same {
		t.Error("uno inference is deterministic: dropout is not permanent")
	}
}

// TestModelStepsDoNotAllocate runs small models' training steps (forward,
// loss, backward) and asserts zero allocations in steady state.
func TestModelStepsDoNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	uno, err := NewUno(UnoConfig{CellFeatures: 9, DrugFeatures: 11, Hidden: 8})
	if err != nil {
		t.Fatal(err)
	}
	eq, err := NewEarthquake(EarthquakeConfig{Inputs: 5, DenseIn: 8, Units: 4, DenseOut: 6, Outputs: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		m    Model
		in   []*tensor.Tensor
		y    *tensor.Tensor
	}{
		{"uno", uno, []*tensor.Tensor{randIn(rng, 4, 9), randIn(rng, 4, 11)}, randIn(rng, 4, 1)},
		{"earthquake", eq, []*tensor.Tensor{randIn(rng, 4, 6, 5)}, randIn(rng, 4, 3)},
	} {
		loss := &nn.MSE{}
		var grad tensor.Tensor
		step := func() {
			c.m.Arena().ZeroGrad()
			out, err := c.m.Forward(c.in, true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := loss.Loss(&grad, out, c.y); err != nil {
				t.Fatal(err)
			}
			if err := c.m.Backward(&grad); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if n := testing.AllocsPerRun(10, step); n != 0 {
			t.Errorf("%s: %v allocations per step", c.name, n)
		}
	}
}

func TestBenchesRun(t *testing.T) {
	for _, name := range []string{"lstm-small", "lstm"} {
		b, err := Benches[name](8, 1)
		if err != nil {
			t.Fatal(err)
		}
		if b.Model != name || b.Batch != 8 || b.Params != map[string]int{"lstm": 65048, "lstm-small": 8664}[name] || b.FlopsPerSample <= 0 {
			t.Errorf("%s: bench %+v", name, b)
		}
		for i := 0; i < 2; i++ {
			if err := b.Step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := Benches["uno"](0, 1); !errors.Is(err, ErrConfig) {
		t.Errorf("batch 0: err %v", err)
	}
}

// BenchmarkBenches times one train-bench step per model at its default
// batch (go test -tags openblas -bench Benches -cpuprofile cpu.out).
func BenchmarkBenches(b *testing.B) {
	for _, c := range []struct {
		name  string
		batch int
	}{{"uno", 64}, {"lstm", 256}, {"lstm-small", 256}} {
		b.Run(c.name, func(b *testing.B) {
			bench, err := Benches[c.name](c.batch, 1)
			if err != nil {
				b.Fatal(err)
			}
			if err := bench.Step(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			for b.Loop() {
				if err := bench.Step(); err != nil {
					b.Fatal(err)
				}
			}
			samples := float64(bench.Batch) * float64(b.N)
			b.ReportMetric(samples/b.Elapsed().Seconds(), "samples/s")
			// Per CPU-second of this process: what an idle core would give,
			// on a machine shared with other jobs.
			b.ReportMetric(samples/(cpuSeconds()-cpu0), "samples/cpu-s")
			b.ReportMetric(samples*bench.FlopsPerSample/(cpuSeconds()-cpu0)/1e9, "GFLOP/cpu-s")
		})
	}
}

// cpuSeconds is the user+system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// TestGradHookReachesZero checks that a backward pass reports every
// gradient final, in decreasing arena offsets (the all-reduce overlap
// relies on it).
func TestGradHookReachesZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	uno, err := NewUno(UnoConfig{CellFeatures: 5, DrugFeatures: 7, Hidden: 4})
	if err != nil {
		t.Fatal(err)
	}
	eq, err := NewEarthquake(EarthquakeConfig{Inputs: 3, DenseIn: 4, Units: 2, DenseOut: 3, Outputs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m    Model
		in   []*tensor.Tensor
		dout *tensor.Tensor
	}{
		{uno, []*tensor.Tensor{randIn(rng, 2, 5), randIn(rng, 2, 7)}, randIn(rng, 2, 1)},
		{eq, []*tensor.Tensor{randIn(rng, 2, 3, 3)}, randIn(rng, 2, 2)},
	} {
		var los []int
		c.m.Arena().SetGradHook(func(lo int) { los = append(los, lo) })
		c.m.Arena().ZeroGrad()
		if _, err := c.m.Forward(c.in, true); err != nil {
			t.Fatal(err)
		}
		if err := c.m.Backward(c.dout); err != nil {
			t.Fatal(err)
		}
		if len(los) == 0 || los[len(los)-1] != 0 {
			t.Fatalf("%T: hook offsets %v do not reach 0", c.m, los)
		}
		if len(los) < len(c.m.Arena().Params())/2 {
			t.Errorf("%T: only %d hook calls for %d params", c.m, len(los), len(c.m.Arena().Params()))
		}
	}
}
