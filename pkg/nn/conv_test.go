package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/tensor"
)

// naiveConv is the reference loop of Conv2D (and, with the transposed
// weights, the check for everything built on im2col).
func naiveConv(x *tensor.Tensor, w, bias []float32, cout, k, s, p int) *tensor.Tensor {
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := (h+2*p-k)/s+1, (wd+2*p-k)/s+1
	y := tensor.New(n, cout, oh, ow)
	for b := 0; b < n; b++ {
		for o := 0; o < cout; o++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var acc float64
					if bias != nil {
						acc = float64(bias[o])
					}
					for c := 0; c < cin; c++ {
						for i := 0; i < k; i++ {
							for j := 0; j < k; j++ {
								iy, ix := oy*s-p+i, ox*s-p+j
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								acc += float64(w[((o*cin+c)*k+i)*k+j]) * float64(x.Data[((b*cin+c)*h+iy)*wd+ix])
							}
						}
					}
					y.Data[((b*cout+o)*oh+oy)*ow+ox] = float32(acc)
				}
			}
		}
	}
	return y
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %g, want %g", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

func fillRand(rng *rand.Rand, v []float32, scale float32) {
	for i := range v {
		v[i] = float32(rng.Float64()*2-1) * scale
	}
}

type convCase struct{ n, cin, cout, h, w, k, s, p int }

var convCases = []convCase{
	{2, 3, 4, 5, 5, 3, 1, 1},
	{1, 2, 3, 7, 6, 3, 2, 1},
	{2, 3, 2, 6, 7, 1, 1, 0},
	{2, 4, 3, 5, 5, 1, 2, 0},
	{1, 2, 3, 9, 8, 7, 2, 3},
	{3, 1, 2, 4, 5, 2, 2, 0},
	{1, 3, 2, 5, 6, 3, 3, 2},
	{2, 2, 3, 6, 5, 3, 1, 0},
	{1, 3, 2, 7, 6, 5, 1, 2},
	{1, 2, 2, 5, 4, 2, 1, 1},
	{2, 3, 3, 4, 7, 5, 1, 1},
}

func TestConv2DForwardMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range convCases {
		for _, tile := range []int{0, 1, 9} {
			bias := tile != 1
			t.Run(fmt.Sprintf("%+v/bias=%v/tile=%d", c, bias, tile), func(t *testing.T) {
				a := NewArena()
				l, err := NewConv2D(a, "c", Conv2DConfig{InChannels: c.cin, OutChannels: c.cout, Kernel: c.k, Stride: c.s, Padding: c.p, Bias: bias})
				if err != nil {
					t.Fatal(err)
				}
				l.maxTileCols = tile
				a.Build()
				fillRand(rng, a.Data, 1)
				x := randTensor(rng, c.n, c.cin, c.h, c.w)
				var b []float32
				if bias {
					b = l.B.W
				}
				want := naiveConv(x, l.W.W, b, c.cout, c.k, c.s, c.p)
				got := l.Forward(x, true)
				if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
					t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
				}
				assertClose(t, "y", got.Data, want.Data, 1e-5)
				// A second call on a different input reuses the buffers.
				x2 := randTensor(rng, c.n, c.cin, c.h, c.w)
				assertClose(t, "y2", l.Forward(x2, true).Data, naiveConv(x2, l.W.W, b, c.cout, c.k, c.s, c.p).Data, 1e-5)
			})
		}
	}
}

func TestConv2DGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range convCases {
		// tile: 0 one tile, 1 one output row per tile; flip: dx path
		for _, mode := range [][2]int{{0, -1}, {1, -1}, {0, 1}, {1, 1}} {
			tile, flip := mode[0], mode[1]
			t.Run(fmt.Sprintf("%+v/tile=%d/flip=%d", c, tile, flip), func(t *testing.T) {
				a := NewArena()
				l, err := NewConv2D(a, "c", Conv2DConfig{InChannels: c.cin, OutChannels: c.cout, Kernel: c.k, Stride: c.s, Padding: c.p, Bias: true})
				if err != nil {
					t.Fatal(err)
				}
				l.maxTileCols = tile
				l.flipMode = flip
				a.Build()
				fillRand(rng, a.Data, 0.5)
				gradCheck(t, l, []*Param{l.W, l.B}, randTensor(rng, c.n, c.cin, c.h, c.w), true)
			})
		}
	}
}

// Im2col followed by col2im must be the adjoint pair: <im2col(x), c> =
// <x, col2im(c)> for random x and c.
func TestIm2colAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range convCases {
		var g convGeom
		g.set(c.cin, c.h, c.w, c.k, c.k, c.s, c.s, c.p, c.p)
		x := make([]float32, c.cin*c.h*c.w)
		col := make([]float32, g.colRows()*g.oh*g.ow)
		fillRand(rng, x, 1)
		im2col(&g, x, col, 0, g.oh)
		r := make([]float32, len(col))
		fillRand(rng, r, 1)
		dx := make([]float32, len(x))
		col2im(&g, r, dx, 0, g.oh)
		var lhs, rhs float64
		for i := range col {
			lhs += float64(col[i]) * float64(r[i])
		}
		for i := range x {
			rhs += float64(x[i]) * float64(dx[i])
		}
		if math.Abs(lhs-rhs) > 1e-4*(1+math.Abs(lhs)) {
			t.Errorf("%+v: <im2col x, r> = %g, <x, col2im r> = %g", c, lhs, rhs)
		}
	}
}

func TestConv2DNoInputGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	mk := func(skip bool) (*Conv2D, *Arena) {
		a := NewArena()
		l, err := NewConv2D(a, "c", Conv2DConfig{InChannels: 2, OutChannels: 3, Kernel: 3, Padding: 1, Bias: true, NoInputGrad: skip})
		if err != nil {
			t.Fatal(err)
		}
		a.Build()
		for i := range a.Data {
			a.Data[i] = float32(i%7) * 0.1
		}
		return l, a
	}
	x, dy := randTensor(rng, 2, 2, 5, 4), randTensor(rng, 2, 3, 5, 4)
	l1, a1 := mk(false)
	l2, a2 := mk(true)
	l1.Forward(x, true)
	l2.Forward(x, true)
	if l1.Backward(dy) == nil {
		t.Fatal("dx is nil without NoInputGrad")
	}
	if dx := l2.Backward(dy); dx != nil {
		t.Fatal("dx is not nil with NoInputGrad")
	}
	assertClose(t, "grad", a2.Grad, a1.Grad, 1e-6)
}

func TestConfigErrors(t *testing.T) {
	a := NewArena()
	for _, c := range []Conv2DConfig{{}, {InChannels: 1, OutChannels: 1}, {InChannels: 1, OutChannels: 1, Kernel: 3, Padding: 3}, {InChannels: 1, OutChannels: 1, Kernel: 3, Stride: -1}} {
		if _, err := NewConv2D(a, "bad", c); !errors.Is(err, ErrLayerConfig) {
			t.Errorf("NewConv2D(%+v) error %v, want ErrLayerConfig", c, err)
		}
	}
	if _, err := NewMaxPool2D(MaxPool2DConfig{Kernel: 2, Padding: 2}); !errors.Is(err, ErrLayerConfig) {
		t.Errorf("maxpool error %v", err)
	}
	if _, err := NewUpsample2D(0); !errors.Is(err, ErrLayerConfig) {
		t.Errorf("upsample error %v", err)
	}
	if _, err := NewBatchNorm(a, "bn", BatchNormConfig{}); !errors.Is(err, ErrLayerConfig) {
		t.Errorf("batchnorm error %v", err)
	}
	if _, err := NewConvTranspose2D(a, "ct", ConvTranspose2DConfig{InChannels: 1}); !errors.Is(err, ErrLayerConfig) {
		t.Errorf("convtranspose error %v", err)
	}
	l, err := NewConv2D(a, "ok", Conv2DConfig{InChannels: 3, OutChannels: 4, Kernel: 3, Padding: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.OutputShape([]int{1, 2, 8, 8}); !errors.Is(err, ErrInputShape) {
		t.Errorf("OutputShape error %v, want ErrInputShape", err)
	}
	if s, err := l.OutputShape([]int{2, 3, 8, 7}); err != nil || fmt.Sprint(s) != "[2 4 8 7]" {
		t.Errorf("OutputShape = %v, %v", s, err)
	}
	if _, err := NewConcat().OutputShape([]int{1, 2, 3, 3}, []int{1, 2, 3, 4}); !errors.Is(err, ErrInputShape) {
		t.Errorf("concat error %v", err)
	}
	if _, err := NewAdd().OutputShape([]int{1, 2}, []int{1, 3}); !errors.Is(err, ErrInputShape) {
		t.Errorf("add error %v", err)
	}
}

// TestConv2DAllocs proves that a steady-state forward+backward step
// allocates nothing.
func TestConv2DAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []Conv2DConfig{
		{InChannels: 4, OutChannels: 8, Kernel: 3, Padding: 1, Bias: true},
		{InChannels: 8, OutChannels: 4, Kernel: 1},
		{InChannels: 4, OutChannels: 8, Kernel: 3, Stride: 2, Padding: 1},
	} {
		a := NewArena()
		l, err := NewConv2D(a, "c", c)
		if err != nil {
			t.Fatal(err)
		}
		l.flipMode = 1 // the stride-1 dx path through the flipped kernel, too
		a.Build()
		fillRand(rng, a.Data, 0.5)
		// 8×8 images keep gonum's fallback SGEMM serial (its parallel path
		// allocates); the OpenBLAS build allocates nothing at any size.
		x := randTensor(rng, 2, c.InChannels, 8, 8)
		dy := randTensor(rng, l.Forward(x, true).Shape...)
		l.Backward(dy)
		if n := testing.AllocsPerRun(20, func() {
			l.Forward(x, true)
			l.Backward(dy)
		}); n != 0 {
			t.Errorf("%+v: %v allocations per forward+backward, want 0", c, n)
		}
	}
}

// TestConv2DFusedAct checks the fused activation: ReLU must equal the conv
// followed by a ReLU layer exactly, and tanh passes gradCheck.
func TestConv2DFusedAct(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	mk := func(act Activation, tile int) (*Conv2D, *Arena) {
		a := NewArena()
		l, err := NewConv2D(a, "c", Conv2DConfig{InChannels: 2, OutChannels: 3, Kernel: 3, Padding: 1, Bias: true, Act: act})
		if err != nil {
			t.Fatal(err)
		}
		l.maxTileCols = tile
		a.Build()
		fillRand(rand.New(rand.NewPCG(1, 1)), a.Data, 0.5)
		return l, a
	}
	x, dy := randTensor(rng, 2, 2, 5, 6), randTensor(rng, 2, 3, 5, 6)
	for _, tile := range []int{0, 1} {
		fused, af := mk(ReLUAct, tile)
		plain, ap := mk(Linear, tile)
		fused.flipMode, plain.flipMode = 1, -1 // also: the two dx paths agree
		relu := NewReLU()
		assertClose(t, "fused relu y", fused.Forward(x, true).Data, relu.Forward(plain.Forward(x, true), true).Data, 0)
		assertClose(t, "fused relu dx", fused.Backward(dy).Data, plain.Backward(relu.Backward(dy)).Data, 1e-6)
		assertClose(t, "fused relu grads", af.Grad, ap.Grad, 1e-6)
		l, _ := mk(TanhAct, tile)
		gradCheck(t, l, []*Param{l.W, l.B}, x, true)
	}
}
