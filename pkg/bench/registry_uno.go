package bench

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/scibench/scibench/pkg/bench/uno"
	"github.com/scibench/scibench/pkg/config"
)

// unoBenchmark is the registry entry of the candle-uno benchmark (package
// uno).
func unoBenchmark() Benchmark {
	return Benchmark{
		Name:      uno.Name,
		Summary:   "candle-uno drug-response AUC regression (2 towers + 5x1000 MLP), val MSE and samples/s",
		Reference: uno.Reference,
		LoadConfig: func(path string, sets []string) (any, error) {
			c, err := uno.LoadConfig(path, sets)
			return c, err
		},
		Common: func(cfg any) config.Common { return cfg.(uno.Config).Common },
		Prepare: func(ctx context.Context, cfg any, env Env) error {
			return uno.InputError(uno.Prepare(ctx, cfg.(uno.Config), env.DataDir, env.Logger))
		},
		Setup: func(ctx context.Context, cfg any, env Env) (*Run, error) {
			c, ok := cfg.(uno.Config)
			if !ok {
				return nil, fmt.Errorf("bench: uno setup got a %T config", cfg)
			}
			r, err := uno.Setup(ctx, c, env.DataDir, env.Rank, env.World, env.Logger)
			if err != nil {
				return nil, uno.InputError(err)
			}
			if env.Rank == 0 && env.OutDir != "" && c.Predictions {
				r.Task.SetPredictionsPath(filepath.Join(env.OutDir, uno.PredictionsFile))
			}
			return &Run{Task: r.TrainTask(), Optimizer: r.Optimizer, Train: r.Train,
				TrainSamples: r.Task.NumTrain(), EvalSamples: r.Task.NumEval()}, nil
		},
		Report: uno.WriteReport,
	}
}
