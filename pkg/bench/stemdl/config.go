package stemdl

import (
	"errors"
	"fmt"
	"math"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/train"
)

// Name is the benchmark's name on the command line; Reference its
// reference implementation's version.
const (
	Name      = "stemdl"
	Reference = "mlcommons-stemdl-v1.0"
)

// Values of Config keys.
const (
	LossCrossEntropy = "cross_entropy"
	LossMSEOneHot    = "mse_onehot" // the official STFC code: MSE(logits, one_hot(y, 231))
	FormatNPZ        = "npz"
	FormatHDF5       = "hdf5"
	LRScaleWorld     = "world" // ORNL: lr × number of ranks
	LRScaleNone      = "none"
)

// Config is the stemdl benchmark's configuration (configs/stemdl*.yaml).
// The common keys (seed, epochs, batch_size, …) are inline.
type Config struct {
	config.Common `yaml:",inline"`

	// Model is resnet50 (the reference), resnet34 or resnet18.
	Model string `yaml:"model" json:"model"`
	// Width is the stem/first-stage width (64 in the reference; smaller
	// values shrink every stage for CPU-sized runs).
	Width int `yaml:"width" json:"width"`
	// ImageSize is the model input side: 128 (the files' size) or a
	// divisor of it, reached by block averaging.
	ImageSize int `yaml:"image_size" json:"image_size"`
	// Loss is cross_entropy or mse_onehot.
	Loss string `yaml:"loss" json:"loss"`
	// Optimizer is adamw (decoupled weight decay) or adam.
	Optimizer   string  `yaml:"optimizer" json:"optimizer"`
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
	Eps         float64 `yaml:"eps" json:"eps"`
	// LRScale is world (ORNL: learning_rate × ranks) or none.
	LRScale string `yaml:"lr_scale" json:"lr_scale"`
	// DataFormat is npz (folders training/validation/testing/inference of
	// sample-*.npz) or hdf5 (raw ORNL folders train/dev/test of *.h5,
	// preprocessed on load).
	DataFormat string `yaml:"data_format" json:"data_format"`
	// Synthetic, when tiny or small, generates synthetic CBED data (once,
	// under the data cache) instead of reading data_dir.
	Synthetic string `yaml:"synthetic" json:"synthetic"`
	// EvalBatch is the evaluation batch per rank (also the batch of the
	// per-batch F1 average).
	EvalBatch int `yaml:"eval_batch" json:"eval_batch"`
	// EvalEvery evaluates every n epochs (0: every epoch, -1: at the end).
	EvalEvery int `yaml:"eval_every" json:"eval_every"`
	// Inference also evaluates the inference folder at every evaluation
	// (time_per_inference, inference_top1, inference_macro_f1).
	Inference bool `yaml:"inference" json:"inference"`
}

// DefaultConfig is the reference setting (BENCHMARKS.md §3.3, OURS
// default): ResNet-50 at 128², cross-entropy, AdamW 1e-3 with weight decay
// 5e-5 and eps 1e-8, learning rate × ranks, 32 samples per rank, 10
// epochs, npz data, closed division.
func DefaultConfig() Config {
	c := Config{Common: config.Default(), Model: "resnet50", Width: 64, ImageSize: SampleSize,
		Loss: LossCrossEntropy, Optimizer: "adamw", WeightDecay: 5e-5, Eps: 1e-8, LRScale: LRScaleWorld,
		DataFormat: FormatNPZ, EvalBatch: 32, Inference: true}
	c.Epochs = 10
	c.BatchSize = 32
	c.BatchScope = config.BatchPerRank
	c.LearningRate = 1e-3
	return c
}

// LoadConfig returns DefaultConfig overlaid with the YAML file at path
// (skipped when empty) and the `--set key=value` overrides, validated,
// with the closed division enforced. Errors name the file, line and key.
func LoadConfig(path string, sets []string) (Config, error) {
	return train.LoadConfig(DefaultConfig(), path, sets)
}

// Depth returns the ResNet depth of cfg.Model (0 when unknown).
func (c Config) Depth() int {
	switch c.Model {
	case "resnet18":
		return 18
	case "resnet34":
		return 34
	case "resnet50":
		return 50
	}
	return 0
}

// Validate checks every key; problems name the key.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	bad := func(key, format string, args ...any) {
		errs = append(errs, &config.Error{Key: key, Msg: fmt.Sprintf(format, args...), Err: config.ErrInvalid})
	}
	if c.Depth() == 0 {
		bad("model", "must be resnet50, resnet34 or resnet18, got %q", c.Model)
	}
	if c.Width < 1 || c.Width > 256 {
		bad("width", "must be in 1..256, got %d", c.Width)
	}
	if c.ImageSize < 1 || c.ImageSize > SampleSize || SampleSize%c.ImageSize != 0 {
		bad("image_size", "must divide %d (128, 64, 32, 16, ...), got %d", SampleSize, c.ImageSize)
	}
	if c.Loss != LossCrossEntropy && c.Loss != LossMSEOneHot {
		bad("loss", "must be %s or %s, got %q", LossCrossEntropy, LossMSEOneHot, c.Loss)
	}
	if c.Optimizer != "adamw" && c.Optimizer != "adam" {
		bad("optimizer", "must be adamw or adam, got %q", c.Optimizer)
	}
	if c.WeightDecay < 0 || math.IsNaN(c.WeightDecay) || math.IsInf(c.WeightDecay, 0) {
		bad("weight_decay", "must be a finite number >= 0, got %v", c.WeightDecay)
	}
	if !(c.Eps > 0) || math.IsInf(c.Eps, 0) {
		bad("eps", "must be a finite number > 0, got %v", c.Eps)
	}
	if c.LRScale != LRScaleWorld && c.LRScale != LRScaleNone {
		bad("lr_scale", "must be %s or %s, got %q", LRScaleWorld, LRScaleNone, c.LRScale)
	}
	if c.DataFormat != FormatNPZ && c.DataFormat != FormatHDF5 {
		bad("data_format", "must be %s or %s, got %q", FormatNPZ, FormatHDF5, c.DataFormat)
	}
	if c.Synthetic != "" && c.Synthetic != "tiny" && c.Synthetic != "small" {
		bad("synthetic", "must be empty, tiny or small, got %q", c.Synthetic)
	}
	if c.Synthetic != "" && c.DataFormat != FormatNPZ {
		bad("data_format", "synthetic data is generated as npz; data_format must be npz")
	}
	if c.EvalBatch < 1 || c.EvalBatch > 4096 {
		bad("eval_batch", "must be in 1..4096, got %d", c.EvalBatch)
	}
	if c.EvalEvery < -1 {
		bad("eval_every", "must be >= -1, got %d", c.EvalEvery)
	}
	return errors.Join(errs...)
}

// Changed lists the keys the reference fixes (data, preprocessing, model,
// loss, optimizer) whose values differ from DefaultConfig; the closed
// division refuses them.
func (c Config) Changed() []string {
	d := DefaultConfig()
	var out []string
	add := func(key string, differs bool) {
		if differs {
			out = append(out, key)
		}
	}
	add("model", c.Model != d.Model)
	add("width", c.Width != d.Width)
	add("image_size", c.ImageSize != d.ImageSize)
	add("loss", c.Loss != d.Loss)
	add("optimizer", c.Optimizer != d.Optimizer)
	add("weight_decay", c.WeightDecay != d.WeightDecay)
	add("eps", c.Eps != d.Eps)
	add("synthetic", c.Synthetic != d.Synthetic)
	return out
}
