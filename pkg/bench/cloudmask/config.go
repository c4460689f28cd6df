package cloudmask

import (
	"errors"
	"fmt"
	"math"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/train"
)

// Name is the benchmark's name on the command line; Reference its
// reference implementation's version (submission_version).
const (
	Name      = "cloudmask"
	Reference = "mlcommons-cloudmask-v1.1"
)

// Values of Config.Normalisation (BENCHMARKS.md §2.2).
const (
	// NormFixed is v1.1's fixed normalisation: bts' = (bts−270)/22,
	// refs' = refs − 0.5.
	NormFixed = "fixed"
	// NormPerImage is v1.2's: per file, each of refs and bts standardised
	// by its own scalar mean and standard deviation.
	NormPerImage = "per_image"
)

// Values of Config.BadFiles.
const (
	BadFilesError = "error" // a bad scene stops the run (exit code 2)
	BadFilesSkip  = "skip"  // a bad scene is skipped with a warning and counted
)

// Config is the cloud-mask benchmark's configuration
// (configs/cloudmask*.yaml). The common keys are inline; data_dir holds
// training/ and inference/ scene folders.
type Config struct {
	config.Common `yaml:",inline"`

	// Synthetic, when set (tiny|small|full-shape), generates synthetic
	// scenes (BENCHMARKS.md §2.6) under data_dir/cloudmask-synthetic-<scale>
	// once, and reads them instead of data_dir itself.
	Synthetic string `yaml:"synthetic" json:"synthetic"`
	// TrainDir and InferenceDir are the scene folders, relative to data_dir
	// (searched recursively for S3A*.hdf).
	TrainDir     string `yaml:"train_dir" json:"train_dir"`
	InferenceDir string `yaml:"inference_dir" json:"inference_dir"`
	// Normalisation is fixed (v1.1, the default) or per_image (v1.2).
	Normalisation string `yaml:"normalisation" json:"normalisation"`
	// PatchSize is the square training/inference tile (256); a multiple of 8.
	PatchSize int `yaml:"patch_size" json:"patch_size"`
	// InferenceStride is the tile stride of inference (176 = 256 − 80); the
	// central stride² of each tile is kept.
	InferenceStride int `yaml:"inference_stride" json:"inference_stride"`
	// Filters is the U-Net's top-level width (32).
	Filters       int     `yaml:"filters" json:"filters"`
	TrainFraction float64 `yaml:"train_fraction" json:"train_fraction"`
	SplitSeed     int64   `yaml:"split_seed" json:"split_seed"`
	Eps           float64 `yaml:"eps" json:"eps"`
	// EvalEvery evaluates every n epochs (0: every epoch, -1: only at the end).
	EvalEvery int `yaml:"eval_every" json:"eval_every"`
	// EvalBatch is the number of patches per forward in evaluation and
	// inference.
	EvalBatch int `yaml:"eval_batch" json:"eval_batch"`
	// Inference runs tiled inference over the inference scenes after the
	// last epoch; InferenceFiles limits their number (0: all).
	Inference      bool `yaml:"inference" json:"inference"`
	InferenceFiles int  `yaml:"inference_files" json:"inference_files"`
	// MaskDir receives <scene>.h5 masks, PNG previews and split.json; empty:
	// out_dir/inference when out_dir is set, else runs/cloudmask-inference.
	MaskDir string `yaml:"mask_dir" json:"mask_dir"`
	// Previews is the number of scenes with a PNG preview.
	Previews int `yaml:"previews" json:"previews"`
	// CacheMB bounds the memory of decoded training bands per rank.
	CacheMB int `yaml:"cache_mb" json:"cache_mb"`
	// BadFiles is error (default) or skip.
	BadFiles string `yaml:"bad_files" json:"bad_files"`

	// Split is filled by Setup with the file split it used, so that
	// result.json's resolved config records it; it cannot be set.
	Split *SplitRecord `yaml:"-" json:"split,omitempty"`
}

// SplitRecord is the file-level split of one run.
type SplitRecord struct {
	Seed       int64    `json:"seed"`
	Train      []string `json:"train"`
	Validation []string `json:"validation"`
	Inference  []string `json:"inference"`
	Skipped    []string `json:"skipped,omitempty"`
}

// DefaultConfig is the reference setting (BENCHMARKS.md §2.2-2.3):
// 256² patches, stride-176 inference, U-Net 32 filters, Adam 1e-3 with
// eps 1e-7, batch 32 global, 1 epoch, 80/20 split, closed division.
func DefaultConfig() Config {
	c := Config{Common: config.Default(), TrainDir: "training", InferenceDir: "inference",
		Normalisation: NormFixed, PatchSize: 256, InferenceStride: 176, Filters: 32, TrainFraction: 0.8,
		SplitSeed: 1234, Eps: 1e-7, EvalBatch: 8, Inference: true, Previews: 3, CacheMB: 4096,
		BadFiles: BadFilesError}
	c.Epochs = 1
	c.BatchSize = 32
	c.LearningRate = 1e-3
	return c
}

// LoadConfig returns DefaultConfig overlaid with the YAML file at path
// (skipped when empty) and the --set overrides, validated, with the closed
// division enforced. Errors name the file, line and key.
func LoadConfig(path string, sets []string) (Config, error) {
	cfg, err := train.LoadConfig(DefaultConfig(), path, sets)
	if err != nil {
		return cfg, err
	}
	cfg.Split = &SplitRecord{}
	return cfg, nil
}

// Validate checks every key; problems are *config.Error naming the key.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	bad := func(key, format string, args ...any) {
		errs = append(errs, &config.Error{Key: key, Msg: fmt.Sprintf(format, args...), Err: config.ErrInvalid})
	}
	if c.Synthetic != "" {
		if _, err := ParseScale(c.Synthetic); err != nil {
			bad("synthetic", "must be empty, tiny, small or full-shape, got %q", c.Synthetic)
		}
	}
	if c.TrainDir == "" {
		bad("train_dir", "must name a folder under data_dir")
	}
	if c.Inference && c.InferenceDir == "" {
		bad("inference_dir", "must name a folder under data_dir when inference is on")
	}
	if c.Normalisation != NormFixed && c.Normalisation != NormPerImage {
		bad("normalisation", "must be %q or %q, got %q", NormFixed, NormPerImage, c.Normalisation)
	}
	if c.PatchSize < 8 || c.PatchSize%8 != 0 || c.PatchSize > 4096 {
		bad("patch_size", "must be a multiple of 8 in [8,4096], got %d", c.PatchSize)
	}
	if c.InferenceStride < 1 || c.InferenceStride > c.PatchSize || (c.PatchSize-c.InferenceStride)%2 != 0 {
		bad("inference_stride", "must be in [1,patch_size] with patch_size−stride even, got %d", c.InferenceStride)
	}
	if c.Filters < 1 || c.Filters > 1024 {
		bad("filters", "must be in [1,1024], got %d", c.Filters)
	}
	if !(c.TrainFraction > 0 && c.TrainFraction < 1) {
		bad("train_fraction", "must be in (0,1), got %v", c.TrainFraction)
	}
	if !(c.Eps > 0) || math.IsInf(c.Eps, 0) {
		bad("eps", "must be a finite number > 0, got %v", c.Eps)
	}
	if c.EvalEvery < -1 {
		bad("eval_every", "must be >= -1, got %d", c.EvalEvery)
	}
	if c.EvalBatch < 1 || c.EvalBatch > 4096 {
		bad("eval_batch", "must be in [1,4096], got %d", c.EvalBatch)
	}
	if c.InferenceFiles < 0 {
		bad("inference_files", "must be >= 0 (0 = all), got %d", c.InferenceFiles)
	}
	if c.Previews < 0 {
		bad("previews", "must be >= 0, got %d", c.Previews)
	}
	if c.CacheMB < 1 {
		bad("cache_mb", "must be >= 1, got %d", c.CacheMB)
	}
	if c.BadFiles != BadFilesError && c.BadFiles != BadFilesSkip {
		bad("bad_files", "must be %q or %q, got %q", BadFilesError, BadFilesSkip, c.BadFiles)
	}
	return errors.Join(errs...)
}

// Changed lists the keys the reference fixes (data, preprocessing, model)
// whose values differ from DefaultConfig; the closed division refuses them.
// Synthetic data is not the reference data.
func (c Config) Changed() []string {
	d := DefaultConfig()
	var out []string
	add := func(key string, differs bool) {
		if differs {
			out = append(out, key)
		}
	}
	add("synthetic", c.Synthetic != "")
	add("normalisation", c.Normalisation != d.Normalisation)
	add("patch_size", c.PatchSize != d.PatchSize)
	add("inference_stride", c.InferenceStride != d.InferenceStride)
	add("filters", c.Filters != d.Filters)
	add("train_fraction", c.TrainFraction != d.TrainFraction)
	add("eps", c.Eps != d.Eps)
	add("batch_scope", c.BatchScope != d.BatchScope)
	return out
}
