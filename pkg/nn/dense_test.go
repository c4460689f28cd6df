package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/scibench/scibench/pkg/blas"
	"github.com/scibench/scibench/pkg/tensor"
)

// naiveDense is the reference y[r][o] = b[o] + Σ_i x[r][i]·W[i][o].
func naiveDense(x, w, b []float32, in, out int) []float32 {
	rows := len(x) / in
	y := make([]float32, rows*out)
	for r := 0; r < rows; r++ {
		for o := 0; o < out; o++ {
			s := float64(b[o])
			for i := 0; i < in; i++ {
				s += float64(x[r*in+i]) * float64(w[i*out+o])
			}
			y[r*out+o] = float32(s)
		}
	}
	return y
}

func closeSlices(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %g, want %g", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d differ", what, bad, len(got))
	}
}

func TestDenseForwardMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		in, out, n := 1+rng.IntN(40), 1+rng.IntN(40), 1+rng.IntN(9)
		a := NewArena()
		d := NewDense(a, "d", in, out, GlorotUniform, rng)
		a.Build()
		for i := range d.B.W {
			d.B.W[i] = float32(rng.NormFloat64())
		}
		shape := []int{n, in}
		if trial%3 == 0 {
			shape = []int{n, 1 + rng.IntN(4), in}
		}
		x := randTensor(rng, shape...)
		y := d.Forward(x, true)
		if y.Shape[len(y.Shape)-1] != out || y.Shape[0] != n {
			t.Fatalf("output shape %v for input %v", y.Shape, x.Shape)
		}
		closeSlices(t, "y", y.Data, naiveDense(x.Data, d.W.W, d.B.W, in, out), 1e-5)
	}
}

func TestDenseGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 6; trial++ {
		in, out, n := 1+rng.IntN(7), 1+rng.IntN(7), 1+rng.IntN(4)
		a := NewArena()
		d := NewDense(a, "d", in, out, GlorotUniform, rng)
		a.Build()
		shape := []int{n, in}
		if trial%2 == 1 {
			shape = []int{n, 1 + rng.IntN(3), in}
		}
		gradCheck(t, d, d.Params(), randTensor(rng, shape...), true)
	}
}

func TestDenseNoInputGradAndAccumulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := NewArena()
	d := NewDense(a, "d", 4, 3, GlorotUniform, rng)
	a.Build()
	x := randTensor(rng, 2, 4)
	dy := randTensor(rng, 2, 3)
	d.Forward(x, true)
	d.Backward(dy)
	g1 := append([]float32(nil), a.Grad...)
	d.NoInputGrad = true
	d.Forward(x, true)
	if dx := d.Backward(dy); dx != nil {
		t.Errorf("NoInputGrad: dx = %v, want nil", dx)
	}
	for i, g := range a.Grad {
		if math.Abs(float64(g-2*g1[i])) > 1e-5 {
			t.Fatalf("grad[%d] = %g after two backward passes, want 2×%g (accumulate)", i, g, g1[i])
		}
	}
}

func TestDenseMarkReady(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	a := NewArena()
	d1 := NewDense(a, "d1", 3, 4, GlorotUniform, rng)
	d2 := NewDense(a, "d2", 4, 2, GlorotUniform, rng)
	a.Build()
	var los []int
	a.SetGradHook(func(lo int) { los = append(los, lo) })
	s := NewSequential(d1, NewTanh(), d2)
	a.ZeroGrad()
	s.Forward(randTensor(rng, 2, 3), true)
	s.Backward(randTensor(rng, 2, 2))
	if len(los) == 0 || los[len(los)-1] != 0 {
		t.Fatalf("hook offsets %v, want to end at 0", los)
	}
	for i := 1; i < len(los); i++ {
		if los[i] >= los[i-1] {
			t.Fatalf("hook offsets %v not decreasing", los)
		}
	}
}

func TestSequentialGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	a := NewArena()
	d1 := NewDense(a, "d1", 6, 5, GlorotUniform, rng)
	d2 := NewDense(a, "d2", 10, 3, GlorotUniform, rng)
	a.Build()
	s := NewSequential(d1, NewTanh(), NewFlatten(), d2, NewSoftmax())
	x := randTensor(rng, 3, 2, 6)
	y := s.Forward(x, false)
	if len(y.Shape) != 2 || y.Shape[0] != 3 || y.Shape[1] != 3 {
		t.Fatalf("output shape %v, want [3 3]", y.Shape)
	}
	gradCheck(t, s, append(d1.Params(), d2.Params()...), x, false)
}

func TestFlatten(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	f := NewFlatten()
	x := randTensor(rng, 2, 3, 4, 5)
	y := f.Forward(x, true)
	if len(y.Shape) != 2 || y.Shape[0] != 2 || y.Shape[1] != 60 || &y.Data[0] != &x.Data[0] {
		t.Fatalf("flatten shape %v (or copied data)", y.Shape)
	}
	dx := f.Backward(randTensor(rng, 2, 60))
	if len(dx.Shape) != 4 || dx.Shape[3] != 5 {
		t.Fatalf("dx shape %v", dx.Shape)
	}
	gradCheck(t, f, nil, x, true)
}

// TestLayersDoNotAllocate checks steady-state Forward+Backward.
func TestLayersDoNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	a := NewArena()
	d := NewDense(a, "d", 16, 8, GlorotUniform, rng)
	l := NewLSTM(a, "l", LSTMConfig{In: 8, Units: 4, Act: SELUAct, RecAct: SigmoidAct, Dropout: 0.2, RecurrentDropout: 0.2, ReturnSequences: true}, rng)
	l2 := NewLSTM(a, "l2", LSTMConfig{In: 4, Units: 4, Act: TanhAct, RecAct: SigmoidAct}, rng)
	a.Build()
	drop := NewDropout(0.3, 1)
	s := NewSequential(d, NewSELU(), drop, l, l2, NewFlatten(), NewSoftmax(), NewReLU(), NewSigmoid(), NewTanh())
	x := randTensor(rng, 4, 5, 16)
	dy := randTensor(rng, 4, 4)
	var grad tensor.Tensor
	mse := &MSE{}
	target := randTensor(rng, 4, 4)
	step := func() {
		a.ZeroGrad()
		y := s.Forward(x, true)
		if _, err := mse.Loss(&grad, y, target); err != nil {
			t.Fatal(err)
		}
		s.Backward(dy)
	}
	step()
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Errorf("steady-state step allocates %v times", n)
	}
}

// BenchmarkDense times a uno hidden layer (64×1000 → 1000) forward and
// backward against the three bare SGEMMs it performs, so the layer's
// overhead over the BLAS shows directly (-tags openblas for OpenBLAS).
func BenchmarkDense(b *testing.B) {
	const n, in, out = 64, 1000, 1000
	flops := float64(6 * n * in * out)
	rng := rand.New(rand.NewPCG(1, 2))
	a := NewArena()
	d := NewDense(a, "d", in, out, GlorotNormal, rng)
	a.Build()
	x := randTensor(rng, n, in)
	dy := randTensor(rng, n, out)
	b.Run("layer", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuSeconds()
		for b.Loop() {
			d.Forward(x, true)
			d.Backward(dy)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		b.ReportMetric(flops*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "GFLOP/cpu-s")
	})
	b.Run("sgemm", func(b *testing.B) {
		y := make([]float32, n*out)
		dx := make([]float32, n*in)
		cpu0 := cpuSeconds()
		for b.Loop() {
			blas.Sgemm(false, false, n, out, in, 1, x.Data, in, d.W.W, out, 0, y, out)
			blas.Sgemm(true, false, in, out, n, 1, x.Data, in, dy.Data, out, 1, d.W.G, out)
			blas.Sgemm(false, true, n, in, out, 1, dy.Data, out, d.W.W, out, 0, dx, in)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		b.ReportMetric(flops*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "GFLOP/cpu-s")
	})
}

// cpuSeconds is the user+system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func TestOutputShapes(t *testing.T) {
	a := NewArena()
	d := NewDense(a, "d", 4, 3, nil, nil)
	l := NewLSTM(a, "l", DefaultLSTMConfig(3, 5), NewRand(1))
	a.Build()
	if s, err := d.OutputShape([]int{2, 7, 4}); err != nil || len(s) != 3 || s[2] != 3 {
		t.Errorf("Dense [2 7 4]: %v %v", s, err)
	}
	if _, err := d.OutputShape([]int{2, 5}); !errors.Is(err, ErrInputShape) {
		t.Errorf("Dense [2 5]: %v", err)
	}
	if s, err := l.OutputShape([]int{2, 7, 3}); err != nil || len(s) != 2 || s[1] != 5 {
		t.Errorf("LSTM last: %v %v", s, err)
	}
	l.ReturnSequences = true
	if s, err := l.OutputShape([]int{2, 7, 3}); err != nil || len(s) != 3 || s[1] != 7 {
		t.Errorf("LSTM seq: %v %v", s, err)
	}
	if _, err := l.OutputShape([]int{2, 3}); !errors.Is(err, ErrInputShape) {
		t.Errorf("LSTM rank 2: %v", err)
	}
}
