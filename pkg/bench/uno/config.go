package uno

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/train"
)

// Name is the benchmark's name on the command line; Reference its
// reference implementation's version; RefFile the reference data file.
const (
	Name      = "uno"
	Reference = "mlcommons-uno-v1.0"
	RefFile   = "top_21_auc_1fold.uno.h5"
)

// Load modes.
const (
	LoadAuto   = "auto"   // memory when it fits in memory_limit_mb, else stream
	LoadMemory = "memory" // read this rank's rows once, before training
	LoadStream = "stream" // read every batch from the file
)

// Data checks done by Prepare (the launcher) before workers start.
const (
	CheckFull   = "full"   // keys, widths, row counts and every value (NaN/Inf)
	CheckHeader = "header" // keys, widths and row counts only
)

// Config is the candle-uno configuration (configs/uno*.yaml). The common
// keys (seed, epochs, batch_size, …) are inline.
type Config struct {
	config.Common `yaml:",inline"`

	// File is the data file: an absolute path, a path relative to the
	// working directory, or a name looked up in data_dir.
	File string `yaml:"file" json:"file"`
	// Load is auto, memory or stream; MemoryLimitMB bounds auto's memory
	// choice (per rank).
	Load          string `yaml:"load" json:"load"`
	MemoryLimitMB int    `yaml:"memory_limit_mb" json:"memory_limit_mb"`
	// CheckData is full or header (what Prepare verifies).
	CheckData string `yaml:"check_data" json:"check_data"`
	// EvalSplit is the partition evaluated every epoch (val or test).
	EvalSplit string `yaml:"eval_split" json:"eval_split"`
	EvalBatch int    `yaml:"eval_batch" json:"eval_batch"`
	// BestFit restores, after training, the weights of the epoch with the
	// lowest eval-split loss (the reference's ModelCheckpoint on val_loss);
	// the final metrics and the inference phase then use them.
	BestFit bool `yaml:"best_fit" json:"best_fit"`
	// MCPasses is the number of Monte Carlo dropout passes of the
	// inference phase after training, over the eval split (uno_infer.py
	// -n; the published MC figures use 30); 0 skips the phase.
	MCPasses int `yaml:"mc_passes" json:"mc_passes"`
	// Predictions makes rank 0 write uno.predicted.tsv (AUC, Sample,
	// Drug1, PredictedAUC, AUCError and the spread over the passes) in the
	// run directory after the inference phase.
	Predictions bool `yaml:"predictions" json:"predictions"`
	// Shuffle draws training rows in the loop's seeded random order
	// instead of file order (the reference reads in file order).
	Shuffle bool `yaml:"shuffle" json:"shuffle"`

	// Model (§4.3).
	CellFeatures int     `yaml:"cell_features" json:"cell_features"`
	DrugFeatures int     `yaml:"drug_features" json:"drug_features"`
	Hidden       int     `yaml:"hidden" json:"hidden"`
	TowerLayers  int     `yaml:"tower_layers" json:"tower_layers"`
	HeadLayers   int     `yaml:"head_layers" json:"head_layers"`
	Dropout      float64 `yaml:"dropout" json:"dropout"`
	InitSeed     int64   `yaml:"init_seed" json:"init_seed"`

	// Optimizer and schedule: Adamax; the rate falls linearly from
	// WarmupStart (epoch 0) to learning_rate (epoch WarmupEpochs), then
	// ReduceLROnPlateau(val_loss) and early stopping.
	Optimizer       string  `yaml:"optimizer" json:"optimizer"`
	Eps             float64 `yaml:"eps" json:"eps"`
	WarmupStart     float64 `yaml:"warmup_start" json:"warmup_start"`
	WarmupEpochs    int     `yaml:"warmup_epochs" json:"warmup_epochs"`
	PlateauFactor   float64 `yaml:"plateau_factor" json:"plateau_factor"`
	PlateauPatience int     `yaml:"plateau_patience" json:"plateau_patience"`
	PlateauMinDelta float64 `yaml:"plateau_min_delta" json:"plateau_min_delta"`
	MinLR           float64 `yaml:"min_lr" json:"min_lr"`
	EarlyStop       int     `yaml:"early_stop_patience" json:"early_stop_patience"` // 0: off
}

// DefaultConfig is the reference setting (uno_auc_model.txt with --es
// True): 50 epochs, batch 32 per rank, learning rate 1e-4 after the
// warm-down from 1e-3, Adamax eps 1e-7, dropout 0.1, closed division.
func DefaultConfig() Config {
	c := Config{Common: config.Default(), File: RefFile, Load: LoadAuto, MemoryLimitMB: 8192, CheckData: CheckFull,
		EvalSplit: "val", EvalBatch: 1024, CellFeatures: CellFeatures, DrugFeatures: DrugFeatures, Hidden: 1000,
		TowerLayers: 3, HeadLayers: 5, Dropout: 0.1, InitSeed: 2018, Optimizer: "adamax", Eps: 1e-7,
		WarmupStart: 0.001, WarmupEpochs: 5, PlateauFactor: 0.5, PlateauPatience: 5, PlateauMinDelta: 1e-4,
		MinLR: 1e-5, EarlyStop: 10, MCPasses: 30, Predictions: true, BestFit: true}
	c.Epochs = 50
	c.BatchSize = 32
	c.BatchScope = config.BatchPerRank
	c.LearningRate = 1e-4
	return c
}

// LoadConfig returns DefaultConfig overlaid with the YAML file at path
// (skipped when empty) and the `--set key=value` overrides, validated, with
// the closed division enforced. Errors name the file, line and key.
func LoadConfig(path string, sets []string) (Config, error) {
	return train.LoadConfig(DefaultConfig(), path, sets)
}

// Validate checks every key; problems are *config.Error naming the key.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	bad := func(key, format string, args ...any) {
		errs = append(errs, &config.Error{Key: key, Msg: fmt.Sprintf(format, args...), Err: config.ErrInvalid})
	}
	if c.File == "" {
		bad("file", "must name the data file")
	}
	if c.Load != LoadAuto && c.Load != LoadMemory && c.Load != LoadStream {
		bad("load", "must be auto, memory or stream, got %q", c.Load)
	}
	if c.MemoryLimitMB < 0 {
		bad("memory_limit_mb", "must be >= 0, got %d", c.MemoryLimitMB)
	}
	if c.CheckData != CheckFull && c.CheckData != CheckHeader {
		bad("check_data", "must be full or header, got %q", c.CheckData)
	}
	if c.EvalSplit != "val" && c.EvalSplit != "test" {
		bad("eval_split", "must be val or test, got %q", c.EvalSplit)
	}
	if c.MCPasses < 0 || c.MCPasses > 1000 {
		bad("mc_passes", "must be in [0, 1000], got %d", c.MCPasses)
	}
	if c.EvalBatch < 1 {
		bad("eval_batch", "must be >= 1, got %d", c.EvalBatch)
	}
	for _, k := range []struct {
		key string
		v   int
		min int
	}{{"cell_features", c.CellFeatures, 1}, {"drug_features", c.DrugFeatures, 1}, {"hidden", c.Hidden, 1},
		{"tower_layers", c.TowerLayers, 0}, {"head_layers", c.HeadLayers, 0}, {"warmup_epochs", c.WarmupEpochs, 0},
		{"plateau_patience", c.PlateauPatience, 1}, {"early_stop_patience", c.EarlyStop, 0}} {
		if k.v < k.min {
			bad(k.key, "must be >= %d, got %d", k.min, k.v)
		}
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		bad("dropout", "must be in [0,1), got %v", c.Dropout)
	}
	if c.Optimizer != "adamax" {
		bad("optimizer", "must be adamax (the reference's), got %q", c.Optimizer)
	}
	if !(c.Eps > 0) {
		bad("eps", "must be > 0, got %v", c.Eps)
	}
	if !(c.WarmupStart > 0) {
		bad("warmup_start", "must be > 0, got %v", c.WarmupStart)
	}
	if !(c.PlateauFactor > 0 && c.PlateauFactor < 1) {
		bad("plateau_factor", "must be in (0,1), got %v", c.PlateauFactor)
	}
	if c.PlateauMinDelta < 0 {
		bad("plateau_min_delta", "must be >= 0, got %v", c.PlateauMinDelta)
	}
	if c.MinLR < 0 {
		bad("min_lr", "must be >= 0, got %v", c.MinLR)
	}
	return errors.Join(errs...)
}

// Changed lists the keys the reference fixes (data, model, optimizer and
// schedule) whose values differ from DefaultConfig; the closed division
// refuses them. Batch size, learning rate, epochs and the data-loading
// keys may change.
func (c Config) Changed() []string {
	d := DefaultConfig()
	var out []string
	add := func(key string, differs bool) {
		if differs {
			out = append(out, key)
		}
	}
	add("file", filepath.Base(c.File) != RefFile)
	add("eval_split", c.EvalSplit != d.EvalSplit)
	add("shuffle", c.Shuffle != d.Shuffle)
	add("best_fit", c.BestFit != d.BestFit)
	add("cell_features", c.CellFeatures != d.CellFeatures)
	add("drug_features", c.DrugFeatures != d.DrugFeatures)
	add("hidden", c.Hidden != d.Hidden)
	add("tower_layers", c.TowerLayers != d.TowerLayers)
	add("head_layers", c.HeadLayers != d.HeadLayers)
	add("dropout", c.Dropout != d.Dropout)
	add("init_seed", c.InitSeed != d.InitSeed)
	add("eps", c.Eps != d.Eps)
	add("warmup_start", c.WarmupStart != d.WarmupStart)
	add("warmup_epochs", c.WarmupEpochs != d.WarmupEpochs)
	add("plateau_factor", c.PlateauFactor != d.PlateauFactor)
	add("plateau_patience", c.PlateauPatience != d.PlateauPatience)
	add("plateau_min_delta", c.PlateauMinDelta != d.PlateauMinDelta)
	add("min_lr", c.MinLR != d.MinLR)
	add("early_stop_patience", c.EarlyStop != d.EarlyStop)
	return out
}
