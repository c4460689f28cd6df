package uno

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/train"
)

// ResolveFile returns the data file of cfg: cfg.File when it is absolute
// or exists relative to the working directory, else dataDir/cfg.File.
func ResolveFile(cfg Config, dataDir string) (string, error) {
	if filepath.IsAbs(cfg.File) {
		return cfg.File, nil
	}
	if _, err := os.Stat(cfg.File); err == nil {
		return cfg.File, nil
	}
	if dataDir != "" {
		p := filepath.Join(dataDir, cfg.File)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		return "", dataErr(cfg.File, "", -1, ErrData, "not found in the working directory nor in data dir %s (scibench data generate uno --out DIR, or download %s)", dataDir, RefFile)
	}
	return "", dataErr(cfg.File, "", -1, ErrData, "not found (scibench data generate uno --out DIR, or download %s)", RefFile)
}

// openParts opens the file and checks the train and eval partitions.
func openParts(cfg Config, dataDir string) (*File, *Partition, *Partition, error) {
	path, err := ResolveFile(cfg, dataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := OpenFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	tr, err := f.Partition("train", cfg.CellFeatures, cfg.DrugFeatures)
	if err == nil {
		var ev *Partition
		ev, err = f.Partition(cfg.EvalSplit, cfg.CellFeatures, cfg.DrugFeatures)
		if err == nil {
			return f, tr, ev, nil
		}
	}
	f.Close()
	return nil, nil, nil, err
}

// Prepare checks the data file once before the workers start (the
// launcher maps its errors to exit code 2): keys, feature widths, row
// counts and, with check_data full, every value of the train and eval
// partitions.
func Prepare(ctx context.Context, cfg Config, dataDir string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f, tr, ev, err := openParts(cfg, dataDir)
	if err != nil {
		return err
	}
	defer f.Close()
	log.Info("uno data", "file", f.Path(), "train_rows", tr.Rows, "eval_rows", ev.Rows, "eval_split", ev.Split,
		"cell_features", tr.CellWidth, "drug_features", tr.DrugWidth)
	if cfg.CheckData == CheckFull {
		for _, p := range []*Partition{tr, ev} {
			if err := p.Check(ctx, 2000); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run is the benchmark set up on one rank, ready for train.New.
type Run struct {
	Config    Config
	Task      *Task
	Optimizer train.Optimizer
	Train     train.Config
	File      string
	Mode      string // memory or stream
}

// Setup opens the data, loads this rank's rows (memory mode) and builds
// the task, optimizer (Adamax) and loop settings (warm-down schedule,
// evaluation every epoch) for rank of world.
func Setup(ctx context.Context, cfg Config, dataDir string, rank, world int, log *slog.Logger) (*Run, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if world < 1 || rank < 0 || rank >= world {
		return nil, fmt.Errorf("%w: rank %d of world %d", ErrConfig, rank, world)
	}
	f, tr, ev, err := openParts(cfg, dataDir)
	if err != nil {
		return nil, err
	}
	gb := cfg.GlobalBatch(world)
	if gb > tr.Rows {
		f.Close()
		return nil, &config.Error{Key: "batch_size", Err: config.ErrInvalid,
			Msg: fmt.Sprintf("global batch %d exceeds the %d training rows of %s", gb, tr.Rows, f.Path())}
	}
	steps := train.StepsPerEpoch(tr.Rows, gb)
	lo, hi := train.RankBlock(gb, world, rank)
	elo, ehi := train.RankBlock(ev.Rows, world, rank)
	trainRanges := [][2]int{{0, tr.Rows}}
	if !cfg.Shuffle {
		trainRanges = trainRanges[:0]
		for s := range steps {
			if hi > lo {
				trainRanges = append(trainRanges, [2]int{s*gb + lo, s*gb + hi})
			}
		}
	}
	need := 0
	for _, r := range trainRanges {
		need += r[1] - r[0]
	}
	need += ehi - elo
	bytes := float64(need) * float64(tr.CellWidth+tr.DrugWidth+1) * 4
	mode := cfg.Load
	if mode == LoadAuto {
		mode = LoadStream
		if bytes <= float64(cfg.MemoryLimitMB)*(1<<20) {
			mode = LoadMemory
		}
	}
	var trainSrc, evalSrc rowSource = tr, ev
	if mode == LoadMemory {
		tb, err := loadRanges(ctx, tr, trainRanges)
		if err == nil {
			var eb *Block
			eb, err = loadRanges(ctx, ev, [][2]int{{elo, ehi}})
			evalSrc = &memSource{b: eb, lo: elo}
		}
		f.Close()
		if err != nil {
			return nil, err
		}
		if cfg.Shuffle {
			trainSrc = &memSource{b: tb}
		} else {
			trainSrc = &memSource{b: tb, gb: gb, lo: lo, hi: hi}
		}
	}
	log.Info("uno data loaded", "file", f.Path(), "mode", mode, "rank_rows", need, "mb", math.Round(bytes/(1<<20)))
	task, err := newTask(cfg, tr.CellWidth, tr.DrugWidth, trainSrc, evalSrc, tr.Rows, ev.Rows, gb)
	if err != nil {
		if mode == LoadStream {
			f.Close()
		}
		return nil, err
	}
	if mode == LoadStream {
		task.file = f
	}
	task.path = f.Path()
	opt := optim.NewAdamax(task.Arena().Size(), optim.AdamConfig{LR: task.LR(1), Eps: cfg.Eps})
	tc := train.Config{Seed: uint64(cfg.Seed), Epochs: cfg.Epochs, GlobalBatch: gb, EvalEvery: 0, LR: task.LR}
	if cfg.BestFit {
		tc.BestFit, tc.BestMetric = true, cfg.EvalSplit+"_loss"
	}
	if cfg.Target.Metric != "" {
		tc.Target = &train.Target{Metric: cfg.Target.Metric, Value: cfg.Target.Value, Mode: cfg.Target.Mode}
	}
	return &Run{Config: cfg, Task: task, Optimizer: opt, Train: tc, File: f.Path(), Mode: mode}, nil
}

// loadRanges reads the row ranges of p into one block, in order.
func loadRanges(ctx context.Context, p *Partition, ranges [][2]int) (*Block, error) {
	n := 0
	for _, r := range ranges {
		n += r[1] - r[0]
	}
	b := &Block{Rows: n, CellWidth: p.CellWidth, DrugWidth: p.DrugWidth,
		Cell: make([]float32, n*p.CellWidth), Drug: make([]float32, n*p.DrugWidth), AUC: make([]float32, n)}
	at := 0
	for _, r := range ranges {
		for lo := r[0]; lo < r[1]; lo += 2000 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			k := min(2000, r[1]-lo)
			if err := p.ReadRows(lo, k, b.Cell[at*p.CellWidth:(at+k)*p.CellWidth], b.Drug[at*p.DrugWidth:(at+k)*p.DrugWidth], b.AUC[at:at+k]); err != nil {
				return nil, err
			}
			at += k
		}
	}
	return b, nil
}

// memSource serves rows from a block holding either a contiguous range
// starting at lo (gb 0), or the rows [s·gb+lo, s·gb+hi) of every step s.
type memSource struct {
	b          *Block
	gb, lo, hi int
}

func (m *memSource) ReadRows(start, count int, cell, drug, auc []float32) error {
	local := start - m.lo
	if m.gb > 0 {
		s := start / m.gb
		off := start - s*m.gb - m.lo
		if off < 0 || off+count > m.hi-m.lo {
			return fmt.Errorf("%w: rows [%d, %d) are not this rank's block [%d, %d) of step %d", ErrConfig, start, start+count, s*m.gb+m.lo, s*m.gb+m.hi, s)
		}
		local = s*(m.hi-m.lo) + off
	}
	return m.b.ReadRows(local, count, cell, drug, auc)
}

// Close releases the data file of a streaming task.
func (t *Task) Close() error {
	if t.file == nil {
		return nil
	}
	err := t.file.Close()
	t.file = nil
	return err
}

// InputError wraps bad input (a *DataError or ErrConfig) as a
// *config.Error on key "file", which the CLI maps to exit code 2; other
// errors are returned unchanged. errors.Is/As still reach the cause.
func InputError(err error) error {
	var de *DataError
	if err == nil || !(errors.As(err, &de) || errors.Is(err, ErrConfig)) {
		return err
	}
	return &config.Error{Key: "file", Msg: err.Error(), Err: err}
}

// WriteReport prints the final metrics next to the reference's.
func WriteReport(w io.Writer, ms []train.Metric) {
	by := make(map[string]float64, len(ms))
	var split string
	for _, m := range ms {
		by[m.Name] = m.Value
		if m.Key == "eval_loss" {
			split = m.Name[:len(m.Name)-len("_loss")]
		}
	}
	fmt.Fprintf(w, "candle-uno %s: MSE %.6g  MAE %.6g  R² %.4g  r2_batch %.4g  r %.4g  (mean predictor MSE %.6g)\n", split,
		by[split+"_loss"], by[split+"_mae"], by[split+"_r2"], by[split+"_r2_batch"], by[split+"_pearson"], by[split+"_mean_mse"])
	fmt.Fprintf(w, "reference (real data): val_loss 0.005335 (target <= 0.0054), val_mae 0.049082, val_r2 (per batch) 0.7486\n")
	if by["early_stopping"] == 1 {
		fmt.Fprintf(w, "early stopping (patience on val_loss) would have stopped this run\n")
	}
	mc := "mc_" + split + "_"
	if _, ok := by[mc+"mse_mean"]; ok {
		passes := ""
		for _, m := range ms {
			if m.Name == mc+"mse_mean" {
				passes = m.Meta["passes"]
			}
		}
		fmt.Fprintf(w, "MC dropout inference (%s passes), mean ± std [min, max] over passes:\n", passes)
		for _, k := range []struct{ key, label string }{{"mse", "MSE"}, {"mae", "MAE"}, {"r2", "R²"}, {"pearson", "r"}} {
			fmt.Fprintf(w, "  %-3s %.6g ± %.2g [%.6g, %.6g]; of the mean prediction %.6g\n", k.label, by[mc+k.key+"_mean"],
				by[mc+k.key+"_std"], by[mc+k.key+"_min"], by[mc+k.key+"_max"], by[mc+k.key+"_of_mean"])
		}
		fmt.Fprintf(w, "reference MC inference on val (30 passes, real data): MSE 0.0058, MAE 0.0505, R² 0.7543, r 0.8688\n")
	}
}
