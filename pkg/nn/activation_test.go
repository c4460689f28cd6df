package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// awayFromZero moves values off the kinks at 0 so central differences
// with eps 1e-2 stay on one side.
func awayFromZero(x []float32) {
	for i, v := range x {
		if v >= 0 && v < 0.05 {
			x[i] = v + 0.05
		} else if v < 0 && v > -0.05 {
			x[i] = v - 0.05
		}
	}
}

func TestActivationValues(t *testing.T) {
	ref := map[Activation]func(float64) float64{
		Linear:  func(v float64) float64 { return v },
		ReLUAct: func(v float64) float64 { return math.Max(v, 0) },
		SELUAct: func(v float64) float64 {
			return map[bool]float64{true: 1.0507009873554805 * v, false: 1.0507009873554805 * 1.6732632423543772 * (math.Exp(v) - 1)}[v > 0]
		},
		SigmoidAct: func(v float64) float64 { return 1 / (1 + math.Exp(-v)) },
		TanhAct:    math.Tanh,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for act, f := range ref {
		x := randTensor(rng, 3, 17)
		for i := range x.Data {
			x.Data[i] *= 6
		}
		y := NewAct(act).Forward(x, true)
		want := make([]float32, len(x.Data))
		for i, v := range x.Data {
			want[i] = float32(f(float64(v)))
			if s := act.scalar(v); math.Abs(float64(s-want[i])) > 1e-6*(1+math.Abs(float64(want[i]))) {
				t.Errorf("%v scalar(%g) = %g, want %g", act, v, s, want[i])
			}
		}
		closeSlices(t, act.String(), y.Data, want, 1e-6)
	}
}

func TestActivationGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, act := range []Activation{Linear, ReLUAct, SELUAct, SigmoidAct, TanhAct} {
		x := randTensor(rng, 1+rng.IntN(4), 1+rng.IntN(6), 2)
		for i := range x.Data {
			x.Data[i] *= 2
		}
		awayFromZero(x.Data)
		t.Run(act.String(), func(t *testing.T) { gradCheck(t, NewAct(act), nil, x, true) })
	}
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := randTensor(rng, 4, 7)
	x.Data[0] = 80 // large logits must not overflow
	y := NewSoftmax().Forward(x, true)
	for r := 0; r < 4; r++ {
		var s, m float64
		for _, v := range x.Data[r*7 : r*7+7] {
			m = math.Max(m, float64(v))
		}
		for _, v := range x.Data[r*7 : r*7+7] {
			s += math.Exp(float64(v) - m)
		}
		for j := 0; j < 7; j++ {
			want := math.Exp(float64(x.Data[r*7+j])-m) / s
			if math.Abs(float64(y.Data[r*7+j])-want) > 1e-6 {
				t.Errorf("softmax[%d][%d] = %g, want %g", r, j, y.Data[r*7+j], want)
			}
		}
	}
	for trial := 0; trial < 4; trial++ {
		gradCheck(t, NewSoftmax(), nil, randTensor(rng, 1+rng.IntN(3), 1+rng.IntN(3), 1+rng.IntN(6)), true)
	}
}

func TestExp32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	worst := 0.0
	for i := 0; i < 200000; i++ {
		x := float32((rng.Float64()*2 - 1) * 100)
		if i%2 == 0 {
			x /= 50
		}
		want := math.Exp(float64(x))
		got := float64(exp32(x))
		if want < 1.2e-38 || want > math.MaxFloat32 { // outside normal float32
			continue
		}
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
		wm := math.Expm1(float64(x))
		if gm := float64(expm1_32(x)); math.Abs(wm) < math.MaxFloat32 && math.Abs(gm-wm) > 4e-7*math.Abs(wm) {
			t.Fatalf("expm1_32(%g) = %g, want %g", x, gm, wm)
		}
	}
	if worst > 2.5e-7 {
		t.Errorf("exp32 worst relative error %g, want ≤ 2 ulp", worst)
	}
	for i := 0; i < 100000; i++ {
		x := float32((rng.Float64()*2 - 1) * 12)
		if i%2 == 0 {
			x /= 100
		}
		if got, want := float64(tanh32(x)), math.Tanh(float64(x)); math.Abs(got-want) > 4e-7*math.Abs(want) {
			t.Fatalf("tanh32(%g) = %g, want %g", x, got, want)
		}
	}
	for _, x := range []float32{0, -87.5, 88.5, -200, 200, float32(math.Inf(-1))} {
		if got, want := exp32(x), float32(math.Exp(float64(x))); got != want {
			t.Errorf("exp32(%g) = %g, want %g", x, got, want)
		}
	}
	if v := exp32(float32(math.NaN())); v == v {
		t.Error("exp32(NaN) is not NaN")
	}
}

// TestReLUSpecialValues pins the branch-free ReLU on the values a branchy
// one would treat differently: signed zeros, infinities, NaN, subnormals.
func TestReLUSpecialValues(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	cases := []struct {
		x, y     float32 // forward
		dyPasses bool    // backward lets dy through at y
	}{
		{-3, 0, false},
		{negZero, 0, false},
		{0, 0, false},
		{1e-45, 1e-45, true}, // smallest subnormal
		{2.5, 2.5, true},
		{inf, inf, true},
		{-inf, 0, false},
		{nan, nan, false}, // NaN propagates forward; no gradient flows through it
	}
	x := make([]float32, len(cases))
	for i, c := range cases {
		x[i] = c.x
	}
	y := make([]float32, len(x))
	ReLUAct.apply(y, x)
	dy := make([]float32, len(x))
	for i := range dy {
		dy[i] = float32(i + 1)
	}
	dx := make([]float32, len(x))
	ReLUAct.backward(dx, dy, y)
	for i, c := range cases {
		if math.Float32bits(y[i]) != math.Float32bits(c.y) && !(c.y != c.y && y[i] != y[i]) {
			t.Errorf("relu(%v) = %v (bits %#x), want %v", c.x, y[i], math.Float32bits(y[i]), c.y)
		}
		want := float32(0)
		if c.dyPasses {
			want = dy[i]
		}
		if math.Float32bits(dx[i]) != math.Float32bits(want) {
			t.Errorf("relu backward at y=%v: dx %v, want %v", y[i], dx[i], want)
		}
	}
}
