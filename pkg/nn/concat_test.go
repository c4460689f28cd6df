package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/tensor"
)

// pairLayer adapts a two-input layer to Layer for gradCheck: x's first
// ca channels are the first input, the rest the second.
type pairLayer struct {
	ca       int
	fwd      func(a, b *tensor.Tensor) *tensor.Tensor
	bwd      func(dy *tensor.Tensor) (da, db *tensor.Tensor)
	a, b, dx tensor.Tensor
}

func (p *pairLayer) split(x *tensor.Tensor, a, b *tensor.Tensor) {
	n, c, inner := x.Shape[0], x.Shape[1], x.Len()/(x.Shape[0]*x.Shape[1])
	sa := append([]int(nil), x.Shape...)
	sa[1] = p.ca
	sb := append([]int(nil), x.Shape...)
	sb[1] = c - p.ca
	a.Ensure(sa...)
	b.Ensure(sb...)
	for i := 0; i < n; i++ {
		xi := x.Data[i*c*inner : (i+1)*c*inner]
		copy(a.Data[i*p.ca*inner:], xi[:p.ca*inner])
		copy(b.Data[i*(c-p.ca)*inner:], xi[p.ca*inner:])
	}
}

func (p *pairLayer) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	p.split(x, &p.a, &p.b)
	return p.fwd(&p.a, &p.b)
}

func (p *pairLayer) Backward(dy *tensor.Tensor) *tensor.Tensor {
	da, db := p.bwd(dy)
	n, ca, cb := da.Shape[0], da.Shape[1], db.Shape[1]
	inner := da.Len() / (n * ca)
	s := append([]int(nil), da.Shape...)
	s[1] = ca + cb
	dx := p.dx.Ensure(s...)
	for i := 0; i < n; i++ {
		di := dx.Data[i*(ca+cb)*inner : (i+1)*(ca+cb)*inner]
		copy(di, da.Data[i*ca*inner:(i+1)*ca*inner])
		for j, v := range db.Data[i*cb*inner : (i+1)*cb*inner] {
			di[ca*inner+j] += v
		}
	}
	return dx
}

func TestConcat(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	l := NewConcat()
	a, b := randTensor(rng, 2, 3, 4, 5), randTensor(rng, 2, 2, 4, 5)
	y := l.Forward2(a, b)
	if y.Shape[1] != 5 {
		t.Fatalf("shape %v", y.Shape)
	}
	for n := 0; n < 2; n++ {
		for c := 0; c < 5; c++ {
			for i := 0; i < 20; i++ {
				var want float32
				if c < 3 {
					want = a.Data[(n*3+c)*20+i]
				} else {
					want = b.Data[(n*2+c-3)*20+i]
				}
				if got := y.Data[(n*5+c)*20+i]; got != want {
					t.Fatalf("y[%d][%d][%d] = %g, want %g", n, c, i, got, want)
				}
			}
		}
	}
	gradCheck(t, &pairLayer{ca: 3, fwd: l.Forward2, bwd: l.Backward2}, nil, randTensor(rng, 2, 5, 3, 3), true)
	gradCheck(t, &pairLayer{ca: 1, fwd: l.Forward2, bwd: l.Backward2}, nil, randTensor(rng, 3, 4, 1, 2), true)
}

func TestAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	l := NewAdd()
	a, b := randTensor(rng, 2, 3, 4), randTensor(rng, 2, 3, 4)
	y := l.Forward2(a, b)
	for i := range y.Data {
		if y.Data[i] != a.Data[i]+b.Data[i] {
			t.Fatalf("y[%d] = %g, want %g", i, y.Data[i], a.Data[i]+b.Data[i])
		}
	}
	gradCheck(t, &pairLayer{ca: 2, fwd: l.Forward2, bwd: l.Backward2}, nil, randTensor(rng, 3, 4, 2, 3), true)
}
