package train

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/optim"
)

// stepOnly hides an optimizer's RangeStepper capability, so the loop takes
// the whole-arena Step path.
type stepOnly struct{ Optimizer }

// TestRangeStepperMatchesStep trains the same task on 1 and 3 ranks with
// optim.Adam applied bucket by bucket inside the reducer (RangeStepper) and
// with the plain whole-arena Step: the weights after every step must be
// bitwise equal, and equal across ranks.
func TestRangeStepperMatchesStep(t *testing.T) {
	for _, world := range []int{1, 3} {
		run := func(ranged bool) [][]uint64 {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			comms := newMemGroup(world)
			hashes := make([][]uint64, world)
			errs := make([]error, world)
			var wg sync.WaitGroup
			for r := 0; r < world; r++ {
				tk := newMLPTask(7, 40)
				var opt Optimizer = optim.NewAdam(tk.arena.Size(), optim.AdamConfig{LR: 0.01})
				if !ranged {
					opt = stepOnly{opt}
				}
				rr := r
				cfg := Config{Seed: 4, Epochs: 3, GlobalBatch: 7, BucketElems: 5,
					AfterStep: func(StepReport) { hashes[rr] = append(hashes[rr], WeightsHash(tk.arena.Data)) }}
				tr, err := New(cfg, tk, opt, comms[r])
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[rr] = tr.Run(ctx)
				}()
			}
			wg.Wait()
			for r, err := range errs {
				if err != nil {
					t.Fatalf("world %d rank %d: %v", world, r, err)
				}
			}
			return hashes
		}
		ranged, whole := run(true), run(false)
		for r := range ranged {
			if len(ranged[r]) == 0 || !slices.Equal(ranged[r], whole[r]) {
				t.Errorf("world %d rank %d: bucket-wise optimizer steps differ from whole-arena Step", world, r)
			}
			if !slices.Equal(ranged[r], ranged[0]) {
				t.Errorf("world %d rank %d: weights differ from rank 0", world, r)
			}
		}
	}
}
