package nn

import "golang.org/x/sys/cpu"

// useSIMD selects the AVX2 kernels; tests turn it off to compare.
var useSIMD = cpu.X86.HasAVX2

//go:noescape
func sigmoidAVX2(y, x *float32, n int, k *simdConsts) int

//go:noescape
func tanhAVX2(y, x *float32, n int, k *simdConsts) int

//go:noescape
func seluAVX2(y, x *float32, n int, k *simdConsts) int

var (
	sigmoidKernel vecKernel = sigmoidAVX2
	tanhKernel    vecKernel = tanhAVX2
	seluKernel    vecKernel = seluAVX2
)
