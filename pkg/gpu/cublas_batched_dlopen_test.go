//go:build linux && (amd64 || arm64)

package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/ebitengine/purego"
)

// batchedCalls returns the strides and batch count cuBLAS saw in the last
// cublasSgemmStridedBatched call of the fake (testdata/fakecublas.c), and
// the number of such calls.
func batchedCalls(t *testing.T) func() ([4]int64, int64) {
	t.Helper()
	h, err := purego.Dlopen(os.Getenv(CUBLASLibEnv), purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	var last func(out *[4]int64) int64
	purego.RegisterLibFunc(&last, h, "fake_cublas_last_batched")
	return func() ([4]int64, int64) {
		var out [4]int64
		n := last(&out)
		return out, n
	}
}

// refGemm is C = alpha·op(A)·op(B) + beta·C, row-major, reading only the
// stored elements of A and B.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				s += float64(a[ai]) * float64(b[bi])
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

// TestSgemmStridedBatched: every entry of the batched row-major product
// equals the naive reference, for each transpose, batch counts 1..4,
// shared (stride 0) and padded strides of A and B, with the padding between
// the entries of C and a guard band after the last left alone; the call
// reaches cuBLAS once with the operands swapped.
func TestSgemmStridedBatched(t *testing.T) {
	k := openKit(t, kitOptions{})
	lastBatched := batchedCalls(t)
	c := mustOpen(t, Config{})
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	bl, err := c.NewBlas(s, BlasConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !bl.StridedBatched() {
		t.Fatal("the fake cuBLAS has cublasSgemmStridedBatched, StridedBatched says no")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const guard = 16
	const sentinel = float32(-12345.5)
	calls := int64(0)
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		for _, batch := range []int{1, 2, 4} {
			for _, share := range [][2]bool{{false, false}, {true, false}, {false, true}} {
				ta, tb := tr[0], tr[1]
				m, n, kk := 1+rng.IntN(6), 1+rng.IntN(6), 1+rng.IntN(6)
				ar, ac := m, kk
				if ta {
					ar, ac = kk, m
				}
				br, bc := kk, n
				if tb {
					br, bc = n, kk
				}
				lda, ldb, ldc := ac+rng.IntN(2), bc+rng.IntN(2), n+1
				sa, sb, sc := ar*lda+rng.IntN(3), br*ldb+rng.IntN(3), m*ldc+2
				if share[0] {
					sa = 0
				}
				if share[1] {
					sb = 0
				}
				a := make([]float32, (batch-1)*sa+ar*lda)
				b := make([]float32, (batch-1)*sb+br*ldb)
				cm := make([]float32, (batch-1)*sc+m*ldc+guard)
				for i := range a {
					a[i] = rng.Float32()*2 - 1
				}
				for i := range b {
					b[i] = rng.Float32()*2 - 1
				}
				inC := func(i int) bool { // element i of cm belongs to some C_e
					e, r := i/sc, i%sc
					return e < batch && r < m*ldc && r%ldc < n
				}
				for i := range cm {
					cm[i] = sentinel
					if inC(i) {
						cm[i] = rng.Float32()
					}
				}
				want := append([]float32(nil), cm...)
				alpha, beta := float32(1.25), float32(0.5)
				if batch == 2 {
					beta = 0
				}
				for e := 0; e < batch; e++ {
					refGemm(ta, tb, m, n, kk, alpha, a[e*sa:], lda, b[e*sb:], ldb, beta, want[e*sc:], ldc)
				}
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
				name := fmt.Sprintf("trans %v,%v m=%d n=%d k=%d strides %d,%d,%d batch %d", ta, tb, m, n, kk, sa, sb, sc, batch)
				if err := bl.SgemmStridedBatched(ta, tb, m, n, kk, alpha, da.At(0), lda, sa, db.At(0), ldb, sb,
					beta, dc.At(0), ldc, sc, batch); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				calls++
				got := make([]float32, len(cm))
				if err := c.CopyDtoH(Float32Bytes(got), dc); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if !inC(i) {
						if got[i] != sentinel {
							t.Fatalf("%s: padding or guard C[%d] overwritten: %v", name, i, got[i])
						}
						continue
					}
					if math.Abs(float64(got[i]-want[i])) > 1e-5 {
						t.Fatalf("%s: C[%d] = %v, want %v", name, i, got[i], want[i])
					}
				}
				var args [12]int64
				var ab [2]float32
				var ptrs [4]uintptr
				k.cublasLast(&args, &ab, &ptrs)
				strides, nc := lastBatched()
				op := func(tr bool) int64 {
					if tr {
						return 1
					}
					return 0
				}
				wantArgs := [8]int64{op(tb), op(ta), int64(n), int64(m), int64(kk), int64(ldb), int64(lda), int64(ldc)}
				if [8]int64(args[:8]) != wantArgs || ab != [2]float32{alpha, beta} || ptrs[1] != uintptr(db.ptr) ||
					ptrs[2] != uintptr(da.ptr) || ptrs[3] != uintptr(dc.ptr) || strides != [4]int64{int64(sb), int64(sa), int64(sc), int64(batch)} || nc != calls {
					t.Fatalf("%s: cublasSgemmStridedBatched called with %v %v %v (call %d), want %v, strides B, A, C swapped",
						name, args[:8], strides, ab, nc, wantArgs)
				}
			}
		}
	}
}

// TestSgemmStridedBatchedChecks: argument errors name the device and the
// shapes and reach no cuBLAS call; a library without the symbol gives
// ErrNoStridedBatched.
func TestSgemmStridedBatchedChecks(t *testing.T) {
	k := openKit(t, kitOptions{})
	lastBatched := batchedCalls(t)
	c := mustOpen(t, Config{})
	other := mustOpen(t, Config{LocalRank: 1})
	s, _ := c.NewStream()
	bl, err := c.NewBlas(s, BlasConfig{})
	if err != nil {
		t.Fatal(err)
	}
	buf, _ := c.Alloc(4 * 40)
	foreign, _ := other.Alloc(4 * 40)
	p := buf.At(0)
	// 2×3 = (2×1)·(1×3), 3 entries: C needs 2·6 + 6 = 18 floats with stride 6
	if err := bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, p, 1, 2, p, 3, 0, 0, buf.At(4*20), 3, 6, 3); err != nil {
		t.Fatal(err)
	}
	if _, n := lastBatched(); n != 1 {
		t.Fatalf("%d batched calls, want 1", n)
	}
	cases := []struct {
		name, want string
		err        error
	}{
		{"C overlaps", "strideC 5 < 6 elements of one C", bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, p, 1, 2, p, 3, 0, 0, p, 3, 5, 2)},
		{"last C outside", "C of entry 3 (2×3, ld 3, from element 18) needs 96 bytes, the buffer has 80 from byte 80",
			bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, p, 1, 2, p, 3, 0, 0, buf.At(4*20), 3, 6, 4)},
		{"last A outside", "A of entry 2 (2×1, ld 1, from element 40) needs 168 bytes",
			bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, p, 1, 20, p, 3, 0, 0, p, 3, 6, 3)},
		{"last B outside", "B of entry 1 (3×2, ld 2, from element 40)",
			bl.SgemmStridedBatched(false, true, 2, 3, 2, 1, p, 2, 0, p, 2, 40, 0, p, 3, 6, 2)},
		{"lda", "lda 1 < 2 columns of A", bl.SgemmStridedBatched(true, false, 2, 3, 1, 1, p, 1, 0, p, 3, 0, 0, p, 3, 6, 2)},
		{"negative stride", "negative stride", bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, p, 1, -1, p, 3, 0, 0, p, 3, 6, 2)},
		{"negative batch", "negative size", bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, p, 1, 0, p, 3, 0, 0, p, 3, 6, -1)},
		{"nil C", "matrix C is nil", bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, p, 1, 0, p, 3, 0, 0, Null, 3, 6, 2)},
		{"foreign", "belongs to another context", bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, foreign.At(0), 1, 0, p, 3, 0, 0, p, 3, 6, 2)},
		{"misaligned", "not a float32 boundary", bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, buf.At(2), 1, 0, p, 3, 0, 0, p, 3, 6, 2)},
	}
	for _, tc := range cases {
		ownership := strings.HasPrefix(tc.name, "nil") || tc.name == "foreign" // checked before the shapes
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || !strings.Contains(tc.err.Error(), "device 0 (Fake H200)") ||
			!ownership && !strings.Contains(tc.err.Error(), "strided batched") {
			t.Errorf("%s: got %v, want %q naming the device and the call", tc.name, tc.err, tc.want)
		}
	}
	if _, n := lastBatched(); n != 1 {
		t.Fatalf("%d batched calls after rejected arguments, want 1", n)
	}
	// nothing to do: batch 0, or empty products with nil matrices
	if err := bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, Null, 1, 0, Null, 3, 0, 0, Null, 3, 6, 0); err != nil {
		t.Fatalf("batch 0: %v", err)
	}
	if err := bl.SgemmStridedBatched(false, false, 0, 3, 2, 1, Null, 2, 0, p, 3, 0, 0, Null, 3, 0, 5); err != nil {
		t.Fatalf("empty product: %v", err)
	}
	if _, n := lastBatched(); n != 1 {
		t.Fatalf("%d batched calls after empty products, want 1", n)
	}
	k.cublasFail(13)
	err = bl.SgemmStridedBatched(false, false, 2, 3, 1, 1, p, 1, 0, p, 3, 0, 0, p, 3, 6, 2)
	var be *CUBLASError
	if !errors.As(err, &be) || !errors.Is(err, ErrCUBLAS) || be.Call != "cublasSgemmStridedBatched" || be.Status != 13 {
		t.Fatalf("failing cuBLAS: %v", err)
	}

	// a libcublas without the symbol loads, and the call says so
	t.Setenv(CUBLASLibEnv, buildC(t, "fakecublas.c", "-DNO_SGEMM_BATCHED"))
	old, err := c.NewBlas(s, BlasConfig{})
	if err != nil {
		t.Fatalf("libcublas without cublasSgemmStridedBatched: %v", err)
	}
	if old.StridedBatched() {
		t.Fatal("StridedBatched true without the symbol")
	}
	err = old.SgemmStridedBatched(false, false, 2, 3, 1, 1, p, 1, 0, p, 3, 0, 0, p, 3, 6, 2)
	if !errors.Is(err, ErrNoStridedBatched) || !strings.Contains(err.Error(), "device 0 (Fake H200)") {
		t.Fatalf("without the symbol: %v", err)
	}
	if err := old.SgemmPtr(false, false, 2, 3, 1, 1, p, 1, p, 3, 0, buf.At(4*20), 3); err != nil {
		t.Fatalf("Sgemm without the batched symbol: %v", err)
	}
}
