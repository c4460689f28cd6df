// Package bench is the explicit registry of the benchmarks scibench runs:
// one entry per benchmark package, nothing registered from init().
//
// # Usage
//
//	b, ok := bench.Benchmarks["earthquake"]
//	cfg, err := b.LoadConfig("configs/earthquake.yaml", sets) // exit 2 on error
//	run, err := b.Setup(ctx, cfg, bench.Env{DataDir: dir, Rank: r, World: n})
//	tr, err := train.New(run.Train, run.Task, run.Optimizer, comm)
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/scibench/scibench/pkg/bench/earthquake"
	"github.com/scibench/scibench/pkg/bench/stemdl"
	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/train"
)

// Env is where and as whom a benchmark is set up.
type Env struct {
	DataDir     string // prepared-data cache (--data / data_dir)
	OutDir      string // this run's directory (empty in Prepare)
	Rank, World int
	Logger      *slog.Logger
}

// Run is one benchmark ready for the training loop on one rank.
type Run struct {
	Task         train.Task
	Optimizer    train.Optimizer
	Train        train.Config // Seed, Epochs, GlobalBatch, BestFit, EvalEvery, Target
	TrainSamples int          // per epoch, before dropping the remainder
	EvalSamples  int
}

// Benchmark is one registry entry. Config values are the benchmark's own
// config struct (with config.Common inline), passed back unchanged.
type Benchmark struct {
	Name    string
	Summary string
	// Reference is the reference implementation's version
	// (submission_version).
	Reference string
	// LoadConfig returns the defaults overlaid with the file (if any) and
	// the --set overrides, validated, with the closed division enforced.
	LoadConfig func(path string, sets []string) (any, error)
	// Common returns the common keys of a loaded config.
	Common func(cfg any) config.Common
	// Prepare warms the data cache (the local launcher calls it once
	// before spawning workers); may be nil.
	Prepare func(ctx context.Context, cfg any, env Env) error
	// Setup loads the data and builds the task on one rank.
	Setup func(ctx context.Context, cfg any, env Env) (*Run, error)
	// Report prints the benchmark's final table.
	Report func(w io.Writer, ms []train.Metric)
}

// Benchmarks maps the command-line name to the benchmark.
var Benchmarks = map[string]Benchmark{
	"cloudmask": cloudmaskBenchmark(),
	"uno":       unoBenchmark(),
	earthquake.Name: {
		Name:      earthquake.Name,
		Summary:   "earthquake forecasting LSTM (tevelop), NNSE per horizon",
		Reference: earthquake.Reference,
		LoadConfig: func(path string, sets []string) (any, error) {
			c, err := earthquake.LoadConfig(path, sets)
			return c, err
		},
		Common: func(cfg any) config.Common { return cfg.(earthquake.Config).Common },
		Prepare: func(ctx context.Context, cfg any, env Env) error {
			_, _, err := earthquake.LoadData(ctx, cfg.(earthquake.Config), env.DataDir, true, env.Logger)
			return err
		},
		Setup: func(ctx context.Context, cfg any, env Env) (*Run, error) {
			c, ok := cfg.(earthquake.Config)
			if !ok {
				return nil, fmt.Errorf("bench: earthquake setup got a %T config", cfg)
			}
			r, err := earthquake.Setup(ctx, c, env.DataDir, env.Rank, env.World, env.Logger)
			if err != nil {
				return nil, err
			}
			return &Run{Task: r.Task, Optimizer: r.Optimizer, Train: r.Train,
				TrainSamples: r.Task.NumTrain(), EvalSamples: r.Task.NumEval()}, nil
		},
		Report: earthquake.WriteReport,
	},
	stemdl.Name: {
		Name:      stemdl.Name,
		Summary:   "stemdl CBED space-group classification (ResNet), top-1 and macro F1",
		Reference: stemdl.Reference,
		LoadConfig: func(path string, sets []string) (any, error) {
			c, err := stemdl.LoadConfig(path, sets)
			return c, err
		},
		Common: func(cfg any) config.Common { return cfg.(stemdl.Config).Common },
		Prepare: func(ctx context.Context, cfg any, env Env) error {
			return stemdl.InputError(stemdl.Prepare(ctx, cfg.(stemdl.Config), env.DataDir, env.Logger))
		},
		Setup: func(ctx context.Context, cfg any, env Env) (*Run, error) {
			c, ok := cfg.(stemdl.Config)
			if !ok {
				return nil, fmt.Errorf("bench: stemdl setup got a %T config", cfg)
			}
			r, err := stemdl.Setup(ctx, c, env.DataDir, env.Rank, env.World, env.Logger)
			if err != nil {
				return nil, stemdl.InputError(err)
			}
			return &Run{Task: r.Task, Optimizer: r.Optimizer, Train: r.Train,
				TrainSamples: r.Task.NumTrain(), EvalSamples: r.Task.NumEval()}, nil
		},
		Report: stemdl.WriteReport,
	},
}
