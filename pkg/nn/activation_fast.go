package nn

import "math"

// exp32 is eˣ in float32 arithmetic, within 2 ulp of math.Exp over the
// float32 range (measured by TestExp32): Cody-Waite reduction x = n·ln2 + r,
// |r| ≤ ln2/2, a degree-7 Taylor polynomial for eʳ, and 2ⁿ built from the
// exponent bits. Outside [-87, 88] it defers to math.Exp.
func exp32(x float32) float32 {
	if !(x > -87 && x < 88) { // also NaN
		return float32(math.Exp(float64(x)))
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125
		ln2lo = 1.42860682030941723212e-6
	)
	t := x * log2e
	if t >= 0 {
		t += 0.5
	} else {
		t -= 0.5
	}
	n := int32(t)
	fn := float32(n)
	r := x - float32(fn*ln2hi) - float32(fn*ln2lo)
	// Every product is rounded by an explicit conversion, which keeps the
	// compiler from fusing multiply-adds (GOAMD64=v3): the AVX2 twin in
	// activation_simd_amd64.s does the same unfused operations.
	p := 1 + float32(r*(1+float32(r*(1.0/2+float32(r*(1.0/6+float32(r*(1.0/24+float32(r*(1.0/120+float32(r*(1.0/720+float32(r*(1.0/5040))))))))))))))
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// expm1_32 is eˣ − 1 in float32, accurate near 0 (Taylor series for
// |x| < 0.5, exp32(x) − 1 elsewhere).
func expm1_32(x float32) float32 {
	if x > -0.5 && x < 0.5 {
		return x * (1 + float32(x*(1.0/2+float32(x*(1.0/6+float32(x*(1.0/24+float32(x*(1.0/120+float32(x*(1.0/720+float32(x*(1.0/5040+float32(x*(1.0/40320))))))))))))))) // unfused, as in exp32
	}
	return exp32(x) - 1
}

// tanh32 is tanh(x) = expm1(2x)/(expm1(2x)+2) in float32 (±1 beyond
// |x| = 9, where float32 rounds tanh to ±1).
func tanh32(x float32) float32 {
	switch {
	case x > 9:
		return 1
	case x < -9:
		return -1
	case x != x:
		return x
	}
	e := expm1_32(2 * x)
	return e / (e + 2)
}
