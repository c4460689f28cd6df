// Package blas provides the two BLAS kernels the numerical engine needs,
// single-precision matrix-matrix (Sgemm) and matrix-vector (Sgemv) products
// on row-major matrices, with either operand optionally transposed.
//
// Two back ends implement them, chosen at build time:
//
//   - OpenBLAS through a small cgo shim (cblas_sgemm, cblas_sgemv with
//     CblasRowMajor), built with the tag openblas when cgo is on. The
//     Makefile sets the tag when `pkg-config --exists openblas` succeeds.
//     Each call is a single cgo call on the caller's slices: no copies, no
//     allocation.
//   - A pure-Go fallback otherwise (including CGO_ENABLED=0), roughly 10x
//     slower on large products: with one thread (the default) a serial
//     cache-blocked kernel over gonum's assembly Saxpy/Sdot that allocates
//     nothing; with more, gonum's parallel SGEMM (which allocates per call).
//
// Every call checks its dimensions, strides and slice lengths in Go first.
// A bad lda or a short slice is a programmer error and panics with a
// message naming the argument ("blas: Sgemm: len(A)=12 too short ..."),
// rather than letting C read or write outside the slice.
//
// # Threads
//
// Data-parallel training runs one worker process per core, so the OpenBLAS
// build sets one BLAS thread at package init (overriding
// OPENBLAS_NUM_THREADS). SetThreads changes it for the whole process and
// Threads reports it; the fallback likewise defaults to 1 and switches to
// gonum's goroutine-parallel SGEMM above 1. Backend says which
// implementation is linked,
// e.g. "openblas 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Cooperlake
// MAX_THREADS=64" or "gonum".
//
// # Usage
//
//	// C[64×1000] = X[64×5270] · W[5270×1000]
//	blas.Sgemm(false, false, 64, 1000, 5270, 1, x, 5270, w, 1000, 0, c, 1000)
//	// dW += Xᵀ · dY
//	blas.Sgemm(true, false, 5270, 1000, 64, 1, x, 5270, dy, 1000, 1, dw, 1000)
//
// Build with OpenBLAS:
//
//	go test -tags openblas ./pkg/blas
package blas
