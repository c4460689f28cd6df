package stemdl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/tensor"
	"github.com/scibench/scibench/pkg/train"
)

// writeRandomSplits writes n random 128² samples per folder with labels
// drawn from labels.
func writeRandomSplits(t *testing.T, root string, n map[string]int, labels []int) {
	t.Helper()
	seed := uint64(10)
	for dir, k := range n {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < k; i++ {
			seed++
			d := randData(seed, 3*128*128)
			for j := range d {
				d[j] = float32(math.Abs(float64(d[j])))
			}
			p := filepath.Join(root, dir, fmt.Sprintf("sample-%d.npz", i))
			if err := WriteSample(p, d, [3]int{3, 128, 128}, labels[i%len(labels)]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func tinyConfig() Config {
	c := DefaultConfig()
	c.Division = config.DivisionOpen
	c.Model, c.Width, c.ImageSize = "resnet18", 4, 16
	c.BatchSize, c.EvalBatch, c.Epochs = 4, 3, 2
	return c
}

// TestTaskTrainAndEval trains two epochs on random data, then checks that
// evaluation sums split over 1, 2 or 3 ranks add up to the same metrics,
// the metric names, the BN state round trip and the one-hot MSE loss.
func TestTaskTrainAndEval(t *testing.T) {
	root := t.TempDir()
	writeRandomSplits(t, root, map[string]int{"training": 8, "validation": 7, "inference": 5}, []int{2, 14, 225})
	cfg := tinyConfig()
	ctx := context.Background()
	run, err := Setup(ctx, cfg, root, 0, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Task.NumTrain() != 8 || run.Task.NumEval() != 7 || run.Data.Inference.Len() != 5 || run.Data.Train.Size != 16 {
		t.Fatalf("data: %d train %d val, size %d", run.Task.NumTrain(), run.Task.NumEval(), run.Data.Train.Size)
	}
	tr, err := train.New(run.Train, run.Task, run.Optimizer, train.Local{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range res.Metrics {
		names[m.Name] = true
	}
	for _, n := range []string{"top1", "macro_f1", "f1_batchavg", "eval_loss", "inference_top1", "inference_macro_f1", "time_per_inference"} {
		if !names[n] {
			t.Errorf("metric %s missing (%v)", n, names)
		}
	}
	if len(res.Epochs) != 2 || math.IsNaN(res.Epochs[1].TrainLoss) {
		t.Fatalf("epochs %+v", res.Epochs)
	}

	// evaluation shards add up
	task := run.Task
	one, err := task.EvalSums(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{2, 3} {
		sum := make([]float64, len(one))
		for r := 0; r < size; r++ {
			s, err := task.EvalSums(ctx, r, size)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range s {
				sum[i] += v
			}
		}
		for i := 0; i < k3; i++ {
			if sum[offVal+i] != one[offVal+i] || sum[offInf+i] != one[offInf+i] {
				t.Fatalf("%d ranks: counts differ at %d", size, i)
			}
		}
		if math.Abs(sum[offValLoss]-one[offValLoss]) > 1e-3*math.Abs(one[offValLoss]) || sum[offRanks] != float64(size) {
			t.Fatalf("%d ranks: loss %v vs %v, ranks %v", size, sum[offValLoss], one[offValLoss], sum[offRanks])
		}
		ms, err := task.Metrics(sum)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := task.Metrics(one)
		for i := range ms {
			if ms[i].Name == "top1" || ms[i].Name == "macro_f1" || ms[i].Name == "inference_top1" {
				if ms[i].Value != ref[i].Value {
					t.Fatalf("%s: %v vs %v", ms[i].Name, ms[i].Value, ref[i].Value)
				}
			}
		}
	}
	if _, err := task.Metrics(one[:10]); !errors.Is(err, ErrShape) {
		t.Fatalf("short sums: %v", err)
	}

	// BN state round trip
	var buf bytes.Buffer
	if err := task.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	bn := task.Model().BatchNorms()[0]
	saved := bn.RunningMean[0]
	bn.RunningMean[0] = 12345
	if err := task.LoadState(bytes.NewReader(buf.Bytes())); err != nil || bn.RunningMean[0] != saved {
		t.Fatalf("state: %v, %v want %v", err, bn.RunningMean[0], saved)
	}
	if err := task.LoadState(bytes.NewReader(buf.Bytes()[:20])); err == nil {
		t.Fatal("truncated state accepted")
	}

	// one-hot MSE: Σ_k (z_k − [k=y])² / 231 per sample, summed
	task.cfg.Loss = LossMSEOneHot
	z := tensor.New(2, NumClasses)
	for i := range z.Data {
		z.Data[i] = float32(i%7) * 0.1
	}
	var g tensor.Tensor
	got, err := task.loss(&g, z, []int{5, 230})
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for r, y := range []int{5, 230} {
		for k := 0; k < NumClasses; k++ {
			tgt := 0.0
			if k == y {
				tgt = 1
			}
			d := float64(z.Data[r*NumClasses+k]) - tgt
			want += d * d / NumClasses
		}
	}
	if math.Abs(got-want) > 1e-6*want {
		t.Fatalf("mse_onehot %v, want %v", got, want)
	}
	if _, err := task.loss(&g, z, []int{5, 231}); err == nil {
		t.Fatal("label 231 accepted")
	}
}

// TestSetupBadData checks that a missing folder and a bad file come back
// as *DataError naming the folder or file, and that InputError turns them
// into a *config.Error (exit code 2 in the command line) that still wraps
// them.
func TestSetupBadData(t *testing.T) {
	ctx := context.Background()
	cfg := tinyConfig()

	root := t.TempDir()
	writeRandomSplits(t, root, map[string]int{"training": 4}, []int{2})
	_, err := Setup(ctx, cfg, root, 0, 1, nil)
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "validation") {
		t.Fatalf("no validation folder: %v", err)
	}
	ie := InputError(err)
	var ce *config.Error
	var de *DataError
	if !errors.As(ie, &ce) || !errors.As(ie, &de) || !errors.Is(ie, ErrMissing) {
		t.Fatalf("InputError: %v (%T)", ie, ie)
	}
	if InputError(nil) != nil || InputError(ErrConfig) != ErrConfig {
		t.Fatal("InputError changed a non-data error")
	}

	writeRandomSplits(t, root, map[string]int{"validation": 2}, []int{2})
	bad := filepath.Join(root, "training", "sample-2.npz")
	if err := os.WriteFile(bad, []byte("PK\x03\x04 truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Setup(ctx, cfg, root, 0, 1, nil)
	if !errors.As(err, &de) || de.File != bad || !errors.Is(err, ErrFormat) {
		t.Fatalf("corrupt file: %v", err)
	}

	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	c2 := cfg
	c2.BatchSize = 64
	_, err = Setup(ctx, c2, root, 0, 1, nil)
	if !errors.As(err, &ce) || ce.Key != "batch_size" {
		t.Fatalf("batch larger than the data: %v", err)
	}
	if _, err := DataRoot(ctx, cfg, "", nil); !errors.Is(err, ErrMissing) {
		t.Fatalf("no data dir: %v", err)
	}
}

// TestReferenceModelSize checks the reference model of the default config:
// ResNet-50, 3 channels, 231 outputs, 23,981,351 parameters.
func TestReferenceModelSize(t *testing.T) {
	d := &Data{Train: &Split{}, Val: &Split{}}
	task, err := NewTask(d, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if n := task.Arena().Size(); n != 23981351 {
		t.Fatalf("ResNet-50 has %d parameters, want 23,981,351", n)
	}
}

// TestStepAllocs checks that a training step (Load, Forward, Backward)
// allocates nothing once the buffers exist.
func TestStepAllocs(t *testing.T) {
	root := t.TempDir()
	writeRandomSplits(t, root, map[string]int{"training": 6, "validation": 2}, []int{2, 14})
	cfg := tinyConfig()
	cfg.Inference = false
	for _, loss := range []string{LossCrossEntropy, LossMSEOneHot} {
		cfg.Loss = loss
		run, err := Setup(context.Background(), cfg, root, 0, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		idx := []int{3, 0, 5, 1}
		step := func() {
			if err := run.Task.Load(ctx, idx); err != nil {
				t.Fatal(err)
			}
			if _, err := run.Task.Forward(ctx, train.StepInfo{}); err != nil {
				t.Fatal(err)
			}
			if err := run.Task.Backward(ctx); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if n := testing.AllocsPerRun(3, step); n != 0 {
			t.Errorf("%s: %v allocations per step", loss, n)
		}
	}
}
