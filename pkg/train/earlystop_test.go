package train

import (
	"context"
	"testing"
)

// stopAfter is an mlpTask that asks to stop once `after` evaluations ran.
type stopAfter struct {
	*mlpTask
	after, evals int
}

func (s *stopAfter) Metrics(sums []float64) ([]Metric, error) {
	s.evals++
	return s.mlpTask.Metrics(sums)
}

func (s *stopAfter) EarlyStop() bool { return s.evals >= s.after }

func TestEarlyStopperEndsTraining(t *testing.T) {
	for _, after := range []int{1, 3, 100} {
		tk := &stopAfter{mlpTask: newMLPTask(7, 30), after: after}
		tr, err := New(Config{Seed: 3, Epochs: 5, GlobalBatch: 6}, tk, &momentum{v: make([]float32, tk.arena.Size())}, Local{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wantEpochs, wantStop := min(after, 5), after
		if after > 5 {
			wantStop = 0
		}
		if len(res.Epochs) != wantEpochs || res.EarlyStopEpoch != wantStop {
			t.Errorf("after %d: %d epochs, early stop at %d; want %d and %d", after, len(res.Epochs), res.EarlyStopEpoch, wantEpochs, wantStop)
		}
	}
}
