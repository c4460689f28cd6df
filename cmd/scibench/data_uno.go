package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/scibench/scibench/pkg/bench/uno"
	"github.com/scibench/scibench/pkg/hdf5"
)

// cmdDataGenerateUno is `scibench data generate uno`: a synthetic
// candle-uno file with the reference layout (BENCHMARKS.md §4.6).
func cmdDataGenerateUno(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("data generate uno", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "output directory")
	scale := fs.String("scale", "tiny", "tiny (1,600/200/200 rows, ~50 MB) or demo (40,000/5,000/5,000 rows, ~1.2 GB)")
	name := fs.String("name", "", "file name (default uno-synthetic-<scale>.h5)")
	seed := fs.Uint64("seed", 1234, "generator seed")
	gzip := fs.Int("gzip", 0, "deflate level of the tables, 0..9")
	cellF := fs.Int("cell-features", 0, "cell feature columns (0: 942, the reference)")
	drugF := fs.Int("drug-features", 0, "drug feature columns (0: 5270, the reference)")
	rows := fs.String("rows", "", "train,val,test row counts overriding the scale's (e.g. 4096,512,512)")
	force := fs.Bool("force", false, "replace an existing file")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "scibench data generate uno: --out is required (no positional arguments)")
		return exitUsage
	}
	o, err := uno.Scale(*scale, *seed)
	if err != nil {
		fmt.Fprintf(stderr, "scibench data generate uno: %v\n", err)
		return exitUsage
	}
	o.Gzip, o.CellFeatures, o.DrugFeatures = *gzip, *cellF, *drugF
	if *rows != "" {
		if _, err := fmt.Sscanf(*rows, "%d,%d,%d", &o.Train, &o.Val, &o.Test); err != nil {
			fmt.Fprintf(stderr, "scibench data generate uno: --rows %q: want TRAIN,VAL,TEST\n", *rows)
			return exitUsage
		}
	}
	if *name == "" {
		*name = "uno-synthetic-" + *scale + ".h5"
	}
	path := filepath.Join(*out, *name)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "scibench data generate uno: %v\n", err)
		return exitUsage
	}
	if _, err := os.Stat(path); err == nil {
		if !*force {
			fmt.Fprintf(stderr, "scibench data generate uno: %s exists (use --force to replace it)\n", path)
			return exitUsage
		}
		if err := os.Remove(path); err != nil {
			fmt.Fprintf(stderr, "scibench data generate uno: %v\n", err)
			return exitFailed
		}
	}
	t0 := time.Now()
	st, err := uno.Generate(ctx, path, o)
	if err != nil {
		_ = os.Remove(path) // never leave a partial file behind
		fmt.Fprintf(stderr, "scibench data generate uno: %v\n", err)
		switch {
		case ctx.Err() != nil:
			return exitInterrupted
		case errors.Is(err, uno.ErrConfig), errors.Is(err, hdf5.ErrNoHDF5):
			return exitUsage
		}
		return exitFailed
	}
	fmt.Fprintf(stdout, "candle-uno synthetic data: %s\n", path)
	fmt.Fprintf(stdout, "  rows train/val/test %d/%d/%d; AUC mean %.4f std %.4f\n", st.Rows[0], st.Rows[1], st.Rows[2], st.MeanAUC, st.StdAUC)
	fmt.Fprintf(stdout, "  val MSE of the train-mean predictor %.5f (the model must beat it)\n", st.ValMeanMSE)
	fmt.Fprintf(stdout, "  run: scibench run uno --config configs/uno-smoke.yaml --data %s --set file=%s\n", *out, *name)
	fmt.Fprintf(stdout, "generated in %.1fs\n", time.Since(t0).Seconds())
	return exitOK
}
