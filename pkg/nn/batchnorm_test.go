package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestBatchNormForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, shape := range [][]int{{4, 3, 3, 5}, {6, 4}} {
		a := NewArena()
		l, err := NewBatchNorm(a, "bn", BatchNormConfig{Channels: shape[1]})
		if err != nil {
			t.Fatal(err)
		}
		a.Build()
		fillRand(rng, l.Gamma.W, 2)
		fillRand(rng, l.Beta.W, 1)
		x := randTensor(rng, shape...)
		for i := range x.Data {
			x.Data[i] = x.Data[i]*3 + 1
		}
		n, c := shape[0], shape[1]
		hw := x.Len() / (n * c)
		m := float64(n * hw)
		y := l.Forward(x, true)
		for ch := 0; ch < c; ch++ {
			var s, ss float64
			for b := 0; b < n; b++ {
				for i := 0; i < hw; i++ {
					s += float64(x.Data[(b*c+ch)*hw+i])
				}
			}
			mu := s / m
			for b := 0; b < n; b++ {
				for i := 0; i < hw; i++ {
					d := float64(x.Data[(b*c+ch)*hw+i]) - mu
					ss += d * d
				}
			}
			v := ss / m
			for b := 0; b < n; b++ {
				for i := 0; i < hw; i++ {
					o := (b*c+ch)*hw + i
					want := float64(l.Gamma.W[ch])*(float64(x.Data[o])-mu)/math.Sqrt(v+1e-5) + float64(l.Beta.W[ch])
					if math.Abs(float64(y.Data[o])-want) > 1e-4 {
						t.Fatalf("%v: y[%d] = %g, want %g", shape, o, y.Data[o], want)
					}
				}
			}
			// One update from (0, 1): momentum 0.1, unbiased running var.
			if wm := 0.1 * mu; math.Abs(float64(l.RunningMean[ch])-wm) > 1e-5 {
				t.Errorf("%v: running mean %g, want %g", shape, l.RunningMean[ch], wm)
			}
			if wv := 0.9 + 0.1*ss/(m-1); math.Abs(float64(l.RunningVar[ch])-wv) > 1e-5 {
				t.Errorf("%v: running var %g, want %g", shape, l.RunningVar[ch], wv)
			}
		}
		// Eval mode uses the running statistics.
		ye := l.Forward(x, false)
		for o, v := range x.Data {
			ch := (o / hw) % c
			want := float64(l.Gamma.W[ch])*(float64(v)-float64(l.RunningMean[ch]))/math.Sqrt(float64(l.RunningVar[ch])+1e-5) + float64(l.Beta.W[ch])
			if math.Abs(float64(ye.Data[o])-want) > 1e-4 {
				t.Fatalf("%v eval: y[%d] = %g, want %g", shape, o, ye.Data[o], want)
			}
		}
	}
}

func TestBatchNormGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, train := range []bool{true, false} {
		for _, shape := range [][]int{{3, 2, 3, 3}, {2, 3, 1, 5}, {5, 3}} {
			t.Run(fmt.Sprintf("train=%v/%v", train, shape), func(t *testing.T) {
				a := NewArena()
				l, err := NewBatchNorm(a, "bn", BatchNormConfig{Channels: shape[1]})
				if err != nil {
					t.Fatal(err)
				}
				a.Build()
				fillRand(rng, l.Gamma.W, 1)
				fillRand(rng, l.Beta.W, 1)
				for i := range l.RunningVar {
					l.RunningMean[i] = float32(rng.Float64() - 0.5)
					l.RunningVar[i] = float32(0.5 + rng.Float64())
				}
				x := randTensor(rng, shape...)
				for i := range x.Data {
					x.Data[i] *= 2
				}
				if !train {
					// Eval mode must not move the running statistics.
					before := append([]float32(nil), l.RunningMean...)
					l.Forward(x, false)
					assertClose(t, "running mean", l.RunningMean, before, 0)
				}
				gradCheck(t, l, []*Param{l.Gamma, l.Beta}, x, train)
			})
		}
	}
}

// TestBatchNormFusedAct checks the fused activation: ReLU must equal BN
// followed by a ReLU layer exactly, and smooth activations pass gradCheck.
func TestBatchNormFusedAct(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	shape := []int{3, 2, 3, 4}
	mk := func(act Activation) *BatchNorm {
		a := NewArena()
		l, err := NewBatchNorm(a, "bn", BatchNormConfig{Channels: 2, Act: act})
		if err != nil {
			t.Fatal(err)
		}
		a.Build()
		copy(l.Gamma.W, []float32{0.7, -1.3})
		copy(l.Beta.W, []float32{0.2, 0.1})
		return l
	}
	x, dy := randTensor(rng, shape...), randTensor(rng, shape...)
	for _, train := range []bool{true, false} {
		fused, plain, relu := mk(ReLUAct), mk(Linear), NewReLU()
		yf := fused.Forward(x, train)
		yp := relu.Forward(plain.Forward(x, train), train)
		assertClose(t, "fused relu y", yf.Data, yp.Data, 0)
		dxf := fused.Backward(dy)
		dxp := plain.Backward(relu.Backward(dy))
		assertClose(t, "fused relu dx", dxf.Data, dxp.Data, 1e-6)
		assertClose(t, "fused relu dγ", fused.Gamma.G, plain.Gamma.G, 1e-6)
		assertClose(t, "fused relu dβ", fused.Beta.G, plain.Beta.G, 1e-6)
		for _, act := range []Activation{TanhAct, SigmoidAct} {
			l := mk(act)
			gradCheck(t, l, []*Param{l.Gamma, l.Beta}, x, train)
		}
	}
}
