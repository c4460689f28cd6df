//go:build !openblas || !cgo

package blas

// Block sizes of the serial kernel: a kBlock×nBlock panel of B (128 KiB to
// 256 KiB) stays in L2 while every row of A streams past it, and one row
// segment of C stays in L1.
const (
	kBlock  = 128
	nBlock  = 512
	ntBlock = 128 // rows of B per panel when B is transposed
)

// serialSgemm is C = alpha·op(A)·op(B) + beta·C on the calling goroutine,
// cache-blocked, with gonum's assembly Saxpy and Sdot as inner kernels. It
// allocates nothing. Arguments are already checked and m, n, k > 0.
func serialSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if beta != 1 {
		scaleC(m, n, beta, c, ldc)
	}
	if alpha == 0 {
		return
	}
	switch {
	case !transB:
		// c[i, j0:j1] += alpha·op(A)[i,p] · b[p, j0:j1]
		for j0 := 0; j0 < n; j0 += nBlock {
			nb := min(nBlock, n-j0)
			for p0 := 0; p0 < k; p0 += kBlock {
				p1 := min(p0+kBlock, k)
				for i := range m {
					ci := c[i*ldc+j0 : i*ldc+j0+nb]
					for p := p0; p < p1; p++ {
						var av float32
						if transA {
							av = a[p*lda+i]
						} else {
							av = a[i*lda+p]
						}
						impl.Saxpy(nb, alpha*av, b[p*ldb+j0:p*ldb+j0+nb], 1, ci, 1)
					}
				}
			}
		}
	case !transA:
		// c[i,j] += alpha·a[i, p0:p1]·b[j, p0:p1]
		for j0 := 0; j0 < n; j0 += ntBlock {
			j1 := min(j0+ntBlock, n)
			for p0 := 0; p0 < k; p0 += 2 * kBlock {
				kb := min(2*kBlock, k-p0)
				for i := range m {
					ai := a[i*lda+p0 : i*lda+p0+kb]
					ci := c[i*ldc : i*ldc+n]
					for j := j0; j < j1; j++ {
						ci[j] += alpha * impl.Sdot(kb, ai, 1, b[j*ldb+p0:j*ldb+p0+kb], 1)
					}
				}
			}
		}
	default:
		// Both transposed (rare): c[i,j] += alpha·Σ_p a[p,i]·b[j,p], a strided.
		for i := range m {
			ai := a[i : (k-1)*lda+i+1]
			for j := range n {
				c[i*ldc+j] += alpha * impl.Sdot(k, ai, lda, b[j*ldb:j*ldb+k], 1)
			}
		}
	}
}
