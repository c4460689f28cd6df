//go:build linux && (amd64 || arm64)

package gpu

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// refSgemm is the row-major reference: C = alpha·op(A)·op(B) + beta·C.
func refSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				av, bv := a[i*lda+p], b[p*ldb+j]
				if transA {
					av = a[p*lda+i]
				}
				if transB {
					bv = b[j*ldb+p]
				}
				s += float64(av) * float64(bv)
			}
			if beta == 0 {
				c[i*ldc+j] = float32(float64(alpha) * s)
			} else {
				c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
			}
		}
	}
}

// TestSgemmRowMajor: the row-major product through the column-major fake
// cuBLAS equals the reference for every transpose, with padded strides;
// the padding and a guard band after C are left alone; the call swaps the
// operands as documented.
func TestSgemmRowMajor(t *testing.T) {
	k := openKit(t, kitOptions{})
	c := mustOpen(t, Config{})
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	bl, err := c.NewBlas(s, BlasConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const guard = 16
	const sentinel = float32(-12345.5)
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		ta, tb := tr[0], tr[1]
		m, n, kk := 3+rng.IntN(9), 2+rng.IntN(9), 1+rng.IntN(9)
		ar, ac := m, kk
		if ta {
			ar, ac = kk, m
		}
		br, bc := kk, n
		if tb {
			br, bc = n, kk
		}
		lda, ldb, ldc := ac+rng.IntN(3), bc+rng.IntN(3), n+2
		a := make([]float32, ar*lda)
		b := make([]float32, br*ldb)
		cm := make([]float32, m*ldc+guard)
		for i := range a {
			a[i] = rng.Float32()*2 - 1
		}
		for i := range b {
			b[i] = rng.Float32()*2 - 1
		}
		for i := range cm {
			cm[i] = sentinel
			if i < m*ldc && i%ldc < n {
				cm[i] = rng.Float32()
			}
		}
		want := append([]float32(nil), cm...)
		alpha, beta := float32(0.75), float32(-0.5)
		refSgemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, want, ldc)
		up := func(x []float32) *Buffer {
			buf, err := c.Alloc(4 * len(x))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.CopyHtoD(buf, Float32Bytes(x)); err != nil {
				t.Fatal(err)
			}
			return buf
		}
		da, db, dc := up(a), up(b), up(cm)
		if err := bl.Sgemm(ta, tb, m, n, kk, alpha, da, lda, db, ldb, beta, dc, ldc); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(cm))
		if err := c.CopyDtoH(Float32Bytes(got), dc); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-5 {
				t.Fatalf("trans %v,%v m=%d n=%d k=%d: C[%d] = %v, want %v", ta, tb, m, n, kk, i, got[i], want[i])
			}
			if (i >= m*ldc || i%ldc >= n) && got[i] != sentinel {
				t.Fatalf("trans %v,%v: guard or padding C[%d] overwritten: %v", ta, tb, i, got[i])
			}
		}
		var args [12]int64
		var ab [2]float32
		var ptrs [4]uintptr
		k.cublasLast(&args, &ab, &ptrs)
		op := func(tr bool) int64 {
			if tr {
				return 1
			}
			return 0
		}
		wantArgs := [9]int64{op(tb), op(ta), int64(n), int64(m), int64(kk), int64(ldb), int64(lda), int64(ldc), 0}
		if [9]int64(args[:9]) != wantArgs || ab != [2]float32{alpha, beta} || ptrs[0] != s.h ||
			ptrs[1] != uintptr(db.ptr) || ptrs[2] != uintptr(da.ptr) || ptrs[3] != uintptr(dc.ptr) {
			t.Fatalf("cublasSgemm_v2 called with %v %v %#x, want %v (B, A swapped; stream %#x)", args[:9], ab, ptrs, wantArgs, s.h)
		}
	}
}

func TestSgemmChecksAndTF32(t *testing.T) {
	k := openKit(t, kitOptions{})
	c := mustOpen(t, Config{})
	other := mustOpen(t, Config{LocalRank: 1})
	s, _ := c.NewStream()
	bl, err := c.NewBlas(s, BlasConfig{TF32: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bl.TF32() {
		t.Fatal("TF32 not reported")
	}
	a, _ := c.Alloc(4 * 6)
	small, _ := c.Alloc(4 * 5)
	foreign, _ := other.Alloc(4 * 6)
	if err := bl.Sgemm(false, false, 2, 3, 1, 1, a, 1, a, 3, 0, a, 3); err != nil {
		t.Fatal(err)
	}
	var args [12]int64
	var ab [2]float32
	var ptrs [4]uintptr
	k.cublasLast(&args, &ab, &ptrs)
	if args[8] != 3 {
		t.Fatalf("math mode %d, want CUBLAS_TF32_TENSOR_OP_MATH (3)", args[8])
	}
	cases := []struct {
		name, want string
		err        error
	}{
		{"ldc", "ldc 2 < 3 columns of C", bl.Sgemm(false, false, 2, 3, 1, 1, a, 1, a, 3, 0, a, 2)},
		{"lda transposed", "lda 1 < 2 columns of A", bl.Sgemm(true, false, 2, 3, 1, 1, a, 1, a, 3, 0, a, 3)},
		{"small C", "C (2×3, ld 3) needs 24 bytes, the buffer has 20", bl.Sgemm(false, false, 2, 3, 1, 1, a, 1, a, 3, 0, small, 3)},
		{"negative", "negative size", bl.Sgemm(false, false, -1, 3, 1, 1, a, 1, a, 3, 0, a, 3)},
		{"nil C", "matrix C is nil", bl.Sgemm(false, false, 2, 3, 1, 1, a, 1, a, 3, 0, nil, 3)},
		{"foreign", "belongs to another context", bl.Sgemm(false, false, 2, 3, 1, 1, foreign, 1, a, 3, 0, a, 3)},
	}
	for _, tc := range cases {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || !strings.Contains(tc.err.Error(), "device 0 (Fake H200)") {
			t.Errorf("%s: got %v, want %q naming the device", tc.name, tc.err, tc.want)
		}
	}
	// empty products touch nothing; nil is fine for an empty matrix
	if err := bl.Sgemm(false, false, 0, 3, 2, 1, nil, 2, a, 3, 0, nil, 3); err != nil {
		t.Fatalf("empty product: %v", err)
	}
	k.cublasFail(13)
	err = bl.Sgemm(false, false, 2, 3, 1, 1, a, 1, a, 3, 0, a, 3)
	var be *CUBLASError
	if !errors.As(err, &be) || !errors.Is(err, ErrCUBLAS) || be.Status != 13 || !strings.Contains(err.Error(), "CUBLAS_STATUS_EXECUTION_FAILED") ||
		!strings.Contains(err.Error(), "m=2 n=3 k=1") {
		t.Fatalf("failing cuBLAS: %v", err)
	}
	// default: full float32 math
	b2, err := c.NewBlas(s, BlasConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Sgemm(false, false, 2, 3, 1, 1, a, 1, a, 3, 0, a, 3); err != nil {
		t.Fatal(err)
	}
	k.cublasLast(&args, &ab, &ptrs)
	if args[8] != 0 {
		t.Fatalf("default math mode %d, want CUBLAS_DEFAULT_MATH (0)", args[8])
	}
	if err := b2.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := b2.Destroy(); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
	if err := b2.Sgemm(false, false, 2, 3, 1, 1, a, 1, a, 3, 0, a, 3); err == nil || !strings.Contains(err.Error(), "was freed") {
		t.Fatalf("Sgemm after Destroy: %v", err)
	}
	if n := k.cublasLast(&args, &ab, &ptrs); n != 1 {
		t.Fatalf("%d live handles, want 1", n)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := k.cublasLast(&args, &ab, &ptrs); n != 0 {
		t.Fatalf("%d live handles after Close", n)
	}
}

func TestNoCUBLAS(t *testing.T) {
	openKit(t, kitOptions{})
	t.Setenv(CUBLASLibEnv, "/nonexistent/libcublas.so.12")
	c := mustOpen(t, Config{})
	s, _ := c.NewStream()
	_, err := c.NewBlas(s, BlasConfig{})
	if !errors.Is(err, ErrNoCUBLAS) || !strings.Contains(err.Error(), "/nonexistent/libcublas.so.12") {
		t.Fatalf("got %v", err)
	}
	if _, err := c.NewBlas(nil, BlasConfig{}); err == nil || !strings.Contains(err.Error(), "stream is nil") {
		t.Fatalf("nil stream: %v", err)
	}
}
