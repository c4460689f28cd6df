package config

import (
	"errors"
	"fmt"
	"math"
)

// Values of Common.BatchScope.
const (
	// BatchGlobal: batch_size is the global batch, split across workers
	// (the reference implementations' meaning; strong scaling).
	BatchGlobal = "global"
	// BatchPerRank: batch_size is each worker's batch (weak scaling).
	BatchPerRank = "per_rank"
)

// Values of Common.Division.
const (
	DivisionClosed = "closed"
	DivisionOpen   = "open"
)

// Values of Target.Mode.
const (
	ModeMin = "min" // the target is reached when metric <= value
	ModeMax = "max" // the target is reached when metric >= value
)

// Target is the science-metric goal of a run. An empty Metric means none.
type Target struct {
	Metric string  `yaml:"metric" json:"metric"`
	Value  float64 `yaml:"value" json:"value"`
	Mode   string  `yaml:"mode" json:"mode"`
}

// Reached reports whether the metric value v meets the target. It is false
// when no target is set or v is NaN.
func (t Target) Reached(v float64) bool {
	if t.Metric == "" || math.IsNaN(v) {
		return false
	}
	if t.Mode == ModeMin {
		return v <= t.Value
	}
	return v >= t.Value
}

// Common holds the keys every benchmark config has, with the same names
// everywhere. Benchmarks embed it with `yaml:",inline"`.
type Common struct {
	Seed         int64   `yaml:"seed" json:"seed"`
	Epochs       int     `yaml:"epochs" json:"epochs"`
	BatchSize    int     `yaml:"batch_size" json:"batch_size"`
	BatchScope   string  `yaml:"batch_scope" json:"batch_scope"` // BatchGlobal or BatchPerRank
	LearningRate float64 `yaml:"learning_rate" json:"learning_rate"`
	Threads      int     `yaml:"threads" json:"threads"`   // compute threads per worker; 0 = automatic
	Division     string  `yaml:"division" json:"division"` // DivisionClosed or DivisionOpen
	Target       Target  `yaml:"target" json:"target"`
	DataDir      string  `yaml:"data_dir" json:"data_dir"` // empty: the benchmark's default or synthetic data
	OutDir       string  `yaml:"out_dir" json:"out_dir"`   // empty: runs/<bench>-<timestamp>
}

// Default returns the benchmark-independent defaults; benchmarks override
// what their reference sets.
func Default() Common {
	return Common{
		Seed:         1234,
		Epochs:       1,
		BatchSize:    32,
		BatchScope:   BatchGlobal,
		LearningRate: 1e-3,
		Division:     DivisionClosed,
	}
}

// Validate checks every key and returns all problems joined, each an *Error
// with the key's name that unwraps to ErrInvalid.
func (c Common) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid})
	}
	if c.Epochs < 1 {
		bad("epochs", "must be at least 1, got %d", c.Epochs)
	}
	if c.BatchSize < 1 {
		bad("batch_size", "must be at least 1, got %d", c.BatchSize)
	}
	if c.BatchScope != BatchGlobal && c.BatchScope != BatchPerRank {
		bad("batch_scope", "must be %q or %q, got %q", BatchGlobal, BatchPerRank, c.BatchScope)
	}
	if !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0) {
		bad("learning_rate", "must be a finite number > 0, got %v", c.LearningRate)
	}
	if c.Threads < 0 {
		bad("threads", "must be >= 0 (0 = automatic), got %d", c.Threads)
	}
	if c.Division != DivisionClosed && c.Division != DivisionOpen {
		bad("division", "must be %q or %q, got %q", DivisionClosed, DivisionOpen, c.Division)
	}
	if c.Target.Metric != "" || c.Target.Mode != "" || c.Target.Value != 0 {
		if c.Target.Metric == "" {
			bad("target.metric", "must name a metric when target.value or target.mode is set")
		}
		if c.Target.Mode != ModeMin && c.Target.Mode != ModeMax {
			bad("target.mode", "must be %q or %q, got %q", ModeMin, ModeMax, c.Target.Mode)
		}
		if math.IsNaN(c.Target.Value) || math.IsInf(c.Target.Value, 0) {
			bad("target.value", "must be finite, got %v", c.Target.Value)
		}
	}
	return errors.Join(errs...)
}

// RankBatch returns the batch one of world workers processes per step:
// batch_size for BatchPerRank, batch_size/world for BatchGlobal, which must
// then divide evenly.
func (c Common) RankBatch(world int) (int, error) {
	if world < 1 {
		return 0, fmt.Errorf("%w: world size %d < 1", ErrInvalid, world)
	}
	if c.BatchScope == BatchPerRank {
		return c.BatchSize, nil
	}
	if c.BatchSize%world != 0 || c.BatchSize < world {
		return 0, &Error{Key: "batch_size", Err: ErrInvalid,
			Msg: fmt.Sprintf("global batch %d is not divisible by world size %d", c.BatchSize, world)}
	}
	return c.BatchSize / world, nil
}

// GlobalBatch returns the number of samples all world workers process per step.
func (c Common) GlobalBatch(world int) int {
	if c.BatchScope == BatchPerRank {
		return c.BatchSize * world
	}
	return c.BatchSize
}

// SubmissionDivision returns the division setting (closed or open); it lets
// generic code read it from any config that embeds Common.
func (c Common) SubmissionDivision() string { return c.Division }
