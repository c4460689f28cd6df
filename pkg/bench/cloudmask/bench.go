package cloudmask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/train"
)

// Run is a benchmark set up on one rank, ready for train.New.
type Run struct {
	Config    Config
	Data      *Data
	Task      *Task
	Optimizer train.Optimizer
	Train     train.Config
}

// MaskDir is where inference output goes: mask_dir, else
// out_dir/inference, else runs/cloudmask-inference.
func MaskDir(cfg Config) string {
	switch {
	case cfg.MaskDir != "":
		return cfg.MaskDir
	case cfg.OutDir != "":
		return filepath.Join(cfg.OutDir, "inference")
	}
	return filepath.Join("runs", "cloudmask-inference")
}

// inputError makes every data problem a *DataError (which the command
// line maps to exit code 2 through its BadInput method): a build without
// HDF5 becomes one on the data directory.
func inputError(err error, dataDir string) error {
	var de *DataError
	if err != nil && !errors.As(err, &de) && errors.Is(err, ErrNoHDF5) {
		return &DataError{File: dataDir, Msg: strings.TrimPrefix(err.Error(), "cloudmask: "), Err: ErrNoHDF5}
	}
	return err
}

// Prepare checks the data once before the workers start (and generates
// synthetic scenes when configured). Every error is bad input.
func Prepare(ctx context.Context, cfg Config, dataDir string, log *slog.Logger) error {
	_, err := LoadData(ctx, cfg, dataDir, log)
	return inputError(err, dataDir)
}

// Setup finds, checks and splits the scenes, builds the task and optimizer
// and records the split (cfg.Split, and split.json in the mask folder from
// rank 0).
func Setup(ctx context.Context, cfg Config, dataDir string, rank, world int, log *slog.Logger) (*Run, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d, err := LoadData(ctx, cfg, dataDir, log)
	if err != nil {
		return nil, inputError(err, dataDir)
	}
	task, err := NewTask(d, cfg, log)
	if err != nil {
		return nil, err
	}
	rec := d.SplitRecord(cfg.SplitSeed)
	if cfg.Split != nil {
		*cfg.Split = rec
	}
	if cfg.Inference {
		task.MaskDir = MaskDir(cfg)
		if err := os.MkdirAll(task.MaskDir, 0o755); err != nil {
			return nil, fmt.Errorf("cloudmask: mask folder: %w", err)
		}
		if rank == 0 {
			b, _ := json.MarshalIndent(rec, "", "  ")
			if err := os.WriteFile(filepath.Join(task.MaskDir, "split.json"), append(b, '\n'), 0o644); err != nil {
				return nil, fmt.Errorf("cloudmask: split record: %w", err)
			}
		}
	}
	opt := optim.NewAdam(task.Arena().Size(), optim.AdamConfig{LR: cfg.LearningRate, Eps: cfg.Eps})
	gb := cfg.BatchSize
	if cfg.BatchScope == config.BatchPerRank {
		gb *= world
	}
	if gb > task.NumTrain() {
		return nil, &config.Error{Key: "batch_size", Err: config.ErrInvalid,
			Msg: fmt.Sprintf("global batch %d exceeds the %d training patches", gb, task.NumTrain())}
	}
	tc := train.Config{Seed: uint64(cfg.Seed), Epochs: cfg.Epochs, GlobalBatch: gb, EvalEvery: cfg.EvalEvery}
	if cfg.Target.Metric != "" {
		tc.Target = &train.Target{Metric: cfg.Target.Metric, Value: cfg.Target.Value, Mode: cfg.Target.Mode}
	}
	log.Info("cloudmask data", "root", d.Root, "train_files", len(d.Train), "val_files", len(d.Val),
		"inference_files", len(d.Infer), "train_patches", len(d.TrainPatches), "val_patches", len(d.ValPatches), "skipped", len(d.Skipped))
	return &Run{Config: cfg, Data: d, Task: task, Optimizer: opt, Train: tc}, nil
}

// WriteReport prints the accuracies and the inference timing.
func WriteReport(w io.Writer, ms []train.Metric) {
	by := make(map[string]float64, len(ms))
	var files []string
	for _, m := range ms {
		by[m.Name] = m.Value
		if m.Key == "inference_accuracy_file" {
			files = append(files, m.Name)
		}
	}
	sort.Strings(files)
	f := func(name string) string {
		v, ok := by[name]
		if !ok || math.IsNaN(v) {
			return "n/a"
		}
		return fmt.Sprintf("%.4f", v)
	}
	fmt.Fprintf(w, "cloud-mask: val_accuracy %s, train accuracy %s, val_loss %s (reference 100 epochs real data: val .8829, inference .8858)\n",
		f("val_accuracy"), f("accuracy"), f("val_loss"))
	if _, ok := by["inference_accuracy"]; ok {
		fmt.Fprintf(w, "inference: %d files, avg_accuracy %s, cloud F1 %s, time_per_inference %ss/file (wall %ss; mean per-file latency %ss)\n",
			len(files), f("inference_accuracy"), f("inference_f1_cloud"), f("time_per_inference"), f("inference_s"), f("time_per_inference_file"))
	}
	if by["nonfinite_values"] > 0 || by["skipped_files"] > 0 {
		fmt.Fprintf(w, "bad input: %.0f non-finite values replaced by 0, %.0f files skipped\n", by["nonfinite_values"], by["skipped_files"])
	}
}
