package bench

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/scibench/scibench/pkg/bench/cloudmask"
	"github.com/scibench/scibench/pkg/config"
)

// cloudmaskBenchmark is the registry entry of the cloud-mask benchmark
// (package cloudmask).
func cloudmaskBenchmark() Benchmark {
	return Benchmark{
		Name:      cloudmask.Name,
		Summary:   "cloud-mask U-Net on SLSTR scenes, pixel accuracy, tiled inference",
		Reference: cloudmask.Reference,
		LoadConfig: func(path string, sets []string) (any, error) {
			c, err := cloudmask.LoadConfig(path, sets)
			return c, err
		},
		Common: func(cfg any) config.Common { return cfg.(cloudmask.Config).Common },
		Prepare: func(ctx context.Context, cfg any, env Env) error {
			return cloudmask.Prepare(ctx, cfg.(cloudmask.Config), env.DataDir, env.Logger)
		},
		Setup: func(ctx context.Context, cfg any, env Env) (*Run, error) {
			c, ok := cfg.(cloudmask.Config)
			if !ok {
				return nil, fmt.Errorf("bench: cloudmask setup got a %T config", cfg)
			}
			if c.MaskDir == "" && env.OutDir != "" {
				c.MaskDir = filepath.Join(env.OutDir, "inference") // masks and previews in the run directory
			}
			r, err := cloudmask.Setup(ctx, c, env.DataDir, env.Rank, env.World, env.Logger)
			if err != nil {
				return nil, err
			}
			return &Run{Task: r.Task, Optimizer: r.Optimizer, Train: r.Train,
				TrainSamples: r.Task.NumTrain(), EvalSamples: r.Task.NumEval()}, nil
		},
		Report: cloudmask.WriteReport,
	}
}
