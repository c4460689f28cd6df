package optim

import "golang.org/x/sys/cpu"

// simdWidth is the number of float32 lanes of one assembly iteration.
const simdWidth = 8

// useSIMD selects the AVX2 loops; tests turn it off to compare with the Go
// loops.
var useSIMD = cpu.X86.HasAVX2

// adamSIMD and adamaxSIMD apply one update to the first n elements (n a
// multiple of simdWidth) of the arrays starting at w, g, m and v/u.
//
//go:noescape
func adamSIMD(w, grad, m, v *float32, n int, k *adamKernel)

//go:noescape
func adamaxSIMD(w, grad, m, u *float32, n int, k *adamaxKernel)
