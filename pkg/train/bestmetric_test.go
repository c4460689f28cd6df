package train

import (
	"context"
	"errors"
	"math"
	"testing"
)

// scripted is an mlpTask whose evaluation reports a scripted "score" per
// evaluation, so the test knows which epoch is best.
type scripted struct {
	*mlpTask
	scores []float64
	evals  int
}

func (s *scripted) Metrics(sums []float64) ([]Metric, error) {
	v := s.scores[min(s.evals, len(s.scores)-1)]
	s.evals++
	return []Metric{{Name: "score", Key: "score", Value: v}}, nil
}

// TestBestMetricRestoresThatEpoch: with BestMetric the final weights are
// those after the epoch with the best evaluation (lowest, or highest with
// BestMax; NaN never wins), not after the lowest training loss.
func TestBestMetricRestoresThatEpoch(t *testing.T) {
	for _, c := range []struct {
		name   string
		scores []float64
		max    bool
		want   int // epoch whose weights must remain
	}{
		{"min", []float64{3, 1, 2, 5}, false, 2},
		{"max", []float64{3, 1, 2, 5}, true, 4},
		{"nan", []float64{math.NaN(), 4, math.NaN(), 6}, false, 2},
		{"first", []float64{0.5, 1, 2, 3}, false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk := &scripted{mlpTask: newMLPTask(7, 24), scores: c.scores}
			var hashes []uint64
			var restored []Event
			cfg := Config{Seed: 2, Epochs: 4, GlobalBatch: 6, BestFit: true, BestMetric: "score", BestMax: c.max,
				Observe: func(ev Event) {
					switch ev.Kind {
					case "epoch_stop":
						hashes = append(hashes, WeightsHash(tk.arena.Data))
					case "restore_best":
						restored = append(restored, ev)
					}
				}}
			tr, err := New(cfg, tk, &momentum{lr: 0.05, v: make([]float32, tk.arena.Size())}, Local{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := WeightsHash(tk.arena.Data); got != hashes[c.want-1] {
				t.Errorf("final weights are not those of epoch %d (hashes %x, final %x)", c.want, hashes, got)
			}
			if c.want != 4 && (len(restored) != 1 || restored[0].Epoch != c.want || restored[0].Metrics[0].Name != "score") {
				t.Errorf("restore events %+v, want one for epoch %d", restored, c.want)
			}
			if c.want == 4 && len(restored) != 0 {
				t.Errorf("the last epoch is best but the loop restored: %+v", restored)
			}
		})
	}
}

func TestBestMetricUnknown(t *testing.T) {
	tk := &scripted{mlpTask: newMLPTask(7, 12), scores: []float64{1}}
	tr, err := New(Config{Seed: 1, Epochs: 1, GlobalBatch: 4, BestFit: true, BestMetric: "val_nope"}, tk,
		&momentum{v: make([]float32, tk.arena.Size())}, Local{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); !errors.Is(err, ErrConfig) {
		t.Fatalf("err %v, want ErrConfig naming the metric", err)
	}
}
