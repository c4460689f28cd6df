package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/tensor"
)

func naiveConvTranspose(x *tensor.Tensor, w, bias []float32, cout, k int) *tensor.Tensor {
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	y := tensor.New(n, cout, h*k, wd*k)
	for b := 0; b < n; b++ {
		for o := 0; o < cout; o++ {
			for yy := 0; yy < h*k; yy++ {
				for xx := 0; xx < wd*k; xx++ {
					var acc float64
					if bias != nil {
						acc = float64(bias[o])
					}
					for c := 0; c < cin; c++ {
						acc += float64(x.Data[((b*cin+c)*h+yy/k)*wd+xx/k]) * float64(w[((c*cout+o)*k+yy%k)*k+xx%k])
					}
					y.Data[((b*cout+o)*h*k+yy)*wd*k+xx] = float32(acc)
				}
			}
		}
	}
	return y
}

func TestConvTranspose2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, c := range []struct{ n, cin, cout, h, w, k int }{{2, 3, 2, 3, 4, 2}, {1, 2, 3, 1, 1, 2}, {1, 2, 2, 2, 3, 3}} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			a := NewArena()
			l, err := NewConvTranspose2D(a, "up", ConvTranspose2DConfig{InChannels: c.cin, OutChannels: c.cout, Kernel: c.k, Bias: true})
			if err != nil {
				t.Fatal(err)
			}
			a.Build()
			fillRand(rng, a.Data, 1)
			x := randTensor(rng, c.n, c.cin, c.h, c.w)
			want := naiveConvTranspose(x, l.W.W, l.B.W, c.cout, c.k)
			assertClose(t, "y", l.Forward(x, true).Data, want.Data, 1e-5)
			gradCheck(t, l, []*Param{l.W, l.B}, x, true)
		})
	}
}
