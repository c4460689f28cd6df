package tensor

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func randT(rng *rand.Rand, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = rng.Float32()*2 - 1
	}
	return t
}

// transposedView returns a non-contiguous r×c view of a fresh c×r tensor.
func transposedView(rng *rand.Rand, r, c int) *Tensor {
	base := randT(rng, c, r)
	return &Tensor{Data: base.Data, Shape: []int{r, c}, Strides: []int{1, r}}
}

// at reads element (i, j) of a 2-D tensor through its strides.
func at(t *Tensor, i, j int) float32 { return t.Data[i*t.Strides[0]+j*t.Strides[1]] }

func TestElementwiseVsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := range 50 {
		r, c := 1+rng.IntN(9), 1+rng.IntN(9)
		mk := func() *Tensor {
			if rng.IntN(2) == 0 {
				return transposedView(rng, r, c)
			}
			return randT(rng, r, c)
		}
		a, b := mk(), mk()
		dst := mk()
		type op struct {
			name string
			run  func() error
			ref  func(x, y, d float32) float32
		}
		const s = float32(-1.75)
		ops := []op{
			{"Add", func() error { return Add(dst, a, b) }, func(x, y, _ float32) float32 { return x + y }},
			{"Sub", func() error { return Sub(dst, a, b) }, func(x, y, _ float32) float32 { return x - y }},
			{"Mul", func() error { return Mul(dst, a, b) }, func(x, y, _ float32) float32 { return x * y }},
			{"Scale", func() error { return Scale(dst, a, s) }, func(x, _, _ float32) float32 { return s * x }},
			{"AXPY", func() error { return AXPY(dst, s, a) }, func(x, _, d float32) float32 { return d + s*x }},
			{"Copy", func() error { return Copy(dst, b) }, func(_, y, _ float32) float32 { return y }},
			{"Fill", func() error { return Fill(dst, s) }, func(_, _, _ float32) float32 { return s }},
		}
		for _, o := range ops {
			want := make([]float32, r*c)
			for i := range r {
				for j := range c {
					want[i*c+j] = o.ref(at(a, i, j), at(b, i, j), at(dst, i, j))
				}
			}
			if err := o.run(); err != nil {
				t.Fatalf("trial %d %s: %v", trial, o.name, err)
			}
			for i := range r {
				for j := range c {
					if got := at(dst, i, j); got != want[i*c+j] {
						t.Fatalf("trial %d %s (%dx%d, strides %v %v %v): (%d,%d)=%v want %v",
							trial, o.name, r, c, dst.Strides, a.Strides, b.Strides, i, j, got, want[i*c+j])
					}
				}
			}
		}
	}
}

func TestElementwiseRank3Strided(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	// A 3-D view that skips every other element of the last axis.
	base := randT(rng, 3, 4, 10)
	v := &Tensor{Data: base.Data, Shape: []int{3, 4, 5}, Strides: []int{40, 10, 2}}
	dst := New(3, 4, 5)
	if err := Copy(dst, v); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for j := range 4 {
			for k := range 5 {
				if got, want := dst.Data[i*20+j*5+k], base.Data[i*40+j*10+2*k]; got != want {
					t.Fatalf("(%d,%d,%d)=%v want %v", i, j, k, got, want)
				}
			}
		}
	}
	s, err := Sum(v)
	if err != nil {
		t.Fatal(err)
	}
	var ref float64
	for _, x := range dst.Data {
		ref += float64(x)
	}
	if math.Abs(float64(s)-ref) > 1e-5 {
		t.Fatalf("Sum of strided view %v want %v", s, ref)
	}
}

func TestSumDotVsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 1, 3, 4, 5, 17, 1000, 4097} {
		a, b := randT(rng, n), randT(rng, n)
		var s, d float64
		for i := range n {
			s += float64(a.Data[i])
			d += float64(a.Data[i]) * float64(b.Data[i])
		}
		gs, err := Sum(a)
		if err != nil {
			t.Fatal(err)
		}
		gd, err := Dot(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(gs)-s) > 1e-6*(1+math.Abs(s)) || math.Abs(float64(gd)-d) > 1e-6*(1+math.Abs(d)) {
			t.Fatalf("n=%d: Sum %v want %v, Dot %v want %v", n, gs, s, gd, d)
		}
	}
	// Dot of non-contiguous views.
	a, b := transposedView(rng, 7, 5), randT(rng, 7, 5)
	var d float64
	for i := range 7 {
		for j := range 5 {
			d += float64(at(a, i, j)) * float64(at(b, i, j))
		}
	}
	if gd, err := Dot(a, b); err != nil || math.Abs(float64(gd)-d) > 1e-5 {
		t.Fatalf("strided Dot %v (%v) want %v", gd, err, d)
	}
}

func TestMatMulVsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for trial := range 100 {
		m, n, k := 1+rng.IntN(20), 1+rng.IntN(20), 1+rng.IntN(20)
		tA, tB := rng.IntN(2) == 1, rng.IntN(2) == 1
		// Stored operands are column windows of wider matrices (row stride >
		// columns), as a slice of a larger buffer would be.
		window := func(r, c int) *Tensor {
			pad := rng.IntN(3)
			w := randT(rng, r, c+pad)
			return &Tensor{Data: w.Data, Shape: []int{r, c}, Strides: []int{c + pad, 1}}
		}
		var a, b *Tensor
		if tA {
			a = window(k, m)
		} else {
			a = window(m, k)
		}
		if tB {
			b = window(n, k)
		} else {
			b = window(k, n)
		}
		dst := window(m, n)
		alpha, beta := float32(1.5), float32(-0.5)
		want := make([]float64, m*n)
		prod := make([]float64, m*n)
		for i := range m {
			for j := range n {
				var s float64
				for p := range k {
					var av, bv float32
					if tA {
						av = at(a, p, i)
					} else {
						av = at(a, i, p)
					}
					if tB {
						bv = at(b, j, p)
					} else {
						bv = at(b, p, j)
					}
					s += float64(av) * float64(bv)
				}
				prod[i*n+j] = s
				want[i*n+j] = float64(alpha)*s + float64(beta)*float64(at(dst, i, j))
			}
		}
		if err := Gemm(dst, alpha, a, tA, b, tB, beta); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for i := range m {
			for j := range n {
				if d := math.Abs(float64(at(dst, i, j)) - want[i*n+j]); d > 1e-4 {
					t.Fatalf("trial %d tA=%v tB=%v %dx%dx%d: (%d,%d)=%v want %v", trial, tA, tB, m, n, k, i, j, at(dst, i, j), want[i*n+j])
				}
			}
		}
		// MatMul overwrites (beta 0): dst = op(a)·op(b), even over NaNs.
		for i := range m {
			for j := range n {
				dst.Data[i*dst.Strides[0]+j] = float32(math.NaN())
			}
		}
		if err := MatMul(dst, a, b, tA, tB); err != nil {
			t.Fatal(err)
		}
		for i := range m {
			for j := range n {
				if d := math.Abs(float64(at(dst, i, j)) - prod[i*n+j]); !(d <= 1e-4) {
					t.Fatalf("trial %d: MatMul (%d,%d)=%v want %v", trial, i, j, at(dst, i, j), prod[i*n+j])
				}
			}
		}
	}
}

func TestMatVecVsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for trial := range 60 {
		m, n := rng.IntN(12), rng.IntN(12)
		trans := rng.IntN(2) == 1
		a := randT(rng, m, n)
		lx, ly := n, m
		if trans {
			lx, ly = m, n
		}
		// x is a strided view (every other element); y is contiguous.
		xb := randT(rng, 2*lx+1)
		x := &Tensor{Data: xb.Data, Shape: []int{lx}, Strides: []int{2}}
		y := randT(rng, ly)
		if err := MatVec(y, a, x, trans); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for i := range ly {
			var s float64
			for j := range lx {
				var av float32
				if trans {
					av = a.Data[j*n+i]
				} else {
					av = a.Data[i*n+j]
				}
				s += float64(av) * float64(x.Data[2*j])
			}
			if math.Abs(float64(y.Data[i])-s) > 1e-5 {
				t.Fatalf("trial %d trans=%v %dx%d: y[%d]=%v want %v", trial, trans, m, n, i, y.Data[i], s)
			}
		}
	}
	if err := MatVec(New(3), New(3, 4), New(3), false); !errors.Is(err, ErrShape) {
		t.Fatalf("MatVec shape mismatch: %v", err)
	}
}

func TestTranspose2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, rc := range [][2]int{{1, 1}, {3, 7}, {33, 65}, {64, 31}} {
		r, c := rc[0], rc[1]
		src := randT(rng, r, c)
		dst := New(c, r)
		if err := Transpose2D(dst, src); err != nil {
			t.Fatal(err)
		}
		for i := range r {
			for j := range c {
				if dst.Data[j*r+i] != src.Data[i*c+j] {
					t.Fatalf("%dx%d: (%d,%d) wrong", r, c, j, i)
				}
			}
		}
	}
}

func TestSliceIsAView(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	x := randT(rng, 10, 3, 4)
	v, err := x.Slice(2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !SameShape(v, New(3, 3, 4)) || !v.IsContiguous() {
		t.Fatalf("view shape %v strides %v", v.Shape, v.Strides)
	}
	for i := range v.Data {
		if v.Data[i] != x.Data[24+i] {
			t.Fatalf("view element %d differs", i)
		}
	}
	Fill(v, 7)
	if x.Data[24] != 7 || x.Data[24+35] != 7 || x.Data[23] == 7 || x.Data[60] == 7 {
		t.Fatal("Fill on the view did not write exactly the slice of the parent")
	}
	if cap(v.Data) != 36 {
		t.Fatalf("view capacity %d, want 36", cap(v.Data))
	}
	empty, err := x.Slice(10, 10)
	if err != nil || empty.Len() != 0 {
		t.Fatalf("empty slice: %v %v", empty, err)
	}
	for _, se := range [][2]int{{-1, 2}, {3, 2}, {0, 11}} {
		if _, err := x.Slice(se[0], se[1]); !errors.Is(err, ErrRange) {
			t.Fatalf("Slice%v: err %v, want ErrRange", se, err)
		}
	}
}

func TestShapeErrors(t *testing.T) {
	a, b, c := New(2, 3), New(3, 2), New(2, 3)
	for name, err := range map[string]error{
		"Add":   Add(c, a, b),
		"Sub":   Sub(c, b, a),
		"Mul":   Mul(b, a, c),
		"Scale": Scale(b, a, 2),
		"AXPY":  AXPY(b, 1, a),
		"Copy":  Copy(b, a),
		"Check": CheckSameShape(a, b),
	} {
		if !errors.Is(err, ErrShape) {
			t.Errorf("%s: err %v, want ErrShape", name, err)
		}
	}
	if _, err := Dot(a, b); !errors.Is(err, ErrShape) {
		t.Errorf("Dot: %v", err)
	}
	if err := MatMul(New(2, 2), a, a, false, false); !errors.Is(err, ErrShape) {
		t.Errorf("MatMul inner mismatch: %v", err)
	}
	if err := MatMul(New(2, 2), a, a, false, true); err != nil {
		t.Errorf("MatMul a·aᵀ: %v", err)
	}
	if err := MatMul(a, a, New(3, 3), false, false); !errors.Is(err, ErrAlias) {
		t.Errorf("MatMul in place: %v, want ErrAlias", err)
	}
	if err := Transpose2D(New(2, 3), a); !errors.Is(err, ErrShape) {
		t.Errorf("Transpose2D: %v", err)
	}
	short := &Tensor{Data: make([]float32, 5), Shape: []int{2, 3}, Strides: []int{3, 1}}
	if err := Fill(short, 1); !errors.Is(err, ErrLayout) {
		t.Errorf("short Data: %v, want ErrLayout", err)
	}
	if err := CheckSameShape(a, c); err != nil {
		t.Errorf("CheckSameShape equal: %v", err)
	}
}

func TestOpsDoNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	a, b, d := randT(rng, 64, 50), randT(rng, 64, 50), New(64, 50)
	tv := transposedView(rng, 64, 50)
	w, y, wt := randT(rng, 50, 30), New(64, 30), New(50, 64)
	view := &Tensor{}
	xv, yv := randT(rng, 50), New(64)
	var sink float32
	cases := map[string]func(){
		"Add":         func() { _ = Add(d, a, b) },
		"Sub":         func() { _ = Sub(d, a, b) },
		"Mul":         func() { _ = Mul(d, a, tv) },
		"Scale":       func() { _ = Scale(d, a, 0.5) },
		"AXPY":        func() { _ = AXPY(d, 0.5, tv) },
		"Fill":        func() { _ = Fill(d, 1) },
		"Copy":        func() { _ = Copy(d, tv) },
		"Sum":         func() { s, _ := Sum(tv); sink += s },
		"Dot":         func() { s, _ := Dot(a, b); sink += s },
		"MatMul":      func() { _ = MatMul(y, a, w, false, false) },
		"MatMulT":     func() { _ = Gemm(w, 1, a, true, y, false, 1) },
		"Transpose2D": func() { _ = Transpose2D(wt, a) },
		"SliceInto":   func() { _ = a.SliceInto(view, 3, 9) },
		"MatVec":      func() { _ = MatVec(yv, a, xv, false) },
	}
	for name, f := range cases {
		f() // warm up (SliceInto sizes view's header once)
		if n := testing.AllocsPerRun(50, f); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
	_ = sink
}
