package optim

// The fused Adam and Adamax loops are the only memory-bound part of a
// candle-uno step (16.2 M parameters: 7 float32 streams per element), and Go
// does not vectorise them. On amd64 with AVX2 the bulk of each range runs
// in assembly (simd_amd64.s), 8 lanes at a time, with the same operations in
// the same order as the Go loops below (no fused multiply-add: the Go loops
// round every product with an explicit float32 conversion, which the Go
// spec says prevents fusion, whatever GOAMD64; division and square root are
// IEEE-exact in both), so both paths give bitwise the same result; the Go
// loops handle the tail and every other platform.

// adamKernel holds the per-step scalars of an Adam update:
//
//	m ← b1·m + c1·g;  v ← b2·v + (c2·g)·g;  w ← w·decay − (lrt·m)/(√v + eps)
//
// The field order is read by simd_amd64.s.
type adamKernel struct {
	lrt, b1, c1, b2, c2, eps, decay float32
}

// adamaxKernel holds the per-step scalars of an Adamax update:
//
//	m ← b1·m + c1·g;  u ← max(b2·u, |g|);  w ← w·decay − (lrt·m)/(u + eps)
//
// The field order is read by simd_amd64.s.
type adamaxKernel struct {
	lrt, b1, c1, b2, eps, decay float32
}

// run applies the Adam update to equal-length slices.
func (k *adamKernel) run(w, g, m, v []float32) {
	n := 0
	if useSIMD && len(g) >= simdWidth {
		n = len(g) &^ (simdWidth - 1)
		adamSIMD(&w[0], &g[0], &m[0], &v[0], n, k)
	}
	k.scalar(w[n:], g[n:], m[n:], v[n:])
}

func (k *adamKernel) scalar(w, g, m, v []float32) {
	b1, c1, b2, c2, eps, lrt := k.b1, k.c1, k.b2, k.c2, k.eps, k.lrt
	m, v, w = m[:len(g)], v[:len(g)], w[:len(g)]
	if k.decay == 1 {
		for i, gi := range g {
			mi := float32(b1*m[i]) + float32(c1*gi)
			vi := float32(b2*v[i]) + float32(c2*gi*gi)
			m[i], v[i] = mi, vi
			w[i] -= float32(lrt*mi) / (sqrt32(vi) + eps)
		}
		return
	}
	decay := k.decay
	for i, gi := range g {
		mi := float32(b1*m[i]) + float32(c1*gi)
		vi := float32(b2*v[i]) + float32(c2*gi*gi)
		m[i], v[i] = mi, vi
		w[i] = float32(w[i]*decay) - float32(lrt*mi)/(sqrt32(vi)+eps)
	}
}

// run applies the Adamax update to equal-length slices.
func (k *adamaxKernel) run(w, g, m, u []float32) {
	n := 0
	if useSIMD && len(g) >= simdWidth {
		n = len(g) &^ (simdWidth - 1)
		adamaxSIMD(&w[0], &g[0], &m[0], &u[0], n, k)
	}
	k.scalar(w[n:], g[n:], m[n:], u[n:])
}

func (k *adamaxKernel) scalar(w, g, m, u []float32) {
	b1, c1, b2, eps, lrt := k.b1, k.c1, k.b2, k.eps, k.lrt
	m, u, w = m[:len(g)], u[:len(g)], w[:len(g)]
	if k.decay == 1 {
		for i, gi := range g {
			mi := float32(b1*m[i]) + float32(c1*gi)
			ui := max32(b2*u[i], abs32(gi))
			m[i], u[i] = mi, ui
			w[i] -= float32(lrt*mi) / (ui + eps)
		}
		return
	}
	decay := k.decay
	for i, gi := range g {
		mi := float32(b1*m[i]) + float32(c1*gi)
		ui := max32(b2*u[i], abs32(gi))
		m[i], u[i] = mi, ui
		w[i] = float32(w[i]*decay) - float32(lrt*mi)/(ui+eps)
	}
}

// max32 is the maximum with the NaN rule of the x86 MAXPS instruction: when
// either operand is NaN the second (|g|) is returned, so a NaN gradient
// reaches u, m and w alike in the scalar and vector paths.
func max32(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}
