package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// specialVec is randVec with zeros of both signs, huge and tiny values, an
// infinity and a NaN mixed in, so the vector and scalar paths are compared
// on the edge cases of MAXPS, SQRTPS and DIVPS too.
func specialVec(rng *rand.Rand, n int, withNaN bool) []float32 {
	s := randVec(rng, n)
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e30, -1e-30, 1e-45, float32(math.Inf(1))}
	if withNaN {
		specials = append(specials, float32(math.NaN()))
	}
	for i := range s {
		if rng.IntN(8) == 0 {
			s[i] = specials[rng.IntN(len(specials))]
		}
	}
	return s
}

// TestSIMDMatchesScalarBitwise runs each fused kernel through the AVX2 path
// and through the Go loop on the same random inputs (lengths 0..70, odd
// offsets into a larger buffer, special values) and requires the same bits
// in w, m and v/u, and untouched guard values around the range.
func TestSIMDMatchesScalarBitwise(t *testing.T) {
	if !useSIMD {
		t.Skip("no AVX2 on this CPU (or not amd64): only the Go loops run here, and the reference tests cover them")
	}
	const guard = float32(-12345.5)
	kernels := []struct {
		name string
		run  func(w, g, m, v []float32, simd bool)
	}{
		{"adam", func(w, g, m, v []float32, simd bool) {
			k := adamKernel{lrt: 0.0123, b1: 0.9, c1: 0.1, b2: 0.999, c2: 1 - 0.999, eps: 1e-7, decay: 1}
			if simd {
				k.run(w, g, m, v)
			} else {
				k.scalar(w, g, m, v)
			}
		}},
		{"adamw", func(w, g, m, v []float32, simd bool) {
			k := adamKernel{lrt: 0.003, b1: 0.8, c1: 0.2, b2: 0.99, c2: 1 - 0.99, eps: 1e-8, decay: 0.9995}
			if simd {
				k.run(w, g, m, v)
			} else {
				k.scalar(w, g, m, v)
			}
		}},
		{"adamax", func(w, g, m, u []float32, simd bool) {
			k := adamaxKernel{lrt: 0.02, b1: 0.9, c1: 0.1, b2: 0.999, eps: 1e-7, decay: 1}
			if simd {
				k.run(w, g, m, u)
			} else {
				k.scalar(w, g, m, u)
			}
		}},
		{"adamax_decoupled", func(w, g, m, u []float32, simd bool) {
			k := adamaxKernel{lrt: 0.002, b1: 0.95, c1: 0.05, b2: 0.98, eps: 1e-6, decay: 0.99}
			if simd {
				k.run(w, g, m, u)
			} else {
				k.scalar(w, g, m, u)
			}
		}},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range kernels {
		for _, withNaN := range []bool{false, true} {
			for n := range 71 {
				off := rng.IntN(5)
				total := off + n + 9
				base := [4][]float32{specialVec(rng, total, withNaN), specialVec(rng, total, withNaN), specialVec(rng, total, withNaN), specialVec(rng, total, withNaN)}
				for i := range base[3] {
					base[3][i] = float32(math.Abs(float64(base[3][i]))) // v, u ≥ 0
				}
				var got, want [4][]float32
				for j := range base {
					got[j] = append([]float32(nil), base[j]...)
					want[j] = append([]float32(nil), base[j]...)
					for i := range off {
						got[j][i], want[j][i] = guard, guard
					}
					for i := off + n; i < total; i++ {
						got[j][i], want[j][i] = guard, guard
					}
				}
				sl := func(a [4][]float32, j int) []float32 { return a[j][off : off+n] }
				for step := range 3 {
					k.run(sl(got, 0), sl(got, 1), sl(got, 2), sl(got, 3), true)
					k.run(sl(want, 0), sl(want, 1), sl(want, 2), sl(want, 3), false)
					for j, name := range []string{"w", "g", "m", "v"} {
						for i := range total {
							if !sameFloat(got[j][i], want[j][i]) {
								t.Fatalf("%s NaN=%v n=%d off=%d step %d: %s[%d] = %v (bits %#x), Go loop %v (bits %#x)",
									k.name, withNaN, n, off, step, name, i, got[j][i], math.Float32bits(got[j][i]), want[j][i], math.Float32bits(want[j][i]))
							}
						}
					}
				}
			}
		}
	}
}

// TestSIMDSwitchSameOptimizerResult drives whole optimizers with the vector
// path on and off and requires bitwise equal weights: what a user gets does
// not depend on the CPU's vector unit.
func TestSIMDSwitchSameOptimizerResult(t *testing.T) {
	if !useSIMD {
		t.Skip("no AVX2 on this CPU (or not amd64)")
	}
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			const n = 1001
			rng := rand.New(rand.NewPCG(5, 6))
			w0 := randVec(rng, n)
			grads := make([][]float32, 5)
			for i := range grads {
				grads[i] = randVec(rng, n)
			}
			run := func(simd bool) []float32 {
				defer func(old bool) { useSIMD = old }(useSIMD)
				useSIMD = simd
				o, w := c.opt(n), append([]float32(nil), w0...)
				for _, g := range grads {
					o.Step(w, g)
				}
				return w
			}
			a, b := run(true), run(false)
			for i := range a {
				if !sameFloat(a[i], b[i]) {
					t.Fatalf("element %d: SIMD %v, Go %v", i, a[i], b[i])
				}
			}
		})
	}
}
