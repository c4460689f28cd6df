package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/tensor"
)

// naiveLSTM is a direct float64 transcription of the Keras equations with
// optional fixed masks (nil: none). It returns h for every step [N, T, H].
func naiveLSTM(l *LSTM, x *tensor.Tensor, mx, mh []float32) []float64 {
	return naiveLSTM64(l, to64(l.W.W), to64(l.U.W), to64(l.B.W), to64(x.Data), x.Shape[0], x.Shape[1], mx, mh)
}

func to64(v []float32) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}

// act64 is the activation in float64.
func act64(a Activation, v float64) float64 {
	switch a {
	case ReLUAct:
		return math.Max(v, 0)
	case SELUAct:
		if v > 0 {
			return seluScale * v
		}
		return seluScale * seluAlpha * math.Expm1(v)
	case SigmoidAct:
		return 1 / (1 + math.Exp(-v))
	case TanhAct:
		return math.Tanh(v)
	}
	return v
}

// naiveLSTM64 runs the reference on float64 parameters and input.
func naiveLSTM64(l *LSTM, W, U, B, xd []float64, n, T int, mx, mh []float32) []float64 {
	F, H := l.In, l.Units
	act := act64
	out := make([]float64, n*T*H)
	for s := 0; s < n; s++ {
		h := make([]float64, H)
		c := make([]float64, H)
		for t := 0; t < T; t++ {
			z := make([]float64, 4*H)
			for g := 0; g < 4*H; g++ {
				v := B[g]
				for i := 0; i < F; i++ {
					xi := xd[(s*T+t)*F+i]
					if mx != nil {
						xi *= float64(mx[s*F+i])
					}
					v += xi * W[i*4*H+g]
				}
				for j := 0; j < H; j++ {
					hj := h[j]
					if mh != nil {
						hj *= float64(mh[s*H+j])
					}
					v += hj * U[j*4*H+g]
				}
				z[g] = v
			}
			for j := 0; j < H; j++ {
				i := act(l.RecAct, z[j])
				f := act(l.RecAct, z[H+j])
				g := act(l.Act, z[2*H+j])
				o := act(l.RecAct, z[3*H+j])
				c[j] = f*c[j] + i*g
				h[j] = o * act(l.Act, c[j])
				out[(s*T+t)*H+j] = h[j]
			}
		}
	}
	return out
}

func TestLSTMInit(t *testing.T) {
	a := NewArena()
	l := NewLSTM(a, "l", DefaultLSTMConfig(5, 3), NewRand(1))
	a.Build()
	for j, v := range l.B.W {
		want := float32(0)
		if j >= 3 && j < 6 {
			want = 1
		}
		if v != want {
			t.Errorf("bias[%d] = %g, want %g (unit_forget_bias, gates i f c o)", j, v, want)
		}
	}
	if got := a.Size(); got != 4*3*(5+3+1) {
		t.Errorf("params %d, want %d", got, 4*3*9)
	}
	lim := math.Sqrt(6.0 / (5 + 12))
	for _, v := range l.W.W {
		if math.Abs(float64(v)) > lim {
			t.Fatalf("kernel value %g beyond glorot_uniform limit %g", v, lim)
		}
	}
}

func TestLSTMForwardMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 8; trial++ {
		cfg := DefaultLSTMConfig(1+rng.IntN(6), 1+rng.IntN(5))
		if trial%2 == 1 {
			cfg.Act = SELUAct
		}
		cfg.ReturnSequences = trial%4 < 2
		if trial >= 4 {
			cfg.Dropout, cfg.RecurrentDropout = 0.3, 0.2
		}
		a := NewArena()
		l := NewLSTM(a, "l", cfg, rng)
		a.Build()
		for i := range l.B.W {
			l.B.W[i] += float32(rng.NormFloat64() * 0.1)
		}
		n, T := 1+rng.IntN(4), 1+rng.IntN(6)
		x := randTensor(rng, n, T, cfg.In)
		y := l.Forward(x, true)
		var mx, mh []float32
		if l.dropX {
			mx = l.mx
		}
		if l.dropH {
			mh = l.mh
		}
		ref := naiveLSTM(l, x, mx, mh)
		H := cfg.Units
		want := make([]float32, 0, len(ref))
		if cfg.ReturnSequences {
			for _, v := range ref {
				want = append(want, float32(v))
			}
		} else {
			for s := 0; s < n; s++ {
				for j := 0; j < H; j++ {
					want = append(want, float32(ref[(s*T+T-1)*H+j]))
				}
			}
		}
		closeSlices(t, "lstm h", y.Data, want, 2e-5)
	}
}

func TestLSTMGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		name      string
		act       Activation
		seq, drop bool
	}{
		{"tanh-last", TanhAct, false, false},
		{"tanh-seq", TanhAct, true, false},
		{"tanh-seq-dropout", TanhAct, true, true},
		{"tanh-last-dropout", TanhAct, false, true},
		// SELU's derivative jumps at 0, which the float32 check with step
		// 1e-2 straddles; TestLSTMGradFloat64Reference covers SELU.
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultLSTMConfig(2+rng.IntN(3), 2+rng.IntN(3))
			cfg.Act, cfg.ReturnSequences = c.act, c.seq
			if c.drop {
				cfg.Dropout, cfg.RecurrentDropout = 0.25, 0.25
			}
			a := NewArena()
			l := NewLSTM(a, "l", cfg, rng)
			a.Build()
			x := randTensor(rng, 2, 3+rng.IntN(3), cfg.In)
			l.Forward(x, true)
			l.frozen = true
			gradCheck(t, l, l.Params(), x, true)
		})
	}
}

func TestLSTMDropoutMasksFixedAcrossTime(t *testing.T) {
	a := NewArena()
	cfg := DefaultLSTMConfig(6, 3)
	cfg.Dropout, cfg.RecurrentDropout, cfg.Seed = 0.5, 0.5, 9
	l := NewLSTM(a, "l", cfg, NewRand(1))
	a.Build()
	x := tensor.New(4, 5, 6)
	for i := range x.Data {
		x.Data[i] = 1
	}
	l.Forward(x, true)
	for s := 0; s < 4; s++ {
		for t2 := 1; t2 < 5; t2++ {
			for j := 0; j < 6; j++ {
				if l.xd.Data[(s*5+t2)*6+j] != l.xd.Data[(s*5)*6+j] {
					t.Fatalf("input mask differs between steps 0 and %d", t2)
				}
			}
		}
	}
	zeros := 0
	for _, m := range l.mx {
		if m == 0 {
			zeros++
		} else if m != 2 {
			t.Fatalf("mask value %g, want 0 or 2", m)
		}
	}
	if zeros == 0 || zeros == len(l.mx) {
		t.Errorf("mask with %d zeros of %d", zeros, len(l.mx))
	}
	// Inference: no dropout, equals a dropout-free layer.
	y := append([]float32(nil), l.Forward(x, false).Data...)
	ref := naiveLSTM(l, x, nil, nil)
	for s := 0; s < 4; s++ {
		for j := 0; j < 3; j++ {
			if math.Abs(float64(y[s*3+j])-ref[(s*5+4)*3+j]) > 1e-5 {
				t.Fatalf("inference output differs from the mask-free reference")
			}
		}
	}
}

// TestLSTMGradFloat64Reference checks the analytic gradients (SELU, with
// dropout masks, both output modes) against central differences of the
// float64 reference with a step small enough to stay clear of SELU's kink.
func TestLSTMGradFloat64Reference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 6; trial++ {
		cfg := DefaultLSTMConfig(2+rng.IntN(3), 2+rng.IntN(3))
		cfg.Act = SELUAct
		if trial%3 == 2 {
			cfg.Act = TanhAct
		}
		cfg.ReturnSequences = trial%2 == 0
		if trial%3 == 1 {
			cfg.Act = SELUAct
		}
		cfg.Dropout, cfg.RecurrentDropout = 0.25, 0.25
		a := NewArena()
		l := NewLSTM(a, "l", cfg, rng)
		a.Build()
		n, T := 2, 2+rng.IntN(4)
		x := randTensor(rng, n, T, cfg.In)
		y := l.Forward(x, true)
		r := randTensor(rng, y.Shape...)
		a.ZeroGrad()
		dx := l.Backward(r)
		H := cfg.Units
		W, U, B, X := to64(l.W.W), to64(l.U.W), to64(l.B.W), to64(x.Data)
		loss := func() float64 {
			h := naiveLSTM64(l, W, U, B, X, n, T, l.mx, l.mh)
			var s float64
			for i, rv := range r.Data {
				idx := i
				if !cfg.ReturnSequences {
					idx = ((i/H)*T+T-1)*H + i%H
				}
				s += float64(rv) * h[idx]
			}
			return s
		}
		for _, c := range []struct {
			name string
			v    []float64
			g    []float32
		}{{"W", W, l.W.G}, {"U", U, l.U.G}, {"b", B, l.B.G}, {"x", X, dx.Data}} {
			for i := range c.v {
				const eps = 1e-6
				old := c.v[i]
				c.v[i] = old + eps
				lp := loss()
				c.v[i] = old - eps
				lm := loss()
				c.v[i] = old
				num := (lp - lm) / (2 * eps)
				if math.Abs(float64(c.g[i])-num) > 1e-4+1e-3*math.Abs(num) {
					t.Errorf("trial %d %v seq=%v: d%s[%d] analytic %g, numeric %g", trial, cfg.Act, cfg.ReturnSequences, c.name, i, c.g[i], num)
				}
			}
		}
	}
}

// TestLSTMSpecialisedBackwardBitwise runs Backward with the written-out
// tanh/sigmoid gate loop and with the generic one on the same random
// layer, inputs and dropout masks, and requires bitwise equal parameter
// gradients and dx.
func TestLSTMSpecialisedBackwardBitwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for trial := range 12 {
		cfg := DefaultLSTMConfig(1+rng.IntN(7), 1+rng.IntN(26)) // units ≥ 8 run the vector gate kernel
		cfg.ReturnSequences = trial%2 == 0
		if trial%3 == 1 {
			cfg.Act = SELUAct
		}
		if trial >= 2 {
			cfg.Dropout, cfg.RecurrentDropout = 0.3, 0.2
		}
		n, T := 1+rng.IntN(5), 1+rng.IntN(7)
		x := randTensor(rng, n, T, cfg.In)
		seed := rng.Uint64()
		run := func(special bool) ([]float32, []float32) {
			defer func(old bool) { lstmSpecialised = old }(lstmSpecialised)
			lstmSpecialised = special
			a := NewArena()
			l := NewLSTM(a, "l", cfg, rand.New(rand.NewPCG(seed, 1)))
			a.Build()
			y := l.Forward(x, true)
			dy := randTensor(rand.New(rand.NewPCG(seed, 2)), y.Shape...)
			dx := l.Backward(dy)
			return append([]float32(nil), a.Grad...), append([]float32(nil), dx.Data...)
		}
		g1, dx1 := run(true)
		g0, dx0 := run(false)
		for i := range g0 {
			if math.Float32bits(g1[i]) != math.Float32bits(g0[i]) {
				t.Fatalf("trial %d: grad %d: specialised %v, generic %v", trial, i, g1[i], g0[i])
			}
		}
		for i := range dx0 {
			if math.Float32bits(dx1[i]) != math.Float32bits(dx0[i]) {
				t.Fatalf("trial %d: dx %d: specialised %v, generic %v", trial, i, dx1[i], dx0[i])
			}
		}
	}
}
