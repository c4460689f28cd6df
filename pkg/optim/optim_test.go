package optim

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func randVec(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// ref is a naive float64 implementation of every optimizer, one element and
// one formula at a time.
type ref struct {
	kind       string // "adam", "adamax", "sgd"
	lr, b1, b2 float64
	eps, wd    float64
	decoupled  bool
	mu         float64
	nesterov   bool
	t          int
	m, v       []float64
}

func (r *ref) step(w []float64, g []float32) {
	r.t++
	t := float64(r.t)
	for i := range w {
		gi := float64(g[i])
		switch r.kind {
		case "adam", "adamax":
			if r.decoupled {
				w[i] *= 1 - r.lr*r.wd
			} else {
				gi += r.wd * w[i]
			}
			r.m[i] = r.b1*r.m[i] + (1-r.b1)*gi
			if r.kind == "adam" {
				r.v[i] = r.b2*r.v[i] + (1-r.b2)*gi*gi
				lrt := r.lr * math.Sqrt(1-math.Pow(r.b2, t)) / (1 - math.Pow(r.b1, t))
				w[i] -= lrt * r.m[i] / (math.Sqrt(r.v[i]) + r.eps)
			} else {
				r.v[i] = math.Max(r.b2*r.v[i], math.Abs(gi))
				w[i] -= r.lr / (1 - math.Pow(r.b1, t)) * r.m[i] / (r.v[i] + r.eps)
			}
		case "sgd":
			gi += r.wd * w[i]
			r.v[i] = r.mu*r.v[i] - r.lr*gi
			if r.nesterov {
				w[i] += r.mu*r.v[i] - r.lr*gi
			} else {
				w[i] += r.v[i]
			}
		}
	}
}

type optCase struct {
	name string
	opt  func(n int) Optimizer
	ref  func(n int) *ref
}

func cases() []optCase {
	adam := func(kind string, wd float64, dec bool) func(n int) *ref {
		return func(n int) *ref {
			return &ref{kind: kind, lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-7, wd: wd, decoupled: dec, m: make([]float64, n), v: make([]float64, n)}
		}
	}
	sgd := func(mu, wd float64, nest bool) func(n int) *ref {
		return func(n int) *ref {
			return &ref{kind: "sgd", lr: 0.05, mu: mu, wd: wd, nesterov: nest, m: make([]float64, n), v: make([]float64, n)}
		}
	}
	return []optCase{
		{"Adam", func(n int) Optimizer { return NewAdam(n, AdamConfig{LR: 0.01}) }, adam("adam", 0, false)},
		{"Adam_L2", func(n int) Optimizer { return NewAdam(n, AdamConfig{LR: 0.01, WeightDecay: 0.1}) }, adam("adam", 0.1, false)},
		{"AdamW", func(n int) Optimizer { return NewAdam(n, AdamConfig{LR: 0.01, WeightDecay: 0.5, Decoupled: true}) }, adam("adam", 0.5, true)},
		{"Adamax", func(n int) Optimizer { return NewAdamax(n, AdamConfig{LR: 0.01}) }, adam("adamax", 0, false)},
		{"Adamax_L2", func(n int) Optimizer { return NewAdamax(n, AdamConfig{LR: 0.01, WeightDecay: 0.1}) }, adam("adamax", 0.1, false)},
		{"Adamax_W", func(n int) Optimizer {
			return NewAdamax(n, AdamConfig{LR: 0.01, WeightDecay: 0.5, Decoupled: true})
		}, adam("adamax", 0.5, true)},
		{"SGD", func(n int) Optimizer { return NewSGD(n, SGDConfig{LR: 0.05}) }, sgd(0, 0, false)},
		{"SGD_momentum_wd", func(n int) Optimizer { return NewSGD(n, SGDConfig{LR: 0.05, Momentum: 0.9, WeightDecay: 0.01}) }, sgd(0.9, 0.01, false)},
		{"SGD_nesterov", func(n int) Optimizer { return NewSGD(n, SGDConfig{LR: 0.05, Momentum: 0.8, Nesterov: true}) }, sgd(0.8, 0, true)},
	}
}

func TestOptimizersVsReference(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			const n = 257
			o, r := c.opt(n), c.ref(n)
			w := randVec(rng, n)
			w64 := make([]float64, n)
			for i := range w {
				w64[i] = float64(w[i])
			}
			for step := range 12 {
				if step == 6 { // a schedule changes the rate mid-run
					o.SetLR(o.LR() / 2)
					r.lr /= 2
				}
				g := randVec(rng, n)
				o.Step(w, g)
				r.step(w64, g)
				for i := range w {
					if d := math.Abs(float64(w[i]) - w64[i]); d > 2e-6+1e-5*math.Abs(w64[i]) {
						t.Fatalf("step %d element %d: %v, reference %v (diff %g)", step, i, w[i], w64[i], d)
					}
				}
			}
		})
	}
}

func TestNames(t *testing.T) {
	want := map[string]Optimizer{
		"Adam":   NewAdam(1, AdamConfig{}),
		"AdamW":  NewAdam(1, AdamConfig{Decoupled: true}),
		"Adamax": NewAdamax(1, AdamConfig{}),
		"SGD":    NewSGD(1, SGDConfig{}),
	}
	for name, o := range want {
		if o.Name() != name {
			t.Errorf("Name() = %q, want %q", o.Name(), name)
		}
	}
	if lr := NewAdam(1, AdamConfig{}).LR(); lr != 0.001 {
		t.Errorf("default Adam LR %v", lr)
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	for _, c := range cases() {
		rng := rand.New(rand.NewPCG(1, 2))
		o := c.opt(1000)
		w, g := randVec(rng, 1000), randVec(rng, 1000)
		if a := testing.AllocsPerRun(20, func() { o.Step(w, g) }); a != 0 {
			t.Errorf("%s: Step allocates %v times", c.name, a)
		}
	}
}

func TestStepPanicsOnWrongLength(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "len(w)=3") {
			t.Fatalf("panic %v, want one naming len(w)=3", r)
		}
	}()
	NewAdam(4, AdamConfig{}).Step(make([]float32, 3), make([]float32, 4))
}

func TestSaveLoadContinuesBitwise(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			const n = 40000 // spans several I/O chunks
			a := c.opt(n)
			w := randVec(rng, n)
			grads := make([][]float32, 10)
			for i := range grads {
				grads[i] = randVec(rng, n)
			}
			for _, g := range grads[:5] {
				a.Step(w, g)
			}
			a.SetLR(a.LR() * 0.7)
			var buf bytes.Buffer
			if err := a.SaveState(&buf); err != nil {
				t.Fatal(err)
			}
			saved := buf.Bytes()
			w2 := append([]float32(nil), w...)
			b := c.opt(n)
			if err := b.LoadState(bytes.NewReader(saved)); err != nil {
				t.Fatal(err)
			}
			if b.LR() != a.LR() {
				t.Fatalf("LR after load %v, want %v", b.LR(), a.LR())
			}
			for _, g := range grads[5:] {
				a.Step(w, g)
				b.Step(w2, g)
			}
			for i := range w {
				if math.Float32bits(w[i]) != math.Float32bits(w2[i]) {
					t.Fatalf("element %d: %v after resume, %v uninterrupted", i, w2[i], w[i])
				}
			}
			// Wrong size, truncated data and a foreign optimizer are rejected.
			if err := c.opt(n + 1).LoadState(bytes.NewReader(saved)); !errors.Is(err, ErrState) {
				t.Errorf("size mismatch: %v", err)
			}
			if err := c.opt(n).LoadState(bytes.NewReader(saved[:len(saved)-3])); !errors.Is(err, ErrState) {
				t.Errorf("truncated: %v", err)
			}
			if err := c.opt(n).LoadState(bytes.NewReader([]byte("garbage!garbage!"))); !errors.Is(err, ErrState) {
				t.Errorf("garbage: %v", err)
			}
		})
	}
	var buf bytes.Buffer
	if err := NewAdam(3, AdamConfig{}).SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	if err := NewAdamax(3, AdamConfig{}).LoadState(&buf); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), `"Adam"`) {
		t.Errorf("Adam state into Adamax: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (AdamConfig{}).Validate(); err != nil {
		t.Errorf("zero AdamConfig: %v", err)
	}
	for _, c := range []AdamConfig{{LR: -1}, {Beta1: 1}, {Beta2: 1.5}, {Eps: -1}, {WeightDecay: -0.1}, {LR: math.NaN()}} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", c, err)
		}
	}
	if err := (SGDConfig{Momentum: 1}).Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("SGD momentum 1: %v", err)
	}
	if err := (PlateauConfig{Factor: 2}).Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("Plateau factor 2: %v", err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestScheduleTables(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		want []float64
	}{
		{"constant", Constant(0.1), []float64{0.1, 0.1, 0.1}},
		{"step", StepDecay{Initial: 1, Factor: 0.5, Every: 2}, []float64{1, 1, 0.5, 0.5, 0.25}},
		{"linear_up", Linear{Start: 0, End: 1, Epochs: 4}, []float64{0, 0.25, 0.5, 0.75, 1, 1}},
		{"warmup", WarmUp{From: 0.1, Epochs: 2, Then: StepDecay{Initial: 1, Factor: 0.1, Every: 3}},
			[]float64{0.1, 0.55, 1, 0.1, 0.1, 0.1, 0.01}},
		// candle-uno: (0.001(5−e) + 0.0001e)/5 for e ≤ 5.
		{"candle_uno", CandleUno(0.0001, NewPlateau(PlateauConfig{LR: 0.0001})),
			[]float64{0.001, 0.00082, 0.00064, 0.00046, 0.00028, 0.0001, 0.0001}},
	}
	for _, tc := range tests {
		for e, want := range tc.want {
			if got := tc.s.LR(e); !near(got, want) {
				t.Errorf("%s: epoch %d lr %v, want %v", tc.name, e, got, want)
			}
		}
	}
}

func TestPlateauTable(t *testing.T) {
	p := NewPlateau(PlateauConfig{LR: 1, Factor: 0.5, Patience: 2, MinDelta: 0.01, MinLR: 0.3, StopPatience: 4})
	steps := []struct {
		loss float64
		lr   float64
		stop bool
	}{
		{1.0, 1, false},
		{0.995, 1, false}, // not 0.01 better: plateau waits; early stopping counts it
		{0.98, 1, false},
		{0.99, 1, false},
		{0.985, 0.5, false}, // second epoch without improvement: halve
		{0.975, 0.5, false},
		{math.NaN(), 0.3, false}, // clamped at MinLR
		{1, 0.3, false},
		{1, 0.3, false},
		{1, 0.3, true}, // four epochs since the best (0.975)
	}
	for e, s := range steps {
		lr, stop := p.Observe(s.loss)
		if !near(lr, s.lr) || stop != s.stop {
			t.Fatalf("epoch %d loss %v: lr %v stop %v, want %v %v", e, s.loss, lr, stop, s.lr, s.stop)
		}
	}
	// Cool-down: after a reduction, two epochs pass before counting again.
	p = NewPlateau(PlateauConfig{LR: 1, Factor: 0.5, Patience: 1, Cooldown: 2})
	for e, want := range []float64{1, 0.5, 0.5, 0.25, 0.25, 0.125} {
		if lr, stop := p.Observe(1); lr != want || stop {
			t.Fatalf("cooldown epoch %d: lr %v stop %v, want %v", e, lr, stop, want)
		}
	}
}

// TestCandleUnoWithPlateau runs the uno schedule as the training loop does:
// LR at the start of each epoch, Observe at the end, with a flat loss.
func TestCandleUnoWithPlateau(t *testing.T) {
	p := NewPlateau(PlateauConfig{LR: 0.0001, Factor: 0.5, Patience: 5, MinLR: 1e-5, MinDelta: 1e-4, StopPatience: 10})
	s := CandleUno(0.0001, p)
	want := []float64{0.001, 0.00082, 0.00064, 0.00046, 0.00028, 0.0001, 5e-5, 5e-5, 5e-5, 5e-5, 5e-5}
	for e, w := range want {
		if got := s.LR(e); !near(got, w) {
			t.Fatalf("epoch %d: lr %v, want %v", e, got, w)
		}
		_, stop := p.Observe(1)
		if stop != (e == 10) {
			t.Fatalf("epoch %d: stop %v", e, stop)
		}
	}
	if got := s.LR(11); !near(got, 2.5e-5) {
		t.Fatalf("epoch 11: lr %v, want 2.5e-5", got)
	}
}

// BenchmarkAdamStep and BenchmarkAdamaxStep update the 16,224,001
// parameters of the candle-uno model once per iteration.
func BenchmarkAdamStep(b *testing.B) {
	benchStep(b, NewAdam(unoParams, AdamConfig{}))
}

func BenchmarkAdamaxStep(b *testing.B) {
	benchStep(b, NewAdamax(unoParams, AdamConfig{}))
}

func BenchmarkAdamWStep(b *testing.B) {
	benchStep(b, NewAdam(unoParams, AdamConfig{WeightDecay: 5e-5, Decoupled: true}))
}

const unoParams = 16_224_001

// benchStep times o.Step, with the SIMD loops (where the CPU has them) and
// with the Go loops, side by side in one run.
func benchStep(b *testing.B, o Optimizer) {
	rng := rand.New(rand.NewPCG(1, 1))
	w, g := randVec(rng, unoParams), randVec(rng, unoParams)
	for _, simd := range []bool{true, false} {
		b.Run(map[bool]string{true: "simd", false: "go"}[simd], func(b *testing.B) {
			if simd && !useSIMD {
				b.Skip("no AVX2 on this CPU (or not amd64)")
			}
			defer func(old bool) { useSIMD = old }(useSIMD)
			useSIMD = simd
			b.ReportAllocs()
			b.SetBytes(int64(unoParams) * 4 * 7) // reads w, g, m, v; writes w, m, v
			for b.Loop() {
				o.Step(w, g)
			}
		})
	}
}
