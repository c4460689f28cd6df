package collective

import (
	"unsafe"

	"gonum.org/v1/gonum/blas/gonum"
)

// axpy is gonum's assembly SAXPY/DAXPY; with alpha = 1 it computes
// y[i] = x[i] + y[i], bitwise the same as the plain loop (1*x is exact and
// the kernels multiply then add, no fused multiply-add), about 4x faster.
var axpy gonum.Implementation

// Op is a reduction operator.
type Op int

// Reduction operators. OpAvg sums and then divides by the world size once,
// at the rank that owns each chunk, so every rank ends bitwise identical.
const (
	OpSum Op = iota
	OpAvg
	OpMax
)

func (o Op) String() string {
	switch o {
	case OpSum:
		return "sum"
	case OpAvg:
		return "avg"
	case OpMax:
		return "max"
	}
	return "op(?)"
}

func (o Op) valid() bool { return o >= OpSum && o <= OpMax }

// f32Bytes views a float32 slice as bytes without copying.
func f32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*4)
}

// f64Bytes views a float64 slice as bytes without copying.
func f64Bytes(f []float64) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*8)
}

func bytesF32(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func bytesF64(b []byte) []float64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// reduceBytes reduces src into dst (both views of elem-sized floats).
func reduceBytes(dst, src []byte, elem int, op Op) {
	if elem == 4 {
		reduceF32(bytesF32(dst), bytesF32(src), op)
	} else {
		reduceF64(bytesF64(dst), bytesF64(src), op)
	}
}

// scaleBytes divides every element of b by n (OpAvg at the chunk owner).
func scaleBytes(b []byte, elem, n int) {
	if elem == 4 {
		f := bytesF32(b)
		d := float32(n)
		for i := range f {
			f[i] /= d
		}
		return
	}
	f := bytesF64(b)
	d := float64(n)
	for i := range f {
		f[i] /= d
	}
}

// reduceF32 computes dst[i] = dst[i] (op) src[i].
func reduceF32(dst, src []float32, op Op) {
	src = src[:len(dst)]
	if op == OpMax {
		for i, v := range src {
			if v > dst[i] {
				dst[i] = v
			}
		}
		return
	}
	axpy.Saxpy(len(dst), 1, src, 1, dst, 1)
}

func reduceF64(dst, src []float64, op Op) {
	src = src[:len(dst)]
	if op == OpMax {
		for i, v := range src {
			if v > dst[i] {
				dst[i] = v
			}
		}
		return
	}
	axpy.Daxpy(len(dst), 1, src, 1, dst, 1)
}
