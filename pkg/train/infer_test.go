package train

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// inferTask is an mlpTask with an inference phase: each rank contributes
// its rank+1 at its own position and a hash of its weights, so the test
// sees that the sums were reduced over every rank and that inference ran on
// the final weights.
type inferTask struct {
	*mlpTask
	calls  int
	events []string
	fail   error
}

func (t *inferTask) InferSums(ctx context.Context, rank, size int) ([]float64, error) {
	t.calls++
	if t.fail != nil {
		return nil, t.fail
	}
	v := make([]float64, size+1)
	v[rank] = float64(rank + 1)
	v[size] = float64(WeightsHash(t.arena.Data) % 1000)
	return v, nil
}

func (t *inferTask) InferMetrics(sums []float64) ([]Metric, error) {
	total := 0.0
	for _, s := range sums[:len(sums)-1] {
		total += s
	}
	return []Metric{{Name: "infer_total", Key: "infer_total", Value: total}, {Name: "infer_hash", Key: "infer_hash", Value: sums[len(sums)-1]}}, nil
}

func TestInferrerRunsOnceAfterTraining(t *testing.T) {
	const world = 3
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	comms := newMemGroup(world)
	tasks := make([]*inferTask, world)
	res := make([]*Result, world)
	errs := make([]error, world)
	var wg sync.WaitGroup
	for r := range world {
		tk := &inferTask{mlpTask: newMLPTask(7, 24)}
		tasks[r] = tk
		cfg := Config{Seed: 5, Epochs: 2, GlobalBatch: 6, Observe: func(ev Event) { tk.events = append(tk.events, ev.Kind) }}
		tr, err := New(cfg, tk, &momentum{lr: 0.05, v: make([]float32, tk.arena.Size())}, comms[r])
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[r], errs[r] = tr.Run(ctx)
		}()
	}
	wg.Wait()
	for r := range world {
		if errs[r] != nil {
			t.Fatalf("rank %d: %v", r, errs[r])
		}
		if tasks[r].calls != 1 {
			t.Errorf("rank %d: InferSums called %d times", r, tasks[r].calls)
		}
		got := map[string]float64{}
		for _, m := range res[r].Metrics {
			got[m.Name] = m.Value
		}
		if got["infer_total"] != 1+2+3 {
			t.Errorf("rank %d: infer_total %v, want 6 (summed over ranks)", r, got["infer_total"])
		}
		if want := float64(WeightsHash(tasks[r].arena.Data)%1000) * world; got["infer_hash"] != want {
			t.Errorf("rank %d: inference did not see the final weights on every rank: %v, want %v", r, got["infer_hash"], want)
		}
		if _, ok := got["loss"]; !ok && len(res[r].Metrics) < 3 {
			t.Errorf("rank %d: the evaluation metrics were replaced, not extended: %v", r, res[r].Metrics)
		}
		if _, ok := res[r].Timers["inference"]; !ok {
			t.Errorf("rank %d: no inference timer", r)
		}
		ev := tasks[r].events
		if len(ev) < 2 || ev[len(ev)-2] != "infer_start" || ev[len(ev)-1] != "infer_stop" {
			t.Errorf("rank %d: events end with %v, want infer_start, infer_stop", r, ev[max(0, len(ev)-3):])
		}
	}
}

func TestInferrerErrorFailsRun(t *testing.T) {
	tk := &inferTask{mlpTask: newMLPTask(7, 12), fail: errors.New("boom")}
	tr, err := New(Config{Seed: 1, Epochs: 1, GlobalBatch: 4}, tk, &momentum{v: make([]float32, tk.arena.Size())}, Local{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err == nil || !errors.Is(err, ErrTask) {
		t.Fatalf("err %v, want ErrTask wrapping the inference failure", err)
	}
}
