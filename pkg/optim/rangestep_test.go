package optim

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestStepRangeEqualsStep checks that BeginStep + StepRange over random
// disjoint ranges (applied in reverse order, as the training loop does)
// gives bitwise the weights and state of Step, for every RangeStepper.
func TestStepRangeEqualsStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 1037
	mk := map[string]func() Optimizer{
		"Adam":   func() Optimizer { return NewAdam(n, AdamConfig{LR: 0.01}) },
		"AdamW":  func() Optimizer { return NewAdam(n, AdamConfig{LR: 0.01, WeightDecay: 0.1, Decoupled: true}) },
		"AdamL2": func() Optimizer { return NewAdam(n, AdamConfig{LR: 0.01, WeightDecay: 0.1}) },
		"Adamax": func() Optimizer { return NewAdamax(n, AdamConfig{LR: 0.01}) },
		"AdamaxW": func() Optimizer {
			return NewAdamax(n, AdamConfig{LR: 0.01, WeightDecay: 0.1, Decoupled: true})
		},
	}
	for name, f := range mk {
		a, b := f(), f()
		rs, ok := b.(RangeStepper)
		if !ok {
			t.Fatalf("%s is not a RangeStepper", name)
		}
		wa, wb := make([]float32, n), make([]float32, n)
		for i := range wa {
			wa[i] = float32(rng.NormFloat64())
		}
		copy(wb, wa)
		g := make([]float32, n)
		for step := 0; step < 5; step++ {
			for i := range g {
				g[i] = float32(rng.NormFloat64())
			}
			a.Step(wa, g)
			rs.BeginStep()
			hi := n
			for hi > 0 {
				lo := max(0, hi-1-rng.IntN(300))
				rs.StepRange(wb, g, lo, hi)
				hi = lo
			}
		}
		if !slices.Equal(wa, wb) {
			t.Errorf("%s: ranged steps differ from Step", name)
		}
	}
}
