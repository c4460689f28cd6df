package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// simdInputs mixes the ranges each function branches on: |x| < 0.5 (the
// expm1 Taylor series), moderate values, |x| near 9 (tanh saturation) and
// 87/88 (exp's polynomial range), huge values, signed zeros, infinities,
// subnormals and NaN.
func simdInputs(rng *rand.Rand, n int) []float32 {
	specials := []float32{0, float32(math.Copysign(0, -1)), 0.5, -0.5, 0.49999997, -0.49999997, 9, -9, 9.000001, -9.000001,
		86.99999, -86.99999, 87, -87, 87.5, -87.5, 88, -88, 1e-45, -1e-45, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(6) {
		case 0:
			x[i] = specials[rng.IntN(len(specials))]
		case 1:
			x[i] = rng.Float32() - 0.5
		case 2:
			x[i] = (rng.Float32()*2 - 1) * 10
		default:
			x[i] = float32(rng.NormFloat64() * 3)
		}
	}
	return x
}

// TestActivationSIMDMatchesGoBitwise runs sigmoid, tanh and SELU through
// the vector kernels (applyVec) and through the Go functions, element by
// element, and requires the same bits, with guard values around the output
// to catch writes out of range.
func TestActivationSIMDMatchesGoBitwise(t *testing.T) {
	if !useSIMD {
		t.Skip("no AVX2 on this CPU (or not amd64): only the Go functions run here")
	}
	const guard = float32(-777.25)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, act := range []Activation{SigmoidAct, TanhAct, SELUAct} {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 64, 100, 1000, 4099} {
			x := simdInputs(rng, n)
			buf := make([]float32, n+16)
			for i := range buf {
				buf[i] = guard
			}
			y := buf[8 : 8+n]
			act.apply(y, x)
			for i := range 8 {
				if buf[i] != guard || buf[8+n+i] != guard {
					t.Fatalf("%v n=%d: guard value overwritten", act, n)
				}
			}
			for i, v := range x {
				want := act.scalar(v)
				if !sameFloat(y[i], want) {
					t.Fatalf("%v(%v) = %v (bits %#x), Go %v (bits %#x) [n=%d i=%d]",
						act, v, y[i], math.Float32bits(y[i]), want, math.Float32bits(want), n, i)
				}
			}
			// In place, as the LSTM applies its gates.
			z := append([]float32(nil), x...)
			act.apply(z, z)
			for i := range z {
				if !sameFloat(z[i], y[i]) {
					t.Fatalf("%v in place: element %d %v, out of place %v", act, i, z[i], y[i])
				}
			}
		}
	}
}

// TestActivationSIMDDense checks every float32 in a dense sweep of
// [-20, 20] (step 2⁻⁹) plus the exact powers of two near the branch points.
func TestActivationSIMDDense(t *testing.T) {
	if !useSIMD {
		t.Skip("no AVX2 on this CPU (or not amd64)")
	}
	var x []float32
	for v := float32(-20); v <= 20; v += 1.0 / 512 {
		x = append(x, v)
	}
	y := make([]float32, len(x))
	for _, act := range []Activation{SigmoidAct, TanhAct, SELUAct} {
		act.apply(y, x)
		for i, v := range x {
			if want := act.scalar(v); !sameFloat(y[i], want) {
				t.Fatalf("%v(%v) = %v, Go %v", act, v, y[i], want)
			}
		}
	}
}

// TestSELUBackwardMatchesDeriv compares the branch-free SELU backward with
// dy·deriv(y) bitwise.
func TestSELUBackwardMatchesDeriv(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	x := simdInputs(rng, 999)
	y := make([]float32, len(x))
	SELUAct.apply(y, x)
	dy := simdInputs(rng, len(x))
	dx := make([]float32, len(x))
	SELUAct.backward(dx, dy, y)
	for i := range y {
		want := dy[i] * SELUAct.deriv(y[i])
		if math.Float32bits(dx[i]) != math.Float32bits(want) && !(want != want && dx[i] != dx[i]) {
			t.Fatalf("y=%v dy=%v: dx %v, want %v", y[i], dy[i], dx[i], want)
		}
	}
}
