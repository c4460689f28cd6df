package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/tensor"
)

// lossFn is a loss under test with its float64 reference value.
type lossCase struct {
	name string
	loss func(grad, pred *tensor.Tensor) (float64, error)
	ref  func(pred []float32) float64
}

// checkLoss compares the value with the reference and the gradient with
// central differences of the reference.
func checkLoss(t *testing.T, c lossCase, pred *tensor.Tensor) {
	t.Helper()
	var grad tensor.Tensor
	v, err := c.loss(&grad, pred)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	want := c.ref(pred.Data)
	if math.Abs(v-want) > 1e-5*(1+math.Abs(want)) {
		t.Errorf("%s: loss %g, want %g", c.name, v, want)
	}
	p := append([]float32(nil), pred.Data...)
	const eps = 1e-3
	for i := range p {
		old := p[i]
		p[i] = old + eps
		lp := c.ref(p)
		p[i] = old - eps
		lm := c.ref(p)
		p[i] = old
		num := (lp - lm) / (2 * float64(eps))
		if math.Abs(float64(grad.Data[i])-num) > 1e-3+1e-3*math.Abs(num) {
			t.Errorf("%s: grad[%d] = %g, numeric %g", c.name, i, grad.Data[i], num)
		}
	}
}

func TestLossesAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 5; trial++ {
		n, k := 1+rng.IntN(6), 1+rng.IntN(5)
		pred := randTensor(rng, n, k)
		target := randTensor(rng, n, k)
		for i := range target.Data {
			if rng.IntN(5) == 0 {
				target.Data[i] = float32(math.NaN())
			}
		}
		w := make([]float32, k)
		for i := range w {
			w[i] = float32(rng.Float64() + 0.1)
		}
		prob := tensor.New(n, k)
		for i := range prob.Data {
			prob.Data[i] = float32(rng.Float64())
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(k)
		}
		for _, red := range []Reduction{ReduceMean, ReduceSum} {
			div := float64(n)
			if red == ReduceSum {
				div = 1
			}
			mse := &MSE{Reduction: red}
			wmse := &MSE{Weights: w, Reduction: red}
			mae := &MAE{Reduction: red}
			bce := &BCEWithLogits{Reduction: red}
			sce := &SoftmaxCrossEntropy{Reduction: red}
			cases := []lossCase{
				{"mse", func(g, p *tensor.Tensor) (float64, error) { return mse.Loss(g, p, target) }, func(p []float32) float64 {
					var s float64
					for i, v := range p {
						if y := float64(target.Data[i]); !math.IsNaN(y) {
							s += (float64(v) - y) * (float64(v) - y) / float64(k)
						}
					}
					return s / div
				}},
				{"weighted-mse", func(g, p *tensor.Tensor) (float64, error) { return wmse.Loss(g, p, target) }, func(p []float32) float64 {
					var s float64
					for i, v := range p {
						if y := float64(target.Data[i]); !math.IsNaN(y) {
							s += float64(w[i%k]) * (float64(v) - y) * (float64(v) - y)
						}
					}
					return s / div
				}},
				{"mae", func(g, p *tensor.Tensor) (float64, error) { return mae.Loss(g, p, prob) }, func(p []float32) float64 {
					var s float64
					for i, v := range p {
						s += math.Abs(float64(v)-float64(prob.Data[i])) / float64(k)
					}
					return s / div
				}},
				{"bce", func(g, p *tensor.Tensor) (float64, error) { return bce.Loss(g, p, prob) }, func(p []float32) float64 {
					var s float64
					for i, v := range p {
						q := 1 / (1 + math.Exp(-float64(v)))
						y := float64(prob.Data[i])
						s += -(y*math.Log(q) + (1-y)*math.Log(1-q)) / float64(k)
					}
					return s / div
				}},
				{"softmax-ce", func(g, p *tensor.Tensor) (float64, error) { return sce.Loss(g, p, labels) }, func(p []float32) float64 {
					var s float64
					for r, lab := range labels {
						var se float64
						for j := 0; j < k; j++ {
							se += math.Exp(float64(p[r*k+j]))
						}
						s += math.Log(se) - float64(p[r*k+lab])
					}
					return s / div
				}},
			}
			for _, c := range cases {
				checkLoss(t, c, pred)
			}
		}
	}
}

func TestLossNaNMaskGivesZeroGradient(t *testing.T) {
	pred := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	target := tensor.FromSlice([]float32{float32(math.NaN()), 1, 3, float32(math.NaN())}, 2, 2)
	var g tensor.Tensor
	v, err := (&MSE{Weights: []float32{1, 0.25}}).Loss(&g, pred, target)
	if err != nil {
		t.Fatal(err)
	}
	// only (0,1): 0.25·(2−1)² and (1,0): 1·0, over batch 2.
	if math.Abs(v-0.125) > 1e-7 || g.Data[0] != 0 || g.Data[3] != 0 || math.Abs(float64(g.Data[1])-0.25) > 1e-7 {
		t.Errorf("loss %g grad %v, want 0.125 and [0 0.25 0 0]", v, g.Data)
	}
}

func TestBCEStableForLargeLogits(t *testing.T) {
	pred := tensor.FromSlice([]float32{100, -100, 100, -100}, 4, 1)
	target := tensor.FromSlice([]float32{1, 0, 0, 1}, 4, 1)
	var g tensor.Tensor
	v, err := (&BCEWithLogits{}).Loss(&g, pred, target)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || math.Abs(v-50) > 1e-4 {
		t.Errorf("loss %g, err %v, want 50", v, err)
	}
}

func TestLossErrors(t *testing.T) {
	var g tensor.Tensor
	a, b := tensor.New(2, 3), tensor.New(3, 2)
	if _, err := (&MSE{}).Loss(&g, a, b); !errors.Is(err, ErrLossShape) {
		t.Errorf("MSE shapes: %v", err)
	}
	if _, err := (&MSE{Weights: []float32{1}}).Loss(&g, a, a); !errors.Is(err, ErrLossShape) {
		t.Errorf("MSE weights: %v", err)
	}
	if _, err := (&MAE{}).Loss(&g, a, b); !errors.Is(err, ErrLossShape) {
		t.Errorf("MAE shapes: %v", err)
	}
	if _, err := (&BCEWithLogits{}).Loss(&g, a, b); !errors.Is(err, ErrLossShape) {
		t.Errorf("BCE shapes: %v", err)
	}
	if _, err := (&SoftmaxCrossEntropy{}).Loss(&g, a, []int{0}); !errors.Is(err, ErrLossShape) {
		t.Errorf("CE labels count: %v", err)
	}
	if _, err := (&SoftmaxCrossEntropy{}).Loss(&g, a, []int{0, 3}); !errors.Is(err, ErrLabel) {
		t.Errorf("CE label range: %v", err)
	}
	if _, err := (&MSE{}).Loss(&g, &tensor.Tensor{}, &tensor.Tensor{}); !errors.Is(err, ErrLossShape) {
		t.Errorf("empty: %v", err)
	}
}
