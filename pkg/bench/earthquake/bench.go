package earthquake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/scibench/scibench/pkg/bench/earthquake/catalog"
	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/train"
)

// Name is the benchmark's name on the command line; Reference its
// reference implementation's version.
const (
	Name      = "earthquake"
	Reference = "mlcommons-earthquake-v1.1"
)

// LoadConfig returns DefaultConfig overlaid with the YAML file at path
// (skipped when empty) and the `--set key=value` overrides, validated.
// Errors name the file, line and key.
func LoadConfig(path string, sets []string) (Config, error) {
	return train.LoadConfig(DefaultConfig(), path, sets)
}

// catalogSource opens the configured catalog: a file, or the embedded copy
// for "embedded" or a missing file with the embedded catalog's name.
func catalogSource(cfg Config) (name string, open func() (io.ReadCloser, error), sum func() (string, error), err error) {
	embedded := func() (string, func() (io.ReadCloser, error), func() (string, error), error) {
		return "embedded:" + catalog.Name, catalog.Open, func() (string, error) {
			h := sha256.Sum256(catalog.Gzipped())
			return hex.EncodeToString(h[:]), nil
		}, nil
	}
	if cfg.Catalog == CatalogEmbedded {
		return embedded()
	}
	st, err := os.Stat(cfg.Catalog)
	if errors.Is(err, os.ErrNotExist) && filepath.Base(cfg.Catalog) == catalog.Name {
		return embedded()
	} else if err != nil {
		return "", nil, nil, &DataError{File: cfg.Catalog, Msg: err.Error(), Err: ErrMalformed}
	}
	path := cfg.Catalog
	if st.IsDir() { // SCEDC yearly files (data fetch earthquake), merged on the fly
		open := func() (io.ReadCloser, error) {
			c, err := OpenSCEDC(context.Background(), path)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return c, nil
		}
		return path, open, func() (string, error) {
			r, err := open()
			if err != nil {
				return "", err
			}
			defer r.Close()
			h := sha256.New()
			if _, err := io.Copy(h, r); err != nil {
				return "", err
			}
			return hex.EncodeToString(h.Sum(nil)), nil
		}, nil
	}
	return path, func() (io.ReadCloser, error) { return os.Open(path) }, func() (string, error) {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}, nil
}

// LoadData returns the prepared dataset of cfg. With cfg.Cache it first
// looks for a copy under dataDir keyed by the catalog's sha256 and the
// options, and (when save is set: rank 0 or the launcher) stores a freshly
// prepared one there. It returns the cache directory used ("" without cache).
func LoadData(ctx context.Context, cfg Config, dataDir string, save bool, log *slog.Logger) (*Dataset, string, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	name, open, sum, err := catalogSource(cfg)
	if err != nil {
		return nil, "", err
	}
	opts := Options{File: name, Span: Span(cfg.Span), Locations: LocationSet(cfg.Locations)}
	dir := ""
	if cfg.Cache && dataDir != "" {
		h, err := sum()
		if err != nil {
			return nil, "", &DataError{File: name, Msg: err.Error(), Err: ErrMalformed}
		}
		key := sha256.Sum256([]byte(strings.Join([]string{FormatVersion, h, cfg.Span, cfg.Locations}, "\x00")))
		dir = filepath.Join(dataDir, "earthquake-"+hex.EncodeToString(key[:8]))
		if _, err := os.Stat(filepath.Join(dir, fileMeta)); err == nil {
			ds, err := Load(dir)
			if err == nil {
				log.Info("prepared dataset loaded from cache", "dir", dir)
				return ds, dir, nil
			}
			log.Warn("cached dataset unreadable; preparing again", "dir", dir, "err", err)
		}
	}
	r, err := open()
	if err != nil {
		return nil, "", &DataError{File: name, Msg: err.Error(), Err: ErrMalformed}
	}
	defer r.Close()
	log.Info("preparing dataset", "catalog", name, "span", opts.Span, "locations", opts.Locations)
	ds, err := PrepareContext(ctx, r, opts)
	if err != nil {
		return nil, "", err
	}
	if dir != "" && save {
		if err := ds.Save(dir); err != nil {
			log.Warn("could not cache the prepared dataset", "dir", dir, "err", err)
		} else {
			log.Info("prepared dataset cached", "dir", dir)
		}
	}
	return ds, dir, nil
}

// NewOptimizer returns the configured optimizer for n parameters.
func NewOptimizer(cfg Config, n int) (train.Optimizer, error) {
	ac := optim.AdamConfig{LR: cfg.LearningRate, Eps: cfg.Eps}
	switch cfg.Optimizer {
	case "adam":
		return optim.NewAdam(n, ac), nil
	case "adamw":
		ac.Decoupled = true
		return optim.NewAdam(n, ac), nil
	case "adamax":
		return optim.NewAdamax(n, ac), nil
	case "sgd":
		return optim.NewSGD(n, optim.SGDConfig{LR: cfg.LearningRate}), nil
	}
	return nil, &config.Error{Key: "optimizer", Msg: fmt.Sprintf("unknown optimizer %q", cfg.Optimizer), Err: config.ErrInvalid}
}

// Run is a benchmark set up on one rank, ready for train.New.
type Run struct {
	Config    Config
	Dataset   *Dataset
	Task      *Task
	Optimizer train.Optimizer
	Train     train.Config // Seed, Epochs, GlobalBatch, BestFit, EvalEvery, Target
}

// Setup loads the data and builds the task, optimizer and loop settings
// for rank of world.
func Setup(ctx context.Context, cfg Config, dataDir string, rank, world int, log *slog.Logger) (*Run, error) {
	ds, _, err := LoadData(ctx, cfg, dataDir, rank == 0, log)
	if err != nil {
		return nil, err
	}
	task, err := NewTask(ds, cfg, rank)
	if err != nil {
		return nil, err
	}
	opt, err := NewOptimizer(cfg, task.Arena().Size())
	if err != nil {
		return nil, err
	}
	gb := cfg.BatchSize
	if gb == 0 {
		gb = len(task.TrainLoc)
	}
	if cfg.BatchScope == config.BatchPerRank {
		gb *= world
	}
	if gb > task.NumTrain() {
		return nil, &config.Error{Key: "batch_size", Err: config.ErrInvalid,
			Msg: fmt.Sprintf("global batch %d exceeds the %d training windows", gb, task.NumTrain())}
	}
	tc := train.Config{Seed: uint64(cfg.Seed), Epochs: cfg.Epochs, GlobalBatch: gb, BestFit: cfg.BestFit, EvalEvery: cfg.EvalEvery}
	if cfg.Target.Metric != "" {
		tc.Target = &train.Target{Metric: cfg.Target.Metric, Value: cfg.Target.Value, Mode: cfg.Target.Mode}
	}
	return &Run{Config: cfg, Dataset: ds, Task: task, Optimizer: opt, Train: tc}, nil
}

// WriteReport prints the NNSE table (rows: horizons; columns: the six
// aggregates) and the weighted MSEs of a result.
func WriteReport(w io.Writer, ms []train.Metric) {
	byName := make(map[string]float64, len(ms))
	for _, m := range ms {
		byName[m.Name] = m.Value
	}
	fmt.Fprintf(w, "NNSE (A/AT/AV: mean per location all/train/val; S/ST/SV: location-summed; paper LSTM 2w: 0.902 train / 0.869 test)\n")
	fmt.Fprintf(w, "%-8s", "horizon")
	for _, a := range Aggregates {
		fmt.Fprintf(w, " %7s", a)
	}
	fmt.Fprintln(w)
	for _, h := range Horizons {
		fmt.Fprintf(w, "%-8s", h)
		for _, a := range Aggregates {
			v, ok := byName["nnse_"+a+"_"+h]
			if !ok || math.IsNaN(v) {
				fmt.Fprintf(w, " %7s", "nan")
				continue
			}
			fmt.Fprintf(w, " %7.4f", v)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "weighted MSE: all %.6g  train %.6g  val %.6g\n", byName["mse"], byName["train_mse"], byName["val_mse"])
}
