// Package tensor holds the float32 tensors of the numerical engine: a flat
// []float32 with a shape and strides (in elements), and destination-first
// operations on them that never allocate once their destinations exist.
//
// Operations validate their operands and return errors (wrapping ErrShape,
// ErrLayout, ErrRange or ErrAlias, with the operation and shapes in the
// message); they do not panic on mismatched shapes or short Data.
//
//   - Element-wise: Add, Sub, Mul (dst = a op b), Scale (dst = s·a),
//     AXPY (y += alpha·x), Fill, Copy. Any strides; a flat loop when all
//     operands are contiguous. dst may be the same tensor as an input.
//   - Reductions: Sum, Dot, accumulated in float64.
//   - Linear algebra: MatMul (dst = op(a)·op(b)), Gemm (with alpha and
//     beta) and MatVec (y = op(a)·x) through pkg/blas, on 2-D tensors with
//     unit column stride whose row strides become BLAS leading dimensions;
//     Transpose2D copies.
//   - Views: Slice and SliceInto take rows [start, end) of the first axis
//     without copying.
//   - Checks: Validate, IsContiguous, SameShape, CheckSameShape.
//
// # Usage
//
//	x := tensor.New(64, 5270)     // a batch
//	w := tensor.New(1000, 5270)   // weights stored out×in
//	y := tensor.New(64, 1000)
//	if err := tensor.MatMul(y, x, w, false, true); err != nil { // y = x·wᵀ
//		return err
//	}
//	var rows tensor.Tensor
//	if err := x.SliceInto(&rows, 0, 32); err != nil { // first 32 samples, shared
//		return err
//	}
//	_ = tensor.AXPY(w, -0.01, g) // w -= 0.01·g
package tensor
