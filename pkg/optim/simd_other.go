//go:build !amd64

package optim

const simdWidth = 8

var useSIMD = false

func adamSIMD(w, grad, m, v *float32, n int, k *adamKernel) {
	panic("optim: no SIMD kernels on this platform")
}

func adamaxSIMD(w, grad, m, u *float32, n int, k *adamaxKernel) {
	panic("optim: no SIMD kernels on this platform")
}
