package gpu

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
)

// ErrNoCUBLAS is wrapped when libcublas cannot be loaded.
var ErrNoCUBLAS = errors.New("gpu: cuBLAS not available")

// ErrNoStridedBatched is wrapped by SgemmStridedBatched when the loaded
// libcublas has no cublasSgemmStridedBatched; callers fall back to one
// SgemmPtr per batch entry.
var ErrNoStridedBatched = errors.New("gpu: cublasSgemmStridedBatched not available")

// ErrCUBLAS is wrapped (by *CUBLASError) when a cuBLAS call fails.
var ErrCUBLAS = errors.New("gpu: cuBLAS call failed")

// CUBLASLibEnv names the environment variable that, when set, replaces the
// default search for libcublas with one path.
const CUBLASLibEnv = "SCIBENCH_LIBCUBLAS"

func cublasCandidates() (paths []string, fromEnv bool) {
	if p := os.Getenv(CUBLASLibEnv); p != "" {
		return []string{p}, true
	}
	return []string{"libcublas.so.12", "libcublas.so.11", "libcublas.so"}, false
}

// cuBLAS constants.
const (
	cublasSuccess       = 0
	cublasOpN           = 0 // CUBLAS_OP_N
	cublasOpT           = 1 // CUBLAS_OP_T
	cublasDefaultMath   = 0 // CUBLAS_DEFAULT_MATH
	cublasTF32TensorOps = 3 // CUBLAS_TF32_TENSOR_OP_MATH
)

// cublasAPI is the part of cuBLAS this package uses.
type cublasAPI struct {
	lib         string
	create      func(h *uintptr) int32
	destroy     func(h uintptr) int32
	setStream   func(h, s uintptr) int32
	setMathMode func(h uintptr, mode int32) int32
	sgemm       func(h uintptr, ta, tb, m, n, k int32, alpha *float32, a uint64, lda int32, b uint64, ldb int32,
		beta *float32, c uint64, ldc int32) int32
	// sgemmStridedBatched is optional (nil when the library lacks it).
	sgemmStridedBatched func(h uintptr, ta, tb, m, n, k int32, alpha *float32, a uint64, lda int32, strideA int64,
		b uint64, ldb int32, strideB int64, beta *float32, c uint64, ldc int32, strideC int64, batch int32) int32
}

var cublasStatusNames = map[int]string{
	0:  "CUBLAS_STATUS_SUCCESS",
	1:  "CUBLAS_STATUS_NOT_INITIALIZED",
	3:  "CUBLAS_STATUS_ALLOC_FAILED",
	7:  "CUBLAS_STATUS_INVALID_VALUE",
	8:  "CUBLAS_STATUS_ARCH_MISMATCH",
	11: "CUBLAS_STATUS_MAPPING_ERROR",
	13: "CUBLAS_STATUS_EXECUTION_FAILED",
	14: "CUBLAS_STATUS_INTERNAL_ERROR",
	15: "CUBLAS_STATUS_NOT_SUPPORTED",
	16: "CUBLAS_STATUS_LICENSE_ERROR",
}

// CUBLASError is a failed cuBLAS call: the call and its cublasStatus_t.
type CUBLASError struct {
	Call   string
	Status int
}

func (e *CUBLASError) Error() string {
	name, ok := cublasStatusNames[e.Status]
	if !ok {
		name = fmt.Sprintf("CUBLAS_STATUS_%d", e.Status)
	}
	return fmt.Sprintf("%s: %s (%d)", e.Call, name, e.Status)
}

// BlasConfig configures NewBlas. The zero value is full float32 math.
type BlasConfig struct {
	// TF32 lets SGEMM use TF32 tensor cores (CUBLAS_TF32_TENSOR_OP_MATH,
	// compute capability 8.0 and later): inputs rounded to 10 mantissa
	// bits, several times faster, results no longer within float32
	// tolerance of the CPU engine. Off by default.
	TF32 bool
}

// Blas is a cuBLAS handle of one Context, bound to one Stream: its
// operations are queued on that stream in order with the kernels launched
// there.
type Blas struct {
	c     *Context
	api   *cublasAPI
	h     uintptr
	s     *Stream
	tf32  bool
	freed atomic.Bool
}

// NewBlas loads cuBLAS ($SCIBENCH_LIBCUBLAS, else libcublas.so.12, .so.11),
// creates a handle in c's (primary) context, binds it to s and sets the
// math mode: CUBLAS_DEFAULT_MATH, or CUBLAS_TF32_TENSOR_OP_MATH with
// cfg.TF32. Without the library the error wraps ErrNoCUBLAS.
func (c *Context) NewBlas(s *Stream, cfg BlasConfig) (*Blas, error) {
	if err := c.own("stream", s); err != nil {
		return nil, err
	}
	api, err := loadCUBLAS()
	if err != nil {
		return nil, fmt.Errorf("gpu: %s: %w", c.where(), err)
	}
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.exit()
	b := &Blas{c: c, api: api, s: s, tf32: cfg.TF32}
	fail := func(call string, r int32) error {
		return fmt.Errorf("%w: %s: %w", ErrCUBLAS, c.where(), &CUBLASError{Call: call, Status: int(r)})
	}
	if r := api.create(&b.h); r != cublasSuccess {
		return nil, fail("cublasCreate_v2", r)
	}
	mode := int32(cublasDefaultMath)
	if cfg.TF32 {
		mode = cublasTF32TensorOps
	}
	if r := api.setStream(b.h, s.h); r != cublasSuccess {
		api.destroy(b.h)
		return nil, fail("cublasSetStream_v2", r)
	}
	if r := api.setMathMode(b.h, mode); r != cublasSuccess {
		api.destroy(b.h)
		return nil, fail("cublasSetMathMode", r)
	}
	c.track(b)
	return b, nil
}

func (b *Blas) context() *Context { return b.c }
func (b *Blas) isFreed() bool     { return b.freed.Load() }

// TF32 reports whether the handle uses TF32 tensor cores.
func (b *Blas) TF32() bool { return b.tf32 }

// Destroy destroys the handle (cublasDestroy_v2). Idempotent, and a no-op
// after Context.Close.
func (b *Blas) Destroy() error { return b.c.free(b) }

func (b *Blas) markFreed() bool { return b.freed.CompareAndSwap(false, true) }

func (b *Blas) release(c *Context) error {
	if r := b.api.destroy(b.h); r != cublasSuccess {
		return fmt.Errorf("%w: %s: %w", ErrCUBLAS, c.where(), &CUBLASError{Call: "cublasDestroy_v2", Status: int(r)})
	}
	return nil
}

// matrixSpan returns how many float32s a row-major rows×cols matrix with
// leading dimension ld occupies.
func matrixSpan(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// with the arguments of blas.Sgemm (the CPU engine's): op(A) is m×k, op(B)
// k×n, C m×n, and lda, ldb, ldc are row strides in elements. It is queued
// on the handle's stream. Each matrix starts at the start of its buffer;
// SgemmPtr takes addresses inside buffers.
//
// cuBLAS is column-major. A row-major matrix with stride ld is the same
// memory as its transpose stored column-major with the same ld, so
// row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: Sgemm calls
// cublasSgemm_v2 with A and B swapped, m and n swapped and the same
// transpose flags, and nothing is copied.
//
// Sizes and strides are checked against the buffers before cuBLAS is
// called; errors name the device and the shapes.
func (b *Blas) Sgemm(transA, transB bool, m, n, k int, alpha float32, a *Buffer, lda int, bm *Buffer, ldb int,
	beta float32, cm *Buffer, ldc int) error {
	return b.SgemmPtr(transA, transB, m, n, k, alpha, ptrOf(a), lda, ptrOf(bm), ldb, beta, ptrOf(cm), ldc)
}

// ptrOf is the address of the start of b (Null for nil).
func ptrOf(b *Buffer) Ptr {
	if b == nil {
		return Null
	}
	return b.At(0)
}

// SgemmPtr is Sgemm on matrices that start at addresses inside buffers
// (Buffer.At): each matrix must lie within its buffer.
func (b *Blas) SgemmPtr(transA, transB bool, m, n, k int, alpha float32, a Ptr, lda int, bm Ptr, ldb int,
	beta float32, cm Ptr, ldc int) error {
	return b.gemm(false, transA, transB, m, n, k, alpha, a, lda, 0, bm, ldb, 0, beta, cm, ldc, 0, 1)
}

const maxInt32 = 1<<31 - 1

// StridedBatched reports whether the loaded libcublas has
// cublasSgemmStridedBatched (SgemmStridedBatched fails with
// ErrNoStridedBatched otherwise).
func (b *Blas) StridedBatched() bool { return b.api.sgemmStridedBatched != nil }

// SgemmStridedBatched computes, for every i < batch, C_i = alpha·op(A_i)·
// op(B_i) + beta·C_i with row-major matrices as SgemmPtr does, where A_i
// starts strideA elements after A_{i−1} (likewise B and C): one call of
// cublasSgemmStridedBatched, operands swapped for column-major cuBLAS as
// in Sgemm. A stride of 0 shares one A (or B) among all entries; the
// entries of C must not overlap (strideC at least the span of one C when
// batch > 1). Every matrix of every entry is checked to lie within its
// buffer before cuBLAS is called. Without the symbol in libcublas the
// error wraps ErrNoStridedBatched and nothing is queued.
func (b *Blas) SgemmStridedBatched(transA, transB bool, m, n, k int, alpha float32, a Ptr, lda, strideA int,
	bm Ptr, ldb, strideB int, beta float32, cm Ptr, ldc, strideC int, batch int) error {
	return b.gemm(true, transA, transB, m, n, k, alpha, a, lda, strideA, bm, ldb, strideB, beta, cm, ldc, strideC, batch)
}

// gemm checks and queues one SGEMM (batched: cublasSgemmStridedBatched
// over batch entries; else cublasSgemm_v2, strides 0 and batch 1).
func (b *Blas) gemm(batched, transA, transB bool, m, n, k int, alpha float32, a Ptr, lda, strideA int,
	bm Ptr, ldb, strideB int, beta float32, cm Ptr, ldc, strideC int, batch int) error {
	c := b.c
	if err := c.own("cuBLAS handle", b); err != nil {
		return err
	}
	if err := c.own("stream of the cuBLAS handle", b.s); err != nil {
		return err
	}
	shape := fmt.Sprintf("sgemm transA=%v transB=%v m=%d n=%d k=%d lda=%d ldb=%d ldc=%d", transA, transB, m, n, k, lda, ldb, ldc)
	if batched {
		shape = fmt.Sprintf("sgemm strided batched transA=%v transB=%v m=%d n=%d k=%d lda=%d ldb=%d ldc=%d strides %d,%d,%d batch=%d",
			transA, transB, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batch)
	}
	bad := func(why string) error { return fmt.Errorf("gpu: %s: %s: %s", c.where(), shape, why) }
	if batched && b.api.sgemmStridedBatched == nil {
		return fmt.Errorf("%w: %s: %s: %s has no cublasSgemmStridedBatched", ErrNoStridedBatched, c.where(), shape, b.api.lib)
	}
	if m < 0 || n < 0 || k < 0 || batch < 0 {
		return bad("negative size")
	}
	if strideA < 0 || strideB < 0 || strideC < 0 {
		return bad("negative stride")
	}
	if m > maxInt32 || n > maxInt32 || k > maxInt32 || lda > maxInt32 || ldb > maxInt32 || ldc > maxInt32 || batch > maxInt32 {
		if batched {
			return bad("size, leading dimension or batch above 2³¹−1")
		}
		return bad("size or stride above 2³¹−1")
	}
	ar, ac := m, k // A as stored (row-major)
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	switch {
	case lda < max(1, ac):
		return bad(fmt.Sprintf("lda %d < %d columns of A", lda, ac))
	case ldb < max(1, bc):
		return bad(fmt.Sprintf("ldb %d < %d columns of B", ldb, bc))
	case ldc < max(1, n):
		return bad(fmt.Sprintf("ldc %d < %d columns of C", ldc, n))
	}
	if span := matrixSpan(m, n, ldc); batch > 1 && span > 0 && strideC < span {
		return bad(fmt.Sprintf("strideC %d < %d elements of one C: the entries of C overlap", strideC, span))
	}
	if batch == 0 {
		return nil
	}
	for _, x := range []struct {
		name       string
		p          Ptr
		rows, cols int
		ld, stride int
	}{{"A", a, ar, ac, lda, strideA}, {"B", bm, br, bc, ldb, strideB}, {"C", cm, m, n, ldc, strideC}} {
		span := matrixSpan(x.rows, x.cols, x.ld)
		if span == 0 && x.p.b == nil {
			continue // empty matrices may be nil
		}
		if err := c.own("matrix "+x.name, x.p.b); err != nil {
			return err
		}
		if x.p.off < 0 || x.p.off%4 != 0 {
			return bad(fmt.Sprintf("%s starts at byte %d of its buffer (not a float32 boundary)", x.name, x.p.off))
		}
		if span == 0 {
			continue
		}
		last := (batch - 1) * x.stride // elements before the last entry's matrix
		if x.stride != 0 && last/x.stride != batch-1 || last > (1<<62)/4 {
			return bad(fmt.Sprintf("stride of %s overflows", x.name))
		}
		if need := 4 * (last + span); x.p.off+need > x.p.b.size {
			if !batched {
				return bad(fmt.Sprintf("%s (%d×%d, ld %d) needs %d bytes, the buffer has %d from byte %d",
					x.name, x.rows, x.cols, x.ld, need, x.p.b.size-x.p.off, x.p.off))
			}
			return bad(fmt.Sprintf("%s of entry %d (%d×%d, ld %d, from element %d) needs %d bytes, the buffer has %d from byte %d",
				x.name, batch-1, x.rows, x.cols, x.ld, last, need, x.p.b.size-x.p.off, x.p.off))
		}
	}
	if m == 0 || n == 0 {
		return nil
	}
	opA, opB := int32(cublasOpN), int32(cublasOpN)
	if transA {
		opA = cublasOpT
	}
	if transB {
		opB = cublasOpT
	}
	addr := func(p Ptr) uint64 {
		if p.b == nil {
			return 0
		}
		return p.b.ptr + uint64(p.off)
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	scal := [2]float32{alpha, beta}
	var pin runtime.Pinner
	pin.Pin(&scal[0])
	defer pin.Unpin()
	var r int32
	call := "cublasSgemm_v2"
	if batched {
		call = "cublasSgemmStridedBatched"
		r = b.api.sgemmStridedBatched(b.h, opB, opA, int32(n), int32(m), int32(k), &scal[0],
			addr(bm), int32(ldb), int64(strideB), addr(a), int32(lda), int64(strideA),
			&scal[1], addr(cm), int32(ldc), int64(strideC), int32(batch))
	} else {
		r = b.api.sgemm(b.h, opB, opA, int32(n), int32(m), int32(k), &scal[0], addr(bm), int32(ldb), addr(a), int32(lda),
			&scal[1], addr(cm), int32(ldc))
	}
	if r != cublasSuccess {
		return fmt.Errorf("%w: %s: %s: %w", ErrCUBLAS, c.where(), shape, &CUBLASError{Call: call, Status: int(r)})
	}
	return nil
}
