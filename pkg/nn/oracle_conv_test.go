package nn

// Forward values and gradients of Conv2D, MaxPool2D, BatchNorm (train
// mode, batch statistics), Upsample2D and Concat against gorgonia, used
// only here as an independent reference. DESIGN.md lists what gorgonia gets
// wrong; none of it is used: its GlobalAveragePool2D (no gradient) is not
// compared, BatchNorm only in its default training mode, and every
// reduction is a full Sum.

import (
	"fmt"
	"math/rand/v2"
	"testing"

	_ "go4.org/unsafe/assume-no-moving-gc"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/scibench/scibench/pkg/tensor"
)

// gT4 makes a float64 4-D node from a tensor.
func gT4(g *G.ExprGraph, name string, x *tensor.Tensor) *G.Node {
	s := x.Shape
	return G.NewTensor(g, gt.Float64, 4, G.WithShape(s...), G.WithName(name),
		G.WithValue(gt.New(gt.WithShape(s...), gt.WithBacking(to64(x.Data)))))
}

// gCost is Σ y⊙r.
func gCost(g *G.ExprGraph, y *G.Node, r *tensor.Tensor) *G.Node {
	return G.Must(G.Sum(G.Must(G.HadamardProd(y, gT4(g, "r", r)))))
}

func TestOracleConv2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for i, c := range convCases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			a := NewArena()
			l, err := NewConv2D(a, "c", Conv2DConfig{InChannels: c.cin, OutChannels: c.cout, Kernel: c.k, Stride: c.s, Padding: c.p})
			if err != nil {
				t.Fatal(err)
			}
			l.flipMode = 2*(i%2) - 1 // both stride-1 dx paths
			a.Build()
			fillRand(rng, a.Data, 1)
			x := randTensor(rng, c.n, c.cin, c.h, c.w)
			y := l.Forward(x, true)
			r := randTensor(rng, y.Shape...)
			dx := l.Backward(r)

			g := G.NewGraph()
			gx := gT4(g, "x", x)
			gw := gT4(g, "w", tensor.FromSlice(l.W.W, c.cout, c.cin, c.k, c.k))
			gy, err := G.Conv2d(gx, gw, gt.Shape{c.k, c.k}, []int{c.p, c.p}, []int{c.s, c.s}, []int{1, 1})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint([]int(gy.Shape())) != fmt.Sprint(y.Shape) {
				t.Fatalf("shape %v, gorgonia %v", y.Shape, gy.Shape())
			}
			runGraph(t, g, gCost(g, gy, r), gx, gw)
			near64(t, "conv y", y.Data, gData(t, gy.Value()), 1e-5)
			near64(t, "conv dx", dx.Data, gGrad(t, gx), 1e-5)
			near64(t, "conv dW", l.W.G, gGrad(t, gw), 1e-5)
		})
	}
}

func TestOracleMaxPool2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, c := range poolCases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			l, err := NewMaxPool2D(MaxPool2DConfig{Kernel: c.k, Stride: c.s, Padding: c.p})
			if err != nil {
				t.Fatal(err)
			}
			x := distinctTensor(rng, c.n, c.c, c.h, c.w)
			y := l.Forward(x, true)
			r := randTensor(rng, y.Shape...)
			dx := l.Backward(r)

			g := G.NewGraph()
			gx := gT4(g, "x", x)
			gy, err := G.MaxPool2D(gx, gt.Shape{c.k, c.k}, []int{c.p, c.p}, []int{c.s, c.s})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint([]int(gy.Shape())) != fmt.Sprint(y.Shape) {
				t.Fatalf("shape %v, gorgonia %v", y.Shape, gy.Shape())
			}
			runGraph(t, g, gCost(g, gy, r), gx)
			near64(t, "maxpool y", y.Data, gData(t, gy.Value()), 1e-6)
			near64(t, "maxpool dx", dx.Data, gGrad(t, gx), 1e-6)
		})
	}
}

func TestOracleBatchNormTrain(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, shape := range [][]int{{4, 3, 3, 5}, {2, 2, 4, 4}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			a := NewArena()
			l, err := NewBatchNorm(a, "bn", BatchNormConfig{Channels: shape[1]})
			if err != nil {
				t.Fatal(err)
			}
			a.Build()
			fillRand(rng, l.Gamma.W, 1)
			fillRand(rng, l.Beta.W, 1)
			x := randTensor(rng, shape...)
			y := l.Forward(x, true)
			r := randTensor(rng, shape...)
			dx := l.Backward(r)

			// gorgonia's scale and bias are full-shape tensors: broadcast
			// γ and β over N, H, W.
			full := func(p []float32) *tensor.Tensor {
				f := tensor.New(shape...)
				hw := shape[2] * shape[3]
				for i := range f.Data {
					f.Data[i] = p[(i/hw)%shape[1]]
				}
				return f
			}
			g := G.NewGraph()
			gx := gT4(g, "x", x)
			gs, gb := gT4(g, "scale", full(l.Gamma.W)), gT4(g, "bias", full(l.Beta.W))
			gy, _, _, _, err := G.BatchNorm(gx, gs, gb, 0.1, 1e-5)
			if err != nil {
				t.Fatal(err)
			}
			runGraph(t, g, gCost(g, gy, r), gx)
			near64(t, "batchnorm y", y.Data, gData(t, gy.Value()), 1e-4)
			near64(t, "batchnorm dx", dx.Data, gGrad(t, gx), 1e-4)
		})
	}
}

func TestOracleUpsample2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	l, err := NewUpsample2D(2)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rng, 2, 3, 3, 5)
	y := l.Forward(x, true)
	r := randTensor(rng, y.Shape...)
	dx := l.Backward(r)
	g := G.NewGraph()
	gx := gT4(g, "x", x)
	gy, err := G.Upsample2D(gx, 2)
	if err != nil {
		t.Fatal(err)
	}
	runGraph(t, g, gCost(g, gy, r), gx)
	near64(t, "upsample y", y.Data, gData(t, gy.Value()), 1e-6)
	near64(t, "upsample dx", dx.Data, gGrad(t, gx), 1e-6)
}

func TestOracleConcat(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	l := NewConcat()
	a, b := randTensor(rng, 2, 3, 4, 5), randTensor(rng, 2, 2, 4, 5)
	y := l.Forward2(a, b)
	r := randTensor(rng, y.Shape...)
	da, db := l.Backward2(r)
	g := G.NewGraph()
	ga, gb := gT4(g, "a", a), gT4(g, "b", b)
	gy, err := G.Concat(1, ga, gb)
	if err != nil {
		t.Fatal(err)
	}
	runGraph(t, g, gCost(g, gy, r), ga, gb)
	near64(t, "concat y", y.Data, gData(t, gy.Value()), 0)
	near64(t, "concat da", da.Data, gGrad(t, ga), 0)
	near64(t, "concat db", db.Data, gGrad(t, gb), 0)
}
