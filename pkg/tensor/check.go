package tensor

import (
	"errors"
	"fmt"
	"unsafe"
)

// Errors returned by the operations, wrapped with the operation's name and
// the shapes involved; test with errors.Is.
var (
	// ErrShape reports operands whose shapes do not fit the operation.
	ErrShape = errors.New("tensor: shape mismatch")
	// ErrLayout reports a tensor whose Shape, Strides and Data disagree:
	// different ranks, negative sizes or strides, or Data too short.
	ErrLayout = errors.New("tensor: invalid layout")
	// ErrRange reports a slice bound outside the first axis.
	ErrRange = errors.New("tensor: index out of range")
	// ErrAlias reports a destination that overlaps an input where the
	// operation cannot allow it (MatMul, Transpose2D).
	ErrAlias = errors.New("tensor: destination overlaps an input")
)

// MaxRank is the largest rank the strided (non-contiguous) code paths
// support.
const MaxRank = 8

// Validate reports whether t's Shape, Strides and Data describe a readable
// tensor: equal ranks (at most MaxRank when not contiguous), non-negative
// sizes and strides, and Data long enough for every element.
func (t *Tensor) Validate() error {
	if t == nil {
		return fmt.Errorf("%w: nil tensor", ErrLayout)
	}
	if len(t.Shape) != len(t.Strides) {
		return fmt.Errorf("%w: shape %v with strides %v", ErrLayout, t.Shape, t.Strides)
	}
	for i, d := range t.Shape {
		if d < 0 || t.Strides[i] < 0 {
			return fmt.Errorf("%w: shape %v strides %v", ErrLayout, t.Shape, t.Strides)
		}
	}
	if s := t.span(); len(t.Data) < s {
		return fmt.Errorf("%w: shape %v strides %v needs %d elements, Data has %d", ErrLayout, t.Shape, t.Strides, s, len(t.Data))
	}
	if len(t.Shape) > MaxRank && !t.IsContiguous() {
		return fmt.Errorf("%w: rank %d > %d is only supported contiguous", ErrLayout, len(t.Shape), MaxRank)
	}
	return nil
}

// span is the number of Data elements the layout reaches (assumes
// non-negative strides).
func (t *Tensor) span() int {
	s := 1
	for i, d := range t.Shape {
		if d == 0 {
			return 0
		}
		s += (d - 1) * t.Strides[i]
	}
	return s
}

// IsContiguous reports whether t is row-major with no gaps, so that its
// elements are Data[:t.Len()] in order. Axes of size 1 may have any stride.
func (t *Tensor) IsContiguous() bool {
	s := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] != 1 && t.Strides[i] != s {
			return false
		}
		s *= t.Shape[i]
	}
	return true
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool {
	if len(a.Shape) != len(b.Shape) {
		return false
	}
	for i, d := range a.Shape {
		if b.Shape[i] != d {
			return false
		}
	}
	return true
}

// CheckSameShape returns nil when a and b are valid tensors of identical
// shape, else an error wrapping ErrShape or ErrLayout.
func CheckSameShape(a, b *Tensor) error {
	return checkSame("CheckSameShape", a, b)
}

func checkSame(op string, ts ...*Tensor) error {
	for i, t := range ts {
		if err := t.Validate(); err != nil {
			return fmt.Errorf("tensor: %s operand %d: %w", op, i, err)
		}
	}
	for i := 1; i < len(ts); i++ {
		if !SameShape(ts[0], ts[i]) {
			return fmt.Errorf("%w: %s: operand 0 %v vs operand %d %v", ErrShape, op, ts[0].Shape, i, ts[i].Shape)
		}
	}
	return nil
}

// overlaps reports whether two tensors' Data ranges share memory.
func overlaps(a, b *Tensor) bool {
	sa, sb := a.span(), b.span()
	if sa == 0 || sb == 0 {
		return false
	}
	pa := uintptr(unsafe.Pointer(unsafe.SliceData(a.Data)))
	pb := uintptr(unsafe.Pointer(unsafe.SliceData(b.Data)))
	const f = unsafe.Sizeof(float32(0))
	return pa < pb+uintptr(sb)*f && pb < pa+uintptr(sa)*f
}
