package tensor

import "fmt"

// Tensor is a float32 tensor over a flat slice. Shape and Strides are in
// elements; a contiguous row-major tensor has Strides[i] = prod(Shape[i+1:]).
// Operations are destination-first and never allocate once their
// destinations exist.
type Tensor struct {
	Data    []float32
	Shape   []int
	Strides []int
}

// New returns a zeroed contiguous tensor of the given shape.
func New(shape ...int) *Tensor {
	t := &Tensor{}
	t.Reshape(shape...)
	t.Data = make([]float32, t.Len())
	return t
}

// FromSlice wraps data (not copied) as a contiguous tensor of the given shape.
// It panics when len(data) does not match the shape (a programmer error).
func FromSlice(data []float32, shape ...int) *Tensor {
	t := &Tensor{Data: data}
	t.Reshape(shape...)
	if t.Len() != len(data) {
		panic(fmt.Sprintf("tensor: %d elements for shape %v", len(data), shape))
	}
	return t
}

// Len is the number of elements the shape describes.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Reshape sets the shape and contiguous strides, reusing the shape and
// stride slices when their capacity allows. It does not touch Data.
func (t *Tensor) Reshape(shape ...int) {
	if cap(t.Shape) >= len(shape) {
		t.Shape = t.Shape[:len(shape)]
	} else {
		t.Shape = make([]int, len(shape))
	}
	copy(t.Shape, shape)
	if cap(t.Strides) >= len(shape) {
		t.Strides = t.Strides[:len(shape)]
	} else {
		t.Strides = make([]int, len(shape))
	}
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		t.Strides[i] = s
		s *= shape[i]
	}
}

// Ensure makes t hold exactly the given shape, growing Data only when its
// capacity is too small. It returns t for chaining. Layers call it on their
// reused output buffers, so steady-state steps do not allocate.
func (t *Tensor) Ensure(shape ...int) *Tensor {
	t.Reshape(shape...)
	n := t.Len()
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	} else {
		t.Data = t.Data[:n]
	}
	return t
}
