package cloudmask

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/scibench/scibench/pkg/hdf5"
	"github.com/scibench/scibench/pkg/tensor"
	"github.com/scibench/scibench/pkg/train"
)

// TestInferenceMatchesNaive compares the batched, tiled prediction with a
// naive one: for every pixel, find the one tile whose kept centre holds
// it, run that tile alone and take its sigmoid. The mask file and preview
// must be written, and the accuracy must equal the naive count.
func TestInferenceMatchesNaive(t *testing.T) {
	dir := tinyDir(t)
	cfg := tinyConfig(t)
	cfg.EvalBatch = 7 // batches that do not divide the 20 tiles
	d, err := LoadData(context.Background(), cfg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewTask(d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	task.MaskDir = cfg.MaskDir
	si := d.Infer[0]
	res, err := task.InferScene(context.Background(), si, true)
	if err != nil {
		t.Fatal(err)
	}
	prob := append([]float32(nil), task.prob...)
	scene := task.scene
	scene.X = append([]float32(nil), task.scene.X...)
	scene.Y = append([]float32(nil), task.scene.Y...)
	tl := NewTiling(si.H, si.W, cfg.PatchSize, cfg.InferenceStride)
	if tl.Rows*tl.Cols != 20 {
		t.Fatalf("tiny tiling %+v", tl)
	}
	P := cfg.PatchSize
	x := tensor.New(1, InputChannels, P, P)
	in := []*tensor.Tensor{x}
	correct := 0
	for i := range tl.Rows {
		for j := range tl.Cols {
			r0, c0 := tl.Origin(i, j)
			// naive tile: zero outside the scene
			for ch := range InputChannels {
				for r := range P {
					for c := range P {
						v := float32(0)
						if sr, sc := r0+r, c0+c; sr >= 0 && sr < si.H && sc >= 0 && sc < si.W {
							v = scene.X[ch*si.H*si.W+sr*si.W+sc]
						}
						x.Data[(ch*P+r)*P+c] = v
					}
				}
			}
			out, err := task.model.Forward(in, false)
			if err != nil {
				t.Fatal(err)
			}
			for r := tl.Margin; r < tl.Margin+tl.Stride; r++ {
				for c := tl.Margin; c < tl.Margin+tl.Stride; c++ {
					sr, sc := r0+r, c0+c
					if sr < 0 || sr >= si.H || sc < 0 || sc >= si.W {
						continue
					}
					want := 1 / (1 + math.Exp(-float64(out.Data[r*P+c])))
					got := prob[sr*si.W+sc]
					if math.Abs(float64(got)-want) > 1e-5 {
						t.Fatalf("pixel (%d,%d) from tile (%d,%d): %v, want %v", sr, sc, i, j, got, want)
					}
					if (want > 0.5) == (scene.Y[sr*si.W+sc] > 0.5) {
						correct++
					}
				}
			}
		}
	}
	if want := float64(correct) / float64(si.H*si.W); math.Abs(res.Accuracy-want) > 2.0/float64(si.H*si.W) {
		t.Fatalf("accuracy %v, naive %v", res.Accuracy, want)
	}
	f, err := hdf5.Open(filepath.Join(cfg.MaskDir, si.Name+".h5"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Info("/mask")
	if err != nil || len(info.Shape) != 4 || info.Shape[0] != 1 || info.Shape[1] != si.H || info.Shape[2] != si.W || info.Shape[3] != 1 {
		t.Fatalf("mask %+v %v", info, err)
	}
	m := make([]float32, si.H*si.W)
	if err := f.ReadFloat32("/mask", m); err != nil {
		t.Fatal(err)
	}
	for i := range m {
		if m[i] != prob[i] {
			t.Fatalf("mask file pixel %d: %v, want %v", i, m[i], prob[i])
		}
	}
	if st, err := os.Stat(filepath.Join(cfg.MaskDir, si.Name+".png")); err != nil || st.Size() == 0 {
		t.Fatalf("preview: %v", err)
	}
}

// TestEvalShardInvariant: the metrics from two ranks' sums equal those of
// one rank (validation and inference), and inference runs only after the
// last epoch.
func TestEvalShardInvariant(t *testing.T) {
	dir := tinyDir(t)
	cfg := tinyConfig(t)
	cfg.Epochs = 2
	newTask := func() *Task {
		d, err := LoadData(context.Background(), cfg, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		task, err := NewTask(d, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return task
	}
	one := newTask()
	one.lastEpoch = 1
	s1, err := one.EvalSums(context.Background(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := one.Metrics(s1)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "inference_accuracy" {
			t.Fatal("inference ran before the last epoch")
		}
	}
	one.lastEpoch = 2
	if s1, err = one.EvalSums(context.Background(), 0, 1); err != nil {
		t.Fatal(err)
	}
	ms1, err := one.Metrics(s1)
	if err != nil {
		t.Fatal(err)
	}
	var sum []float64
	for r := range 2 {
		task := newTask()
		task.lastEpoch = 2
		s, err := task.EvalSums(context.Background(), r, 2)
		if err != nil {
			t.Fatal(err)
		}
		if sum == nil {
			sum = make([]float64, len(s))
		}
		for i, v := range s {
			sum[i] += v
		}
	}
	ms2, err := one.Metrics(sum)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"val_accuracy", "val_loss", "inference_accuracy", "inference_accuracy_000", "inference_accuracy_001", "inference_f1_cloud"} {
		a, b := metric(t, ms1, name), metric(t, ms2, name)
		if math.Abs(a-b) > 1e-9 || math.IsNaN(a) {
			t.Errorf("%s: 1 rank %v, 2 ranks %v", name, a, b)
		}
	}
	if v := metric(t, ms2, "time_per_inference"); !(v > 0) {
		t.Errorf("time_per_inference %v", v)
	}
	if _, err := one.Metrics(sum[:3]); err == nil {
		t.Error("short sums accepted")
	}
}

// TestTrainingLearns runs the real loop on the tiny scenes for a few
// epochs: the loss must fall and validation pixel accuracy beat the
// majority class by a margin.
func TestTrainingLearns(t *testing.T) {
	dir := tinyDir(t)
	cfg := tinyConfig(t)
	cfg.Filters, cfg.Epochs, cfg.LearningRate, cfg.EvalEvery = 8, 3, 3e-3, 0
	cfg.CacheMB = 64
	run, err := Setup(context.Background(), cfg, dir, 0, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(run.Train, run.Task, run.Optimizer, train.Local{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Epochs); n != 3 || res.Epochs[2].TrainLoss >= res.Epochs[0].TrainLoss {
		t.Fatalf("epochs %+v", res.Epochs)
	}
	// majority rate of the validation labels
	var ones, n float64
	for _, q := range run.Data.ValPatches {
		b, err := run.Task.cache.get(q)
		if err != nil {
			t.Fatal(err)
		}
		P := cfg.PatchSize
		for r := range P {
			for c := range P {
				ones += float64(b.Y[r*b.Cols+int(q.Col)*P+c])
				n++
			}
		}
	}
	major := max(ones/n, 1-ones/n)
	acc := metric(t, res.Metrics, "val_accuracy")
	if acc < major+0.05 || metric(t, res.Metrics, "inference_accuracy") < 0.75 {
		t.Fatalf("val_accuracy %.4f (majority %.4f), inference %.4f", acc, major, metric(t, res.Metrics, "inference_accuracy"))
	}
	if cfg.Split == nil || len(cfg.Split.Train) != 6 || len(cfg.Split.Validation) != 2 {
		t.Fatalf("split record %+v", cfg.Split)
	}
	if _, err := os.Stat(filepath.Join(cfg.MaskDir, "split.json")); err != nil {
		t.Fatal(err)
	}
}
