package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/tensor"
)

// distinctTensor returns a tensor whose values are a random permutation of
// a grid with spacing 0.05, so that finite differences (eps 1e-2) never
// change which element of a pooling window is the maximum.
func distinctTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i, p := range rng.Perm(len(t.Data)) {
		t.Data[i] = float32(p)*0.05 - float32(len(t.Data))*0.025
	}
	return t
}

func naiveMaxPool(x *tensor.Tensor, k, s, p int) *tensor.Tensor {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	y := tensor.New(n, c, oh, ow)
	for q := 0; q < n*c; q++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				best := math.Inf(-1)
				for i := 0; i < k; i++ {
					for j := 0; j < k; j++ {
						iy, ix := oy*s-p+i, ox*s-p+j
						if iy >= 0 && iy < h && ix >= 0 && ix < w {
							best = math.Max(best, float64(x.Data[(q*h+iy)*w+ix]))
						}
					}
				}
				y.Data[(q*oh+oy)*ow+ox] = float32(best)
			}
		}
	}
	return y
}

var poolCases = []struct{ n, c, h, w, k, s, p int }{
	{2, 3, 4, 4, 2, 2, 0},
	{1, 2, 5, 7, 2, 2, 0},
	{2, 2, 7, 6, 3, 2, 1},
	{1, 3, 8, 8, 3, 2, 1},
	{1, 1, 5, 5, 3, 1, 1},
}

func TestMaxPool2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range poolCases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			l, err := NewMaxPool2D(MaxPool2DConfig{Kernel: c.k, Stride: c.s, Padding: c.p})
			if err != nil {
				t.Fatal(err)
			}
			x := distinctTensor(rng, c.n, c.c, c.h, c.w)
			want := naiveMaxPool(x, c.k, c.s, c.p)
			got := l.Forward(x, true)
			if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
				t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
			}
			assertClose(t, "y", got.Data, want.Data, 0)
			gradCheck(t, l, nil, x, true)
		})
	}
}

func TestUpsample2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, s := range []int{1, 2, 3} {
		l, err := NewUpsample2D(s)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(rng, 2, 3, 3, 5)
		y := l.Forward(x, true)
		if fmt.Sprint(y.Shape) != fmt.Sprint([]int{2, 3, 3 * s, 5 * s}) {
			t.Fatalf("scale %d: shape %v", s, y.Shape)
		}
		for q := 0; q < 6; q++ {
			for i := 0; i < 3*s; i++ {
				for j := 0; j < 5*s; j++ {
					if got, want := y.Data[(q*3*s+i)*5*s+j], x.Data[(q*3+i/s)*5+j/s]; got != want {
						t.Fatalf("scale %d: y[%d][%d][%d] = %g, want %g", s, q, i, j, got, want)
					}
				}
			}
		}
		gradCheck(t, l, nil, x, true)
	}
}

func TestGlobalAvgPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	l := NewGlobalAvgPool()
	x := randTensor(rng, 3, 4, 3, 5)
	y := l.Forward(x, true)
	for p := 0; p < 12; p++ {
		var s float64
		for _, v := range x.Data[p*15 : (p+1)*15] {
			s += float64(v)
		}
		if math.Abs(float64(y.Data[p])-s/15) > 1e-6 {
			t.Errorf("y[%d] = %g, want %g", p, y.Data[p], s/15)
		}
	}
	gradCheck(t, l, nil, x, true)
}
