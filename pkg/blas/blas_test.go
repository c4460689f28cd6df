package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// naiveGemm is the reference triple loop, accumulated in float64.
func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

func naiveGemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, incx int, beta float32, y []float32, incy int) {
	if m == 0 || n == 0 {
		return // reference BLAS quick return: y unchanged
	}
	lx, ly := n, m
	if trans {
		lx, ly = m, n
	}
	xi := func(i int) int {
		if incx < 0 {
			return (lx - 1 - i) * -incx
		}
		return i * incx
	}
	yi := func(i int) int {
		if incy < 0 {
			return (ly - 1 - i) * -incy
		}
		return i * incy
	}
	for i := range ly {
		var s float64
		for j := range lx {
			var av float32
			if trans {
				av = a[j*lda+i]
			} else {
				av = a[i*lda+j]
			}
			s += float64(av) * float64(x[xi(j)])
		}
		v := float64(alpha) * s
		if beta != 0 {
			v += float64(beta) * float64(y[yi(i)])
		}
		y[yi(i)] = float32(v)
	}
}

func closeTo(got, want []float32, k int) (int, bool) {
	tol := 1e-5 * float64(k+4)
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			return i, false
		}
	}
	return 0, true
}

func TestSgemmRandom(t *testing.T) {
	defer SetThreads(1)
	for _, threads := range []int{1, 2} {
		SetThreads(threads)
		t.Run(fmt.Sprintf("threads=%d", threads), testSgemmRandom)
	}
}

func testSgemmRandom(t *testing.T) {
	t.Logf("backend %s, threads %d", Backend(), Threads())
	rng := rand.New(rand.NewPCG(1, 2))
	dims := []int{0, 1, 2, 3, 5, 7, 16, 17, 33, 64, 65, 130, 300, 600}
	for trial := range 400 {
		m := dims[rng.IntN(len(dims))]
		n := dims[rng.IntN(len(dims))]
		k := dims[rng.IntN(len(dims))]
		for m*n*k > 1<<20 { // keep the naive loop cheap under -race
			k = dims[rng.IntN(len(dims)/2)]
		}
		transA, transB := rng.IntN(2) == 1, rng.IntN(2) == 1
		alphas := []float32{1, 0, -0.5, 2.25}
		betas := []float32{0, 1, -1.5, 0.5}
		alpha, beta := alphas[rng.IntN(4)], betas[rng.IntN(4)]
		ar, ac := m, k
		if transA {
			ar, ac = k, m
		}
		br, bc := k, n
		if transB {
			br, bc = n, k
		}
		lda, ldb, ldc := max(1, ac)+rng.IntN(3), max(1, bc)+rng.IntN(3), max(1, n)+rng.IntN(3)
		a := randSlice(rng, ar*lda)
		b := randSlice(rng, br*ldb)
		c := randSlice(rng, m*ldc+5) // guard band after the last row
		if beta == 0 {
			for i := range m {
				for j := range n {
					c[i*ldc+j] = float32(math.NaN()) // beta=0 must overwrite, not scale
				}
			}
		}
		want := append([]float32(nil), c...)
		naiveGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
		Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		if i, ok := closeTo(c, want, k); !ok {
			t.Fatalf("trial %d tA=%v tB=%v m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%v beta=%v: c[%d]=%v want %v",
				trial, transA, transB, m, n, k, lda, ldb, ldc, alpha, beta, i, c[i], want[i])
		}
		// Elements in the stride padding and the guard band are untouched.
		for i := range c {
			if i/ldc < m && i%ldc < n {
				continue
			}
			if c[i] != want[i] && !(math.IsNaN(float64(c[i])) && math.IsNaN(float64(want[i]))) {
				t.Fatalf("trial %d: padding element %d changed", trial, i)
			}
		}
	}
}

func TestSgemvRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	dims := []int{0, 1, 2, 3, 7, 16, 33, 100}
	incs := []int{1, 1, 2, 3, -1, -2}
	for trial := range 300 {
		m := dims[rng.IntN(len(dims))]
		n := dims[rng.IntN(len(dims))]
		trans := rng.IntN(2) == 1
		alpha := []float32{1, 0, -0.5, 2}[rng.IntN(4)]
		beta := []float32{0, 1, -1.5, 0.5}[rng.IntN(4)]
		incx, incy := incs[rng.IntN(len(incs))], incs[rng.IntN(len(incs))]
		lda := max(1, n) + rng.IntN(3)
		lx, ly := n, m
		if trans {
			lx, ly = m, n
		}
		abs := func(v int) int { return max(v, -v) }
		a := randSlice(rng, m*lda)
		x := randSlice(rng, max(1, (lx-1)*abs(incx)+1))
		y := randSlice(rng, max(1, (ly-1)*abs(incy)+1)+2)
		want := append([]float32(nil), y...)
		naiveGemv(trans, m, n, alpha, a, lda, x, incx, beta, want, incy)
		Sgemv(trans, m, n, alpha, a, lda, x, incx, beta, y, incy)
		if i, ok := closeTo(y, want, max(m, n)); !ok {
			t.Fatalf("trial %d trans=%v m=%d n=%d lda=%d incx=%d incy=%d: y[%d]=%v want %v",
				trial, trans, m, n, lda, incx, incy, i, y[i], want[i])
		}
	}
}

func expectPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want one containing %q", msg, want)
		}
	}()
	f()
}

func TestBadArgumentsPanicClearly(t *testing.T) {
	a := make([]float32, 12)
	b := make([]float32, 12)
	c := make([]float32, 12)
	expectPanic(t, "lda=2", func() { Sgemm(false, false, 3, 4, 3, 1, a, 2, b, 4, 0, c, 4) })
	expectPanic(t, "len(A)=12", func() { Sgemm(false, false, 3, 4, 5, 1, a, 5, b, 4, 0, c, 4) })
	expectPanic(t, "len(B)=12", func() { Sgemm(false, true, 3, 4, 4, 1, a, 4, b, 4, 0, c, 4) })
	expectPanic(t, "len(C)=12", func() { Sgemm(false, false, 3, 4, 2, 1, a, 2, b, 4, 0, c, 5) })
	expectPanic(t, "negative dimension", func() { Sgemm(false, false, -1, 4, 2, 1, a, 2, b, 4, 0, c, 4) })
	expectPanic(t, "incx=0", func() { Sgemv(false, 3, 4, 1, a, 4, b, 0, 0, c, 1) })
	expectPanic(t, "len(x)=12", func() { Sgemv(true, 3, 4, 1, a, 4, b, 6, 0, c, 1) })
	expectPanic(t, "len(y)=12", func() { Sgemv(true, 3, 4, 1, a, 4, b, 1, 0, c, 4) })
}

func TestSgemmNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a, b, c := randSlice(rng, 32*48), randSlice(rng, 48*40), randSlice(rng, 32*40)
	x, y := randSlice(rng, 48), randSlice(rng, 32)
	allocs := testing.AllocsPerRun(20, func() {
		Sgemm(false, true, 32, 40, 48, 1, a, 48, b, 48, 0, c, 40)
		Sgemv(false, 32, 48, 1, a, 48, x, 1, 0, y, 1)
	})
	if allocs != 0 {
		t.Fatalf("Sgemm/Sgemv allocate %v times per call", allocs)
	}
}

func TestThreads(t *testing.T) {
	if got := Threads(); got != 1 {
		t.Fatalf("default Threads() = %d, want 1", got)
	}
	SetThreads(2)
	if got := Threads(); got != 2 {
		t.Fatalf("Threads() = %d after SetThreads(2)", got)
	}
	SetThreads(0)
	if got := Threads(); got != 1 {
		t.Fatalf("Threads() = %d after SetThreads(0), want 1", got)
	}
	if b := Backend(); b != "gonum" && !strings.HasPrefix(b, "openblas ") {
		t.Fatalf("Backend() = %q", b)
	}
}

// BenchmarkSgemm runs C[m×n] = A[m×k]·B[k×n] at layer sizes of the
// benchmarks: dense layers of candle-uno (batch 64, 1000 and 5270 wide) and
// an im2col convolution (32 filters, 3×3×9 patches over a 256² tile).
func BenchmarkSgemm(b *testing.B) {
	sizes := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"dense_64x1000x1000", false, false, 64, 1000, 1000},
		{"dense_64x5270x1000", false, false, 64, 1000, 5270},
		{"dense_bwd_64x1000x1000_TN", true, false, 1000, 1000, 64},
		{"dense_bwdx_64x1000x1000_NT", false, true, 64, 1000, 1000},
		{"conv_32x81x65536", false, false, 32, 65536, 81},
	}
	defer SetThreads(1)
	for _, threads := range []int{1, 2} {
		for _, s := range sizes {
			b.Run(fmt.Sprintf("%s/threads=%d", s.name, threads), func(b *testing.B) {
				SetThreads(threads)
				rng := rand.New(rand.NewPCG(7, 8))
				lda, ldb := s.k, s.n
				if s.transA {
					lda = s.m
				}
				if s.transB {
					ldb = s.k
				}
				a := randSlice(rng, s.m*s.k)
				bb := randSlice(rng, s.k*s.n)
				c := make([]float32, s.m*s.n)
				b.ReportAllocs()
				for b.Loop() {
					Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
