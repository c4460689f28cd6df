//go:build !amd64

package nn

var useSIMD = false

// noKernel is never called: useSIMD is false on this platform.
func noKernel(y, x *float32, n int, k *simdConsts) int { return 0 }

var (
	sigmoidKernel vecKernel = noKernel
	tanhKernel    vecKernel = noKernel
	seluKernel    vecKernel = noKernel
)
