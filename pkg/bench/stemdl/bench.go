package stemdl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/train"
)

// EffectiveLR is the optimizer's learning rate for world ranks:
// learning_rate × world with lr_scale world (ORNL), learning_rate otherwise.
func (c Config) EffectiveLR(world int) float64 {
	if c.LRScale == LRScaleWorld {
		return c.LearningRate * float64(max(world, 1))
	}
	return c.LearningRate
}

// NewOptimizer returns the configured optimizer for n parameters and world
// ranks: AdamW (θ ← θ(1 − lr·wd), then Adam) or Adam with L2 weight decay.
func NewOptimizer(cfg Config, n, world int) (train.Optimizer, error) {
	ac := optim.AdamConfig{LR: cfg.EffectiveLR(world), Eps: cfg.Eps, WeightDecay: cfg.WeightDecay}
	switch cfg.Optimizer {
	case "adamw":
		ac.Decoupled = true
		return optim.NewAdam(n, ac), nil
	case "adam":
		return optim.NewAdam(n, ac), nil
	}
	return nil, &config.Error{Key: "optimizer", Msg: fmt.Sprintf("unknown optimizer %q", cfg.Optimizer), Err: config.ErrInvalid}
}

// Run is a benchmark set up on one rank, ready for train.New.
type Run struct {
	Config    Config
	Data      *Data
	Task      *Task
	Optimizer train.Optimizer
	Train     train.Config // Seed, Epochs, GlobalBatch, EvalEvery, Target
}

// Prepare resolves (and for synthetic data generates) the data folder once
// before the workers start.
func Prepare(ctx context.Context, cfg Config, dataDir string, log *slog.Logger) error {
	_, err := DataRoot(ctx, cfg, dataDir, log)
	return err
}

// Setup loads the data and builds the task, optimizer and loop settings
// for rank of world. Bad data gives a *DataError naming the file.
func Setup(ctx context.Context, cfg Config, dataDir string, rank, world int, log *slog.Logger) (*Run, error) {
	root, err := DataRoot(ctx, cfg, dataDir, log)
	if err != nil {
		return nil, err
	}
	d, err := LoadData(ctx, root, cfg, log)
	if err != nil {
		return nil, err
	}
	task, err := NewTask(d, cfg)
	if err != nil {
		return nil, err
	}
	opt, err := NewOptimizer(cfg, task.Arena().Size(), world)
	if err != nil {
		return nil, err
	}
	gb := cfg.GlobalBatch(world)
	if gb > task.NumTrain() {
		return nil, &config.Error{Key: "batch_size", Err: config.ErrInvalid,
			Msg: fmt.Sprintf("global batch %d (%s, %d ranks) exceeds the %d training samples in %s", gb, cfg.BatchScope, world, task.NumTrain(), d.Train.Dir)}
	}
	if log != nil {
		f := task.Model().FLOPs(cfg.ImageSize, cfg.ImageSize)
		log.Info("stemdl model", "model", cfg.Model, "width", cfg.Width, "image_size", cfg.ImageSize,
			"params", task.Arena().Size(), "forward_gflop_per_sample", f/1e9, "train_gflop_per_sample", 3*f/1e9,
			"learning_rate", opt.LR())
	}
	tc := train.Config{Seed: uint64(cfg.Seed), Epochs: cfg.Epochs, GlobalBatch: gb, EvalEvery: cfg.EvalEvery}
	if cfg.Target.Metric != "" {
		tc.Target = &train.Target{Metric: cfg.Target.Metric, Value: cfg.Target.Value, Mode: cfg.Target.Mode}
	}
	return &Run{Config: cfg, Data: d, Task: task, Optimizer: opt, Train: tc}, nil
}

// InputError converts bad-input errors (a *DataError) into a
// *config.Error on key data_dir that still wraps the *DataError, so that
// callers that map config errors to exit code 2 do so for bad data too.
func InputError(err error) error {
	if err == nil || !isDataError(err) {
		return err
	}
	return &config.Error{Key: "data_dir", Msg: err.Error(), Err: err}
}

// WriteReport prints the final science metrics of a result.
func WriteReport(w io.Writer, ms []train.Metric) {
	by := make(map[string]train.Metric, len(ms))
	for _, m := range ms {
		by[m.Name] = m
	}
	get := func(n string) float64 {
		if m, ok := by[n]; ok {
			return m.Value
		}
		return math.NaN()
	}
	fmt.Fprintf(w, "stemdl validation: top-1 %.4f, macro F1 (dataset level, %s classes) %.4f, f1_batchavg (ORNL, x100) %.2f, loss %.4g\n",
		get("top1"), by["macro_f1"].Meta["classes"], get("macro_f1"), get("f1_batchavg"), get("eval_loss"))
	if _, ok := by["inference_top1"]; ok {
		fmt.Fprintf(w, "stemdl inference: top-1 %.4f, macro F1 %.4f, time_per_inference %.6f s/sample\n",
			get("inference_top1"), get("inference_macro_f1"), get("time_per_inference"))
	}
	fmt.Fprintf(w, "published (ORNL ResNet-50, real data, material-disjoint): top-1 0.57, macro F1 0.43; synthetic data: chance 1/8 = 0.125\n")
}
