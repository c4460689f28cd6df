package blas

import (
	"fmt"
	"math"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, where
// op(X) is X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb, ldc are
// the row strides of A, B and C as stored (A is stored m×k, or k×m when
// transA; B is stored k×n, or n×k when transB).
//
// Dimensions, strides and slice lengths are checked in Go before the
// backend runs, so a bad call panics with a message naming the argument
// instead of reading or writing outside a slice. When k is 0, C is scaled by
// beta (set to zero when beta is 0) without calling the backend.
//
// The reference loop is
//
//	for i < m, j < n: C[i*ldc+j] = alpha·Σ_p opA(i,p)·opB(p,j) + beta·C[i*ldc+j]
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkDims("Sgemm", m, n, k)
	if m == 0 || n == 0 {
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	a = a[:checkMatrix("Sgemm", "A", "lda", ar, ac, a, lda)]
	b = b[:checkMatrix("Sgemm", "B", "ldb", br, bc, b, ldb)]
	c = c[:checkMatrix("Sgemm", "C", "ldc", m, n, c, ldc)]
	if k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemv computes y = alpha·op(A)·x + beta·y on a row-major m×n matrix A with
// row stride lda. op(A) is A (x has n elements, y has m) or Aᵀ (x has m
// elements, y has n). incx and incy are the element strides of x and y and
// must not be zero; negative increments walk the vector backwards as in
// reference BLAS. Arguments are checked in Go as in Sgemm. When m or n is
// 0, y is left unchanged (the reference BLAS quick return).
func Sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, incx int, beta float32, y []float32, incy int) {
	checkDims("Sgemv", m, n, 0)
	if m == 0 || n == 0 {
		return
	}
	a = a[:checkMatrix("Sgemv", "A", "lda", m, n, a, lda)]
	lx, ly := n, m
	if trans {
		lx, ly = m, n
	}
	x = x[:checkVector("Sgemv", "x", "incx", lx, x, incx)]
	// Cut y to its exact extent: gonum's transposed Sgemv with beta 0 clears
	// all of y, not only the elements it owns.
	y = y[:checkVector("Sgemv", "y", "incy", ly, y, incy)]
	sgemv(trans, m, n, alpha, a, lda, x, incx, beta, y, incy)
}

// maxDim is the largest dimension or stride the 32-bit CBLAS interface
// accepts.
const maxDim = math.MaxInt32

func checkDims(fn string, m, n, k int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("blas: %s: negative dimension m=%d n=%d k=%d", fn, m, n, k))
	}
	if m > maxDim || n > maxDim || k > maxDim {
		panic(fmt.Sprintf("blas: %s: dimension too large m=%d n=%d k=%d", fn, m, n, k))
	}
}

// checkMatrix panics unless x can hold a rows×cols row-major matrix with row
// stride ld, and returns the length the matrix spans.
func checkMatrix(fn, name, ldName string, rows, cols int, x []float32, ld int) int {
	if ld < max(1, cols) || ld > maxDim {
		panic(fmt.Sprintf("blas: %s: %s=%d invalid for %s with %d columns", fn, ldName, ld, name, cols))
	}
	if rows == 0 || cols == 0 {
		return 0
	}
	need := (rows-1)*ld + cols
	if len(x) < need {
		panic(fmt.Sprintf("blas: %s: len(%s)=%d too short for %d×%d with %s=%d (need %d)", fn, name, len(x), rows, cols, ldName, ld, need))
	}
	return need
}

// checkVector panics unless x holds n elements at stride inc, and returns
// the length they span.
func checkVector(fn, name, incName string, n int, x []float32, inc int) int {
	if inc == 0 || inc > maxDim || inc < -maxDim {
		panic(fmt.Sprintf("blas: %s: %s=%d invalid", fn, incName, inc))
	}
	if inc < 0 {
		inc = -inc
	}
	if need := (n-1)*inc + 1; len(x) < need {
		panic(fmt.Sprintf("blas: %s: len(%s)=%d too short for %d elements with %s=%d (need %d)", fn, name, len(x), n, incName, inc, need))
	}
	return (n-1)*inc + 1
}

// scaleC sets C = beta·C (C = 0 when beta is 0, as BLAS does).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
