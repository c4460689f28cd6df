package tensor

import "fmt"

// Element-wise operations accept any valid strided layout. When every
// operand is contiguous they run one flat loop over Data; otherwise they walk
// the index space with an odometer on the stack. The destination may be the
// same tensor as an input (dst = a + b with dst == a is fine); partial
// overlaps between different views give unspecified results. None of them
// allocates unless it returns an error.

type binaryKind int

const (
	opAdd binaryKind = iota
	opSub
	opMul
)

// Add sets dst = a + b element-wise. All three must have the same shape.
func Add(dst, a, b *Tensor) error { return binary("Add", opAdd, dst, a, b) }

// Sub sets dst = a − b element-wise. All three must have the same shape.
func Sub(dst, a, b *Tensor) error { return binary("Sub", opSub, dst, a, b) }

// Mul sets dst = a ⊙ b (element-wise product). All three must have the same
// shape.
func Mul(dst, a, b *Tensor) error { return binary("Mul", opMul, dst, a, b) }

func binary(name string, kind binaryKind, dst, a, b *Tensor) error {
	if err := checkSame(name, dst, a, b); err != nil {
		return err
	}
	if dst.IsContiguous() && a.IsContiguous() && b.IsContiguous() {
		n := dst.Len()
		d, x, y := dst.Data[:n], a.Data[:n], b.Data[:n]
		switch kind {
		case opAdd:
			for i := range d {
				d[i] = x[i] + y[i]
			}
		case opSub:
			for i := range d {
				d[i] = x[i] - y[i]
			}
		case opMul:
			for i := range d {
				d[i] = x[i] * y[i]
			}
		}
		return nil
	}
	d, x, y := dst.Data, a.Data, b.Data
	switch kind {
	case opAdd:
		walk(dst.Shape, dst.Strides, a.Strides, b.Strides, func(i, j, k int) { d[i] = x[j] + y[k] })
	case opSub:
		walk(dst.Shape, dst.Strides, a.Strides, b.Strides, func(i, j, k int) { d[i] = x[j] - y[k] })
	case opMul:
		walk(dst.Shape, dst.Strides, a.Strides, b.Strides, func(i, j, k int) { d[i] = x[j] * y[k] })
	}
	return nil
}

// Scale sets dst = s·a. dst and a must have the same shape.
func Scale(dst, a *Tensor, s float32) error {
	if err := checkSame("Scale", dst, a); err != nil {
		return err
	}
	if dst.IsContiguous() && a.IsContiguous() {
		n := dst.Len()
		d, x := dst.Data[:n], a.Data[:n]
		for i := range d {
			d[i] = s * x[i]
		}
		return nil
	}
	d, x := dst.Data, a.Data
	walk(dst.Shape, dst.Strides, a.Strides, a.Strides, func(i, j, _ int) { d[i] = s * x[j] })
	return nil
}

// AXPY sets y = alpha·x + y. x and y must have the same shape.
func AXPY(y *Tensor, alpha float32, x *Tensor) error {
	if err := checkSame("AXPY", y, x); err != nil {
		return err
	}
	if y.IsContiguous() && x.IsContiguous() {
		n := y.Len()
		d, s := y.Data[:n], x.Data[:n]
		for i := range d {
			d[i] += alpha * s[i]
		}
		return nil
	}
	d, s := y.Data, x.Data
	walk(y.Shape, y.Strides, x.Strides, x.Strides, func(i, j, _ int) { d[i] += alpha * s[j] })
	return nil
}

// Fill sets every element of dst to v.
func Fill(dst *Tensor, v float32) error {
	if err := dst.Validate(); err != nil {
		return fmt.Errorf("tensor: Fill: %w", err)
	}
	if dst.IsContiguous() {
		d := dst.Data[:dst.Len()]
		for i := range d {
			d[i] = v
		}
		return nil
	}
	d := dst.Data
	walk(dst.Shape, dst.Strides, dst.Strides, dst.Strides, func(i, _, _ int) { d[i] = v })
	return nil
}

// Copy sets dst = src element-wise. Both must have the same shape; their
// strides may differ (Copy of a non-contiguous view into a contiguous
// tensor packs it).
func Copy(dst, src *Tensor) error {
	if err := checkSame("Copy", dst, src); err != nil {
		return err
	}
	if dst.IsContiguous() && src.IsContiguous() {
		n := dst.Len()
		copy(dst.Data[:n], src.Data[:n])
		return nil
	}
	d, s := dst.Data, src.Data
	walk(dst.Shape, dst.Strides, src.Strides, src.Strides, func(i, j, _ int) { d[i] = s[j] })
	return nil
}

// Sum returns the sum of a's elements, accumulated in float64 and rounded
// once to float32.
func Sum(a *Tensor) (float32, error) {
	if err := a.Validate(); err != nil {
		return 0, fmt.Errorf("tensor: Sum: %w", err)
	}
	if a.IsContiguous() {
		x := a.Data[:a.Len()]
		var s0, s1, s2, s3 float64
		i := 0
		for ; i+4 <= len(x); i += 4 {
			s0 += float64(x[i])
			s1 += float64(x[i+1])
			s2 += float64(x[i+2])
			s3 += float64(x[i+3])
		}
		for ; i < len(x); i++ {
			s0 += float64(x[i])
		}
		return float32((s0 + s1) + (s2 + s3)), nil
	}
	var s float64
	x := a.Data
	walk(a.Shape, a.Strides, a.Strides, a.Strides, func(i, _, _ int) { s += float64(x[i]) })
	return float32(s), nil
}

// Dot returns Σ a⊙b, accumulated in float64 and rounded once to float32. a
// and b must have the same shape.
func Dot(a, b *Tensor) (float32, error) {
	if err := checkSame("Dot", a, b); err != nil {
		return 0, err
	}
	if a.IsContiguous() && b.IsContiguous() {
		n := a.Len()
		x, y := a.Data[:n], b.Data[:n]
		var s0, s1, s2, s3 float64
		i := 0
		for ; i+4 <= n; i += 4 {
			s0 += float64(x[i]) * float64(y[i])
			s1 += float64(x[i+1]) * float64(y[i+1])
			s2 += float64(x[i+2]) * float64(y[i+2])
			s3 += float64(x[i+3]) * float64(y[i+3])
		}
		for ; i < n; i++ {
			s0 += float64(x[i]) * float64(y[i])
		}
		return float32((s0 + s1) + (s2 + s3)), nil
	}
	var s float64
	x, y := a.Data, b.Data
	walk(a.Shape, a.Strides, b.Strides, b.Strides, func(i, j, _ int) { s += float64(x[i]) * float64(y[j]) })
	return float32(s), nil
}

// walk calls f with the Data offsets of one element in each of up to three
// tensors of the given shape, for every element in row-major order. Pass a
// stride slice twice when fewer tensors take part. Ranks above MaxRank are
// rejected by Validate before any caller gets here.
func walk(shape, s0, s1, s2 []int, f func(o0, o1, o2 int)) {
	for _, d := range shape {
		if d == 0 {
			return
		}
	}
	r := len(shape)
	if r == 0 {
		f(0, 0, 0)
		return
	}
	var idx [MaxRank]int
	last := r - 1
	n, i0, i1, i2 := shape[last], s0[last], s1[last], s2[last]
	o0, o1, o2 := 0, 0, 0
	for {
		for j := range n {
			f(o0+j*i0, o1+j*i1, o2+j*i2)
		}
		k := last - 1
		for ; k >= 0; k-- {
			idx[k]++
			o0 += s0[k]
			o1 += s1[k]
			o2 += s2[k]
			if idx[k] < shape[k] {
				break
			}
			o0 -= idx[k] * s0[k]
			o1 -= idx[k] * s1[k]
			o2 -= idx[k] * s2[k]
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}
