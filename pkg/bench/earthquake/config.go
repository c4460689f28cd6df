package earthquake

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/scibench/scibench/pkg/bench/earthquake/catalog"

	"github.com/scibench/scibench/pkg/config"
)

// CatalogEmbedded selects the catalog compiled into the binary
// (pkg/bench/earthquake/catalog).
const CatalogEmbedded = "embedded"

// Config is the earthquake benchmark's configuration (configs/earthquake*.yaml).
// The common keys (seed, epochs, batch_size, …) are inline.
type Config struct {
	config.Common `yaml:",inline"`

	// Catalog is the raw catalog (CSV or CSV.gz, or a folder of SCEDC
	// yearly *.catalog files as data fetch writes them), resolved against
	// the working directory, or "embedded". A missing file whose base name is
	// the embedded catalog's falls back to the embedded copy.
	Catalog   string `yaml:"catalog" json:"catalog"`
	Span      string `yaml:"span" json:"span"`           // default|reference
	Locations string `yaml:"locations" json:"locations"` // computed|reference500
	// Model is the LSTM preset: pure (reference) or small.
	Model            string  `yaml:"model" json:"model"`
	Tseq             int     `yaml:"tseq" json:"tseq"`
	Dropout          float64 `yaml:"dropout" json:"dropout"`
	RecurrentDropout float64 `yaml:"recurrent_dropout" json:"recurrent_dropout"`
	Optimizer        string  `yaml:"optimizer" json:"optimizer"` // adam
	Eps              float64 `yaml:"eps" json:"eps"`
	// PairStride keeps every k-th window start s for training (1 = all,
	// the reference); EvalStride the same for prediction and NNSE.
	PairStride int `yaml:"pair_stride" json:"pair_stride"`
	EvalStride int `yaml:"eval_stride" json:"eval_stride"`
	// EvalEvery evaluates every n epochs (0: every epoch, -1: only at the end).
	EvalEvery int `yaml:"eval_every" json:"eval_every"`
	EvalBatch int `yaml:"eval_batch" json:"eval_batch"`
	// BestFit restores the lowest-training-loss weights at the end.
	BestFit bool `yaml:"best_fit" json:"best_fit"`
	// Cache keeps the prepared dataset under data_dir (keyed by the
	// catalog's sha256 and the options) so later runs skip preparation.
	Cache bool `yaml:"cache" json:"cache"`
}

// DefaultConfig is the reference setting (BENCHMARKS.md §5.3): preset
// pure, 50 epochs, Tseq 26, Adam 1e-3 with eps 1e-7, batch = number of
// training locations (batch_size 0), closed division.
func DefaultConfig() Config {
	c := Config{Common: config.Default(), Catalog: CatalogEmbedded, Span: string(SpanDefault),
		Locations: string(LocationsComputed), Model: "pure", Tseq: DefaultTseq, Dropout: 0.2,
		RecurrentDropout: 0.2, Optimizer: "adam", Eps: 1e-7, PairStride: 1, EvalStride: 1,
		EvalBatch: 1024, BestFit: true, Cache: true}
	c.Epochs = 50
	c.BatchSize = 0
	c.LearningRate = 1e-3
	return c
}

// ErrConfig marks an invalid earthquake configuration.
var ErrConfig = errors.New("earthquake: invalid config")

// Validate checks every key; problems name the key.
func (c Config) Validate() error {
	com := c.Common
	if com.BatchSize == 0 { // 0: number of training locations
		com.BatchSize = 1
	}
	errs := []error{com.Validate()}
	bad := func(key, format string, args ...any) {
		errs = append(errs, &config.Error{Key: key, Msg: fmt.Sprintf(format, args...), Err: config.ErrInvalid})
	}
	if c.BatchSize < 0 {
		bad("batch_size", "must be >= 0 (0 = number of training locations), got %d", c.BatchSize)
	}
	if c.Catalog == "" {
		bad("catalog", "must be a file or %q", CatalogEmbedded)
	}
	if err := (Options{Span: Span(c.Span), Locations: LocationSet(c.Locations)}).Validate(); err != nil {
		bad("span/locations", "%v", err)
	}
	if c.Model != "pure" && c.Model != "small" {
		bad("model", "must be pure or small, got %q", c.Model)
	}
	if c.Tseq < 1 || c.Tseq > 1000 {
		bad("tseq", "must be in 1..1000, got %d", c.Tseq)
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		bad("dropout", "must be in [0,1), got %v", c.Dropout)
	}
	if c.RecurrentDropout < 0 || c.RecurrentDropout >= 1 {
		bad("recurrent_dropout", "must be in [0,1), got %v", c.RecurrentDropout)
	}
	if c.Optimizer != "adam" && c.Optimizer != "adamw" && c.Optimizer != "adamax" && c.Optimizer != "sgd" {
		bad("optimizer", "must be adam, adamw, adamax or sgd, got %q", c.Optimizer)
	}
	if !(c.Eps > 0) {
		bad("eps", "must be > 0, got %v", c.Eps)
	}
	if c.PairStride < 1 {
		bad("pair_stride", "must be >= 1, got %d", c.PairStride)
	}
	if c.EvalStride < 1 {
		bad("eval_stride", "must be >= 1, got %d", c.EvalStride)
	}
	if c.EvalEvery < -1 {
		bad("eval_every", "must be >= -1, got %d", c.EvalEvery)
	}
	if c.EvalBatch < 1 {
		bad("eval_batch", "must be >= 1, got %d", c.EvalBatch)
	}
	return errors.Join(errs...)
}

// Changed lists the keys the reference fixes (data, preprocessing, model)
// whose values differ from DefaultConfig; the closed division refuses them.
func (c Config) Changed() []string {
	d := DefaultConfig()
	var out []string
	add := func(key string, differs bool) {
		if differs {
			out = append(out, key)
		}
	}
	add("catalog", c.Catalog != d.Catalog && filepath.Base(c.Catalog) != catalog.Name)
	add("span", c.Span != d.Span)
	add("locations", c.Locations != d.Locations)
	add("model", c.Model != d.Model)
	add("tseq", c.Tseq != d.Tseq)
	add("dropout", c.Dropout != d.Dropout)
	add("recurrent_dropout", c.RecurrentDropout != d.RecurrentDropout)
	add("optimizer", c.Optimizer != d.Optimizer)
	add("eps", c.Eps != d.Eps)
	add("pair_stride", c.PairStride != d.PairStride)
	add("eval_stride", c.EvalStride != d.EvalStride)
	add("best_fit", c.BestFit != d.BestFit)
	add("batch_scope", c.BatchScope != d.BatchScope)
	return out
}
