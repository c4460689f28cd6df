package nn

import "math"

// The exp-based activations (sigmoid, tanh, SELU) are most of an LSTM
// step's element-wise time. On amd64 with AVX2 they run 8 lanes at a time
// in assembly (activation_simd_amd64.s) that performs exactly the float32
// operations of exp32, expm1_32, sigmoid, tanh32 and the SELU branch of
// Activation.scalar, in the same order (no fused multiply-add; blends
// instead of branches), so results are bitwise those of the Go functions.
// A block of 8 with a lane outside the polynomial's range (or a NaN) is
// left to the Go functions, which take their slow paths for it.

// simdConsts is the constant table the kernels read; the offsets are
// hard-coded in activation_simd_amd64.s. Every value is the float32 the
// Go functions round their untyped constants to.
type simdConsts struct {
	log2e, ln2hi, ln2lo, half, one       float32 // 0, 4, 8, 12, 16
	c2, c3, c4, c5, c6, c7               float32 // 20 … 40: 1/2! … 1/7!
	expLo, expHi, c8, mhalf, two         float32 // 44, 48, 52, 56, 60
	nine, mnine, seluScale, seluNegScale float32 // 64, 68, 72, 76
	signMask, absMask, bias              uint32  // 80, 84, 88
}

var simdK = newSIMDConsts()

func newSIMDConsts() *simdConsts {
	one := float32(1)
	return &simdConsts{
		log2e: 1.44269504088896341, ln2hi: 0.693145751953125, ln2lo: 1.42860682030941723212e-6,
		half: 0.5, one: 1,
		c2: 1.0 / 2, c3: 1.0 / 6, c4: 1.0 / 24, c5: 1.0 / 120, c6: 1.0 / 720, c7: 1.0 / 5040,
		expLo: -87, expHi: 88, c8: 1.0 / 40320, mhalf: -0.5, two: 2,
		nine: 9, mnine: -9,
		seluScale: seluScale,
		// The same constant expression as in Activation.scalar, rounded once.
		seluNegScale: seluScale * seluAlpha * one,
		signMask:     1 << 31, absMask: 1<<31 - 1, bias: 127,
	}
}

// vecKernel applies a function to the first n elements (n a multiple of 8)
// of x into y and returns how many it did: n, or fewer when it stopped at a
// block of 8 it cannot do exactly.
type vecKernel func(y, x *float32, n int, k *simdConsts) int

// applyVec sets y[i] = f(x[i]) using kern for the bulk where the CPU has
// it; y and x may be the same slice.
func applyVec(kern vecKernel, f func(float32) float32, y, x []float32) {
	y = y[:len(x)]
	i := 0
	for useSIMD && len(x)-i >= 8 {
		i += kern(&y[i], &x[i], (len(x)-i)&^7, simdK)
		if len(x)-i >= 8 { // a block the kernel left to the Go function
			for j := i; j < i+8; j++ {
				y[j] = f(x[j])
			}
			i += 8
		}
	}
	for ; i < len(x); i++ {
		y[i] = f(x[i])
	}
}

func seluScalar(v float32) float32 { return SELUAct.scalar(v) }

// derivInto sets d[i] = f'(x) from y[i] = f(x), as deriv does, without a
// branch per element for SELU.
func (a Activation) derivInto(d, y []float32) {
	d = d[:len(y)]
	switch a {
	case TanhAct:
		for i, v := range y {
			d[i] = 1 - v*v
		}
	case SELUAct:
		const sa = seluScale * seluAlpha
		pos := math.Float32bits(seluScale)
		for i, v := range y {
			b := math.Float32bits(v + sa)
			if v > 0 {
				b = pos
			}
			d[i] = math.Float32frombits(b)
		}
	default:
		for i, v := range y {
			d[i] = a.deriv(v)
		}
	}
}

// seluBackward is dx = dy·f'(y) for SELU without a branch on the sign of y.
func seluBackward(dx, dy, y []float32) {
	dx = dx[:len(y)]
	dy = dy[:len(y)]
	const sa = seluScale * seluAlpha
	pos := math.Float32bits(seluScale)
	for i, v := range y {
		d := math.Float32bits(v + sa)
		if v > 0 {
			d = pos
		}
		dx[i] = dy[i] * math.Float32frombits(d)
	}
}
