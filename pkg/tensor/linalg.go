package tensor

import (
	"fmt"

	"github.com/scibench/scibench/pkg/blas"
)

// matrix returns the rows, columns and row stride of a 2-D tensor whose
// rows are contiguous (column stride 1, or any stride for one column).
func matrix(op, name string, t *Tensor) (rows, cols, ld int, err error) {
	if err := t.Validate(); err != nil {
		return 0, 0, 0, fmt.Errorf("tensor: %s %s: %w", op, name, err)
	}
	if len(t.Shape) != 2 {
		return 0, 0, 0, fmt.Errorf("%w: %s: %s has shape %v, want 2-D", ErrShape, op, name, t.Shape)
	}
	rows, cols = t.Shape[0], t.Shape[1]
	if cols > 1 && t.Strides[1] != 1 {
		return 0, 0, 0, fmt.Errorf("%w: %s: %s strides %v, want unit column stride", ErrLayout, op, name, t.Strides)
	}
	ld = t.Strides[0]
	if rows <= 1 || cols == 0 {
		ld = max(ld, cols, 1) // the row stride is never used
	}
	if ld < max(1, cols) {
		return 0, 0, 0, fmt.Errorf("%w: %s: %s row stride %d < %d columns", ErrLayout, op, name, ld, cols)
	}
	return rows, cols, ld, nil
}

// MatMul sets dst = op(a)·op(b), where op(x) is x or xᵀ as transA and transB
// say. a, b and dst are 2-D with unit column stride; their row strides are
// passed to BLAS as leading dimensions, so row slices of wider matrices work
// without copying. dst must already have shape m×n and must not overlap a or
// b.
func MatMul(dst, a, b *Tensor, transA, transB bool) error {
	return Gemm(dst, 1, a, transA, b, transB, 0)
}

// Gemm sets dst = alpha·op(a)·op(b) + beta·dst (see MatMul). With beta 1 it
// accumulates, as backward passes do for weight gradients.
func Gemm(dst *Tensor, alpha float32, a *Tensor, transA bool, b *Tensor, transB bool, beta float32) error {
	ar, ac, lda, err := matrix("MatMul", "a", a)
	if err != nil {
		return err
	}
	br, bc, ldb, err := matrix("MatMul", "b", b)
	if err != nil {
		return err
	}
	m, n, ldc, err := matrix("MatMul", "dst", dst)
	if err != nil {
		return err
	}
	am, ak := ar, ac
	if transA {
		am, ak = ac, ar
	}
	bk, bn := br, bc
	if transB {
		bk, bn = bc, br
	}
	if ak != bk || am != m || bn != n {
		return fmt.Errorf("%w: MatMul: op(a) %dx%d · op(b) %dx%d into dst %v", ErrShape, am, ak, bk, bn, dst.Shape)
	}
	if overlaps(dst, a) || overlaps(dst, b) {
		return fmt.Errorf("%w: MatMul", ErrAlias)
	}
	blas.Sgemm(transA, transB, m, n, ak, alpha, a.Data, lda, b.Data, ldb, beta, dst.Data, ldc)
	return nil
}

// transposeBlock is the tile edge of the cache-blocked transpose.
const transposeBlock = 32

// Transpose2D sets dst = srcᵀ for a 2-D src of shape r×c; dst must have shape
// c×r and must not overlap src. Both may have any strides.
func Transpose2D(dst, src *Tensor) error {
	if err := dst.Validate(); err != nil {
		return fmt.Errorf("tensor: Transpose2D dst: %w", err)
	}
	if err := src.Validate(); err != nil {
		return fmt.Errorf("tensor: Transpose2D src: %w", err)
	}
	if len(src.Shape) != 2 || len(dst.Shape) != 2 || dst.Shape[0] != src.Shape[1] || dst.Shape[1] != src.Shape[0] {
		return fmt.Errorf("%w: Transpose2D: src %v into dst %v", ErrShape, src.Shape, dst.Shape)
	}
	if overlaps(dst, src) {
		return fmt.Errorf("%w: Transpose2D", ErrAlias)
	}
	r, c := src.Shape[0], src.Shape[1]
	sr, sc := src.Strides[0], src.Strides[1]
	dr, dc := dst.Strides[0], dst.Strides[1]
	s, d := src.Data, dst.Data
	for i0 := 0; i0 < r; i0 += transposeBlock {
		i1 := min(i0+transposeBlock, r)
		for j0 := 0; j0 < c; j0 += transposeBlock {
			j1 := min(j0+transposeBlock, c)
			if sc == 1 && dc == 1 {
				for i := i0; i < i1; i++ {
					for jj, v := range s[i*sr+j0 : i*sr+j1] {
						d[(j0+jj)*dr+i] = v
					}
				}
				continue
			}
			for i := i0; i < i1; i++ {
				for j := j0; j < j1; j++ {
					d[j*dr+i*dc] = s[i*sr+j*sc]
				}
			}
		}
	}
	return nil
}

// Slice returns a view of rows [start, end) along the first axis: a new
// Tensor header sharing t's Data, with the same strides. It allocates the
// header; use SliceInto in loops.
func (t *Tensor) Slice(start, end int) (*Tensor, error) {
	v := &Tensor{}
	if err := t.SliceInto(v, start, end); err != nil {
		return nil, err
	}
	return v, nil
}

// SliceInto makes dst a view of rows [start, end) of t along the first axis,
// reusing dst's Shape and Strides slices, so it does not allocate once dst
// has held a tensor of the same rank. dst.Data is capped at the view's
// extent, so growing dst with Ensure reallocates instead of overwriting t.
func (t *Tensor) SliceInto(dst *Tensor, start, end int) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("tensor: Slice: %w", err)
	}
	if len(t.Shape) == 0 {
		return fmt.Errorf("%w: Slice of a scalar", ErrShape)
	}
	if start < 0 || end < start || end > t.Shape[0] {
		return fmt.Errorf("%w: Slice [%d:%d] of first axis %d", ErrRange, start, end, t.Shape[0])
	}
	r := len(t.Shape)
	if cap(dst.Shape) < r {
		dst.Shape = make([]int, r)
	}
	if cap(dst.Strides) < r {
		dst.Strides = make([]int, r)
	}
	dst.Shape = dst.Shape[:r]
	dst.Strides = dst.Strides[:r]
	copy(dst.Shape, t.Shape)
	copy(dst.Strides, t.Strides)
	dst.Shape[0] = end - start
	off := start * t.Strides[0]
	n := dst.span()
	if n == 0 {
		off = min(off, len(t.Data))
	}
	dst.Data = t.Data[off : off+n : off+n]
	return nil
}

// MatVec sets y = op(a)·x for a 2-D a (unit column stride) and 1-D x and y
// of any stride; op(a) is a or aᵀ. y must not overlap a or x.
func MatVec(y, a, x *Tensor, trans bool) error {
	m, n, lda, err := matrix("MatVec", "a", a)
	if err != nil {
		return err
	}
	for _, v := range []struct {
		name string
		t    *Tensor
	}{{"x", x}, {"y", y}} {
		if err := v.t.Validate(); err != nil {
			return fmt.Errorf("tensor: MatVec %s: %w", v.name, err)
		}
		if len(v.t.Shape) != 1 {
			return fmt.Errorf("%w: MatVec: %s has shape %v, want 1-D", ErrShape, v.name, v.t.Shape)
		}
	}
	lx, ly := n, m
	if trans {
		lx, ly = m, n
	}
	if x.Shape[0] != lx || y.Shape[0] != ly {
		return fmt.Errorf("%w: MatVec: op(a) %dx%d · x %v into y %v", ErrShape, ly, lx, x.Shape, y.Shape)
	}
	if overlaps(y, a) || overlaps(y, x) {
		return fmt.Errorf("%w: MatVec", ErrAlias)
	}
	if ly == 0 {
		return nil
	}
	if lx == 0 {
		return Fill(y, 0)
	}
	blas.Sgemv(trans, m, n, 1, a.Data, lda, x.Data, max(1, x.Strides[0]), 0, y.Data, max(1, y.Strides[0]))
	return nil
}
