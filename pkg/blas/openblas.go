//go:build openblas && cgo

package blas

/*
#cgo pkg-config: openblas
#include <cblas.h>
*/
import "C"

import (
	"strings"
	"unsafe"
)

// The cgo build runs one OpenBLAS thread per worker process: data-parallel
// workers already occupy the cores, and OpenBLAS threads competing with them
// slow every worker down. The package sets this at init, overriding
// OPENBLAS_NUM_THREADS; call SetThreads to change it.
func init() { C.openblas_set_num_threads(1) }

func trans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// sgemm is one cgo call. The caller has checked every dimension, stride and
// length, and m, n, k > 0, so the slices are non-empty.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	C.cblas_sgemm(C.CblasRowMajor, trans(transA), trans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func sgemv(tr bool, m, n int, alpha float32, a []float32, lda int, x []float32, incx int, beta float32, y []float32, incy int) {
	C.cblas_sgemv(C.CblasRowMajor, trans(tr),
		C.blasint(m), C.blasint(n), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&x[0])), C.blasint(incx), C.float(beta),
		(*C.float)(unsafe.Pointer(&y[0])), C.blasint(incy))
}

// SetThreads sets the number of OpenBLAS threads (openblas_set_num_threads);
// values below 1 mean 1. It affects the whole process.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(max(1, n))) }

// Threads returns the current number of OpenBLAS threads (1 unless changed
// with SetThreads).
func Threads() int { return int(C.openblas_get_num_threads()) }

// Backend names the implementation in use: "openblas " followed by
// OpenBLAS's build configuration (version, architecture, thread limit).
func Backend() string {
	cfg := strings.TrimSpace(C.GoString(C.openblas_get_config()))
	cfg = strings.TrimPrefix(cfg, "OpenBLAS ")
	return "openblas " + cfg
}
