package earthquake

import (
	"context"
	"fmt"
	"testing"

	"github.com/scibench/scibench/pkg/train"
)

// BenchmarkEvalSums measures prediction + NNSE sums per window for the
// small preset at several eval batches (reported as windows/s).
func BenchmarkEvalSums(b *testing.B) {
	ds := synthDataset(26+200, 20, 5)
	for _, bs := range []int{128, 1024} {
		b.Run(fmt.Sprintf("batch=%d", bs), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Model, cfg.EvalBatch = "small", bs
			task, err := NewTask(ds, cfg, 0)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := task.EvalSums(context.Background(), 0, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(task.NumEval()*b.N)/b.Elapsed().Seconds(), "windows/s")
		})
	}
}

// BenchmarkTrainStep measures one forward+backward of a training batch of
// the small preset (windows/s, optimizer excluded).
func BenchmarkTrainStep(b *testing.B) {
	ds := synthDataset(26+200, 20, 5)
	cfg := DefaultConfig()
	cfg.Model = "small"
	task, err := NewTask(ds, cfg, 0)
	if err != nil {
		b.Fatal(err)
	}
	idx := make([]int, 198)
	for i := range idx {
		idx[i] = i * 7 % task.NumTrain()
	}
	ctx := context.Background()
	for b.Loop() {
		task.Arena().ZeroGrad()
		if err := task.Load(ctx, idx); err != nil {
			b.Fatal(err)
		}
		if _, err := task.Forward(ctx, train.StepInfo{}); err != nil {
			b.Fatal(err)
		}
		if err := task.Backward(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(idx)*b.N)/b.Elapsed().Seconds(), "windows/s")
}
