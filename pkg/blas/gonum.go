//go:build !openblas || !cgo

package blas

import (
	"sync/atomic"

	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

var impl gonum.Implementation

// threads is the value passed to SetThreads. With 1 (the default) Sgemm runs
// the serial blocked kernel in serial.go on the calling goroutine; above 1
// it hands the product to gonum's SGEMM, which fans out over goroutines
// (bounded by GOMAXPROCS, not by this number) and allocates per call.
var threads atomic.Int64

func init() { threads.Store(1) }

func tr(t bool) gblas.Transpose {
	if t {
		return gblas.Trans
	}
	return gblas.NoTrans
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if threads.Load() == 1 {
		serialSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	impl.Sgemm(tr(transA), tr(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, incx int, beta float32, y []float32, incy int) {
	impl.Sgemv(tr(trans), m, n, alpha, a, lda, x, incx, beta, y, incy)
}

// SetThreads sets the BLAS thread count; values below 1 mean 1. In the
// gonum fallback, 1 selects the serial, allocation-free kernel and anything
// larger gonum's parallel SGEMM (which sizes its own goroutine pool).
func SetThreads(n int) { threads.Store(int64(max(1, n))) }

// Threads returns the thread count last set with SetThreads (1 by default).
func Threads() int { return int(threads.Load()) }

// Backend names the implementation in use: "gonum" in this build.
func Backend() string { return "gonum" }
