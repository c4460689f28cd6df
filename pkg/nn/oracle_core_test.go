package nn

// Forward values and gradients of Dense, the LSTM cell (unrolled over two
// steps) and the losses against gorgonia, used only here as an independent
// reference (DESIGN.md: compare only ops it computes correctly).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	_ "go4.org/unsafe/assume-no-moving-gc"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/scibench/scibench/pkg/tensor"
)

// gMat makes a float64 matrix node from row-major float32 data.
func gMat(g *G.ExprGraph, name string, data []float32, r, c int) *G.Node {
	return G.NewMatrix(g, gt.Float64, G.WithShape(r, c), G.WithName(name),
		G.WithValue(gt.New(gt.WithShape(r, c), gt.WithBacking(to64(data)))))
}

// gData reads a node's value (scalar or tensor) as float64.
func gData(t *testing.T, v G.Value) []float64 {
	t.Helper()
	if f, ok := v.Data().(float64); ok {
		return []float64{f}
	}
	d, ok := v.Data().([]float64)
	if !ok {
		t.Fatalf("gorgonia value of type %T", v.Data())
	}
	return d
}

func gGrad(t *testing.T, n *G.Node) []float64 {
	t.Helper()
	v, err := n.Grad()
	if err != nil {
		t.Fatalf("grad of %s: %v", n.Name(), err)
	}
	return gData(t, v)
}

func near64(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, gorgonia %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %g, gorgonia %g", what, i, got[i], want[i])
		}
	}
}

func runGraph(t *testing.T, g *G.ExprGraph, cost *G.Node, wrt ...*G.Node) {
	t.Helper()
	if _, err := G.Grad(cost, wrt...); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
}

func TestOracleDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 4; trial++ {
		n, in, out := 1+rng.IntN(5), 1+rng.IntN(9), 1+rng.IntN(9)
		a := NewArena()
		d := NewDense(a, "d", in, out, GlorotNormal, rng)
		a.Build()
		for i := range d.B.W {
			d.B.W[i] = float32(rng.NormFloat64())
		}
		x := randTensor(rng, n, in)
		r := randTensor(rng, n, out)
		y := d.Forward(x, true)
		dx := d.Backward(r)

		g := G.NewGraph()
		gx := gMat(g, "x", x.Data, n, in)
		gw := gMat(g, "w", d.W.W, in, out)
		gb := gMat(g, "b", d.B.W, 1, out)
		gr := gMat(g, "r", r.Data, n, out)
		ones := gMat(g, "ones", onesF32(n), n, 1)
		gy := G.Must(G.Add(G.Must(G.Mul(gx, gw)), G.Must(G.Mul(ones, gb))))
		cost := G.Must(G.Sum(G.Must(G.HadamardProd(gy, gr))))
		runGraph(t, g, cost, gx, gw, gb)
		near64(t, "dense y", y.Data, gData(t, gy.Value()), 1e-5)
		near64(t, "dense dx", dx.Data, gGrad(t, gx), 1e-5)
		near64(t, "dense dW", d.W.G, gGrad(t, gw), 1e-5)
		near64(t, "dense db", d.B.G, gGrad(t, gb), 1e-5)
	}
}

func onesF32(n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// block copies column block k (of 4) of a [rows, 4H] matrix.
func block(m []float32, rows, h, k int) []float32 {
	o := make([]float32, 0, rows*h)
	for r := 0; r < rows; r++ {
		o = append(o, m[r*4*h+k*h:r*4*h+(k+1)*h]...)
	}
	return o
}

// TestOracleLSTMCell unrolls a tanh/sigmoid LSTM over two steps in gorgonia
// (per-gate weight blocks, h0 = c0 = 0) and compares the last hidden state
// and every gradient.
func TestOracleLSTMCell(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const T = 2
	for trial := 0; trial < 3; trial++ {
		n, F, H := 1+rng.IntN(3), 1+rng.IntN(4), 1+rng.IntN(4)
		a := NewArena()
		l := NewLSTM(a, "l", DefaultLSTMConfig(F, H), rng)
		a.Build()
		for i := range l.B.W {
			l.B.W[i] += float32(rng.NormFloat64() * 0.3)
		}
		x := randTensor(rng, n, T, F)
		r := randTensor(rng, n, H)
		y := l.Forward(x, true)
		a.ZeroGrad()
		dx := l.Backward(r)

		g := G.NewGraph()
		var W, U, B [4]*G.Node
		ones := gMat(g, "ones", onesF32(n), n, 1)
		for k := 0; k < 4; k++ {
			W[k] = gMat(g, fmt.Sprintf("W%d", k), block(l.W.W, F, H, k), F, H)
			U[k] = gMat(g, fmt.Sprintf("U%d", k), block(l.U.W, H, H, k), H, H)
			B[k] = gMat(g, fmt.Sprintf("B%d", k), l.B.W[k*H:(k+1)*H], 1, H)
		}
		var xs [T]*G.Node
		var h, c *G.Node
		for s := 0; s < T; s++ {
			xt := make([]float32, 0, n*F)
			for i := 0; i < n; i++ {
				xt = append(xt, x.Data[(i*T+s)*F:(i*T+s+1)*F]...)
			}
			xs[s] = gMat(g, fmt.Sprintf("x%d", s), xt, n, F)
			var gates [4]*G.Node
			for k := 0; k < 4; k++ {
				z := G.Must(G.Add(G.Must(G.Mul(xs[s], W[k])), G.Must(G.Mul(ones, B[k]))))
				if h != nil {
					z = G.Must(G.Add(z, G.Must(G.Mul(h, U[k]))))
				}
				if k == 2 {
					gates[k] = G.Must(G.Tanh(z))
				} else {
					gates[k] = G.Must(G.Sigmoid(z))
				}
			}
			ig := G.Must(G.HadamardProd(gates[0], gates[2]))
			if c == nil {
				c = ig
			} else {
				c = G.Must(G.Add(G.Must(G.HadamardProd(gates[1], c)), ig))
			}
			h = G.Must(G.HadamardProd(gates[3], G.Must(G.Tanh(c))))
		}
		gr := gMat(g, "r", r.Data, n, H)
		cost := G.Must(G.Sum(G.Must(G.HadamardProd(h, gr))))
		wrt := []*G.Node{xs[0], xs[1]}
		for k := 0; k < 4; k++ {
			wrt = append(wrt, W[k], U[k], B[k])
		}
		runGraph(t, g, cost, wrt...)
		near64(t, "lstm h", y.Data, gData(t, h.Value()), 1e-5)
		for k := 0; k < 4; k++ {
			near64(t, fmt.Sprintf("lstm dW gate %d", k), block(l.W.G, F, H, k), gGrad(t, W[k]), 1e-4)
			near64(t, fmt.Sprintf("lstm dU gate %d", k), block(l.U.G, H, H, k), gGrad(t, U[k]), 1e-4)
			near64(t, fmt.Sprintf("lstm db gate %d", k), l.B.G[k*H:(k+1)*H], gGrad(t, B[k]), 1e-4)
		}
		for s := 0; s < T; s++ {
			want := gGrad(t, xs[s])
			got := make([]float32, 0, n*F)
			for i := 0; i < n; i++ {
				got = append(got, dx.Data[(i*T+s)*F:(i*T+s+1)*F]...)
			}
			near64(t, fmt.Sprintf("lstm dx step %d", s), got, want, 1e-4)
		}
	}
}

func TestOracleLosses(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n, k := 4, 3
	pred := randTensor(rng, n, k)
	target := randTensor(rng, n, k)
	prob := tensor.New(n, k)
	for i := range prob.Data {
		prob.Data[i] = float32(rng.Float64())
	}
	labels := []int{0, 2, 1, 2}
	onehot := make([]float32, n*k)
	for i, lab := range labels {
		onehot[i*k+lab] = 1
	}
	type lossFn func(g *G.ExprGraph, p *G.Node) *G.Node
	for _, c := range []struct {
		name string
		ours func(grad *tensor.Tensor) (float64, error)
		ref  lossFn
	}{
		{"mse", func(gr *tensor.Tensor) (float64, error) { return (&MSE{}).Loss(gr, pred, target) },
			func(g *G.ExprGraph, p *G.Node) *G.Node {
				return G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(p, gMat(g, "y", target.Data, n, k)))))))
			}},
		{"bce", func(gr *tensor.Tensor) (float64, error) { return (&BCEWithLogits{}).Loss(gr, pred, prob) },
			func(g *G.ExprGraph, p *G.Node) *G.Node {
				y := gMat(g, "y", prob.Data, n, k)
				one := gMat(g, "one", onesF32(n*k), n, k)
				s := G.Must(G.Sigmoid(p))
				pos := G.Must(G.HadamardProd(y, G.Must(G.Log(s))))
				neg := G.Must(G.HadamardProd(G.Must(G.Sub(one, y)), G.Must(G.Log(G.Must(G.Sub(one, s))))))
				return G.Must(G.Neg(G.Must(G.Mean(G.Must(G.Add(pos, neg))))))
			}},
		{"softmax-ce", func(gr *tensor.Tensor) (float64, error) { return (&SoftmaxCrossEntropy{}).Loss(gr, pred, labels) },
			func(g *G.ExprGraph, p *G.Node) *G.Node {
				// log-softmax written out: z − log Σ exp z, row sums via a
				// product with a ones column (no middle-axis reduction).
				sum := G.Must(G.Mul(G.Must(G.Exp(p)), gMat(g, "onesk", onesF32(k), k, 1)))
				lse := G.Must(G.Mul(G.Must(G.Log(sum)), gMat(g, "ones1", onesF32(k), 1, k)))
				logp := G.Must(G.Sub(p, lse))
				picked := G.Must(G.Sum(G.Must(G.HadamardProd(logp, gMat(g, "onehot", onehot, n, k)))))
				return G.Must(G.Neg(G.Must(G.Div(picked, G.NewConstant(float64(n))))))
			}},
	} {
		var grad tensor.Tensor
		v, err := c.ours(&grad)
		if err != nil {
			t.Fatal(err)
		}
		g := G.NewGraph()
		p := gMat(g, "p", pred.Data, n, k)
		cost := c.ref(g, p)
		runGraph(t, g, cost, p)
		want := gData(t, cost.Value())
		if len(want) != 1 || math.Abs(v-want[0]) > 1e-6*(1+math.Abs(want[0])) {
			t.Errorf("%s: loss %g, gorgonia %v", c.name, v, want)
		}
		near64(t, c.name+" grad", grad.Data, gGrad(t, p), 1e-5)
	}
}
