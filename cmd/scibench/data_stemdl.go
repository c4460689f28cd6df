package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/scibench/scibench/pkg/bench/stemdl"
)

// cmdDataGenerateStemdl is `scibench data generate stemdl --out DIR
// [--scale tiny|small] [--seed S] [--materials M] [--samples K] [--raw N]`.
func cmdDataGenerateStemdl(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("data generate stemdl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "output directory (training/ validation/ testing/ inference/ of sample-<n>.npz)")
	scale := fs.String("scale", "tiny", "tiny (8 labels x 4 materials x 4 samples = 128 files + 32 inference) or small (8 x 125 x 4 = 4,000 + 608)")
	seed := fs.Uint64("seed", 1234, "generator seed")
	mats := fs.Int("materials", 0, "materials per label (0: the scale's)")
	samples := fs.Int("samples", 0, "samples per material (0: the scale's)")
	raw := fs.Int("raw", 0, "also write this many raw HDF5 samples per train/dev/test split under raw/ (3 MiB each)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "scibench data generate stemdl: --out is required (no positional arguments)")
		return exitUsage
	}
	t0 := time.Now()
	rep, err := stemdl.Generate(ctx, *out, stemdl.GenConfig{Scale: *scale, Seed: *seed, Materials: *mats, Samples: *samples, RawPerSplit: *raw})
	if err != nil {
		fmt.Fprintf(stderr, "scibench data generate stemdl: %v\n", err)
		switch {
		case ctx.Err() != nil:
			return exitInterrupted
		case errors.Is(err, stemdl.ErrConfig):
			return exitUsage
		}
		return exitFailed
	}
	names := make([]string, 0, len(rep.Files))
	for n := range rep.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(stdout, "stemdl synthetic CBED data (%d classes: %v; chance top-1 %.3f) in %s:\n", len(rep.Labels), rep.Labels, 1/float64(len(rep.Labels)), *out)
	for _, n := range names {
		fmt.Fprintf(stdout, "  %-11s %5d files, %3d materials\n", n, rep.Files[n], rep.Materials[n])
	}
	for n, c := range rep.Raw {
		fmt.Fprintf(stdout, "  raw/%-7s %5d samples (batch_0.h5)\n", n, c)
	}
	fmt.Fprintf(stdout, "generated in %.1fs\n", time.Since(t0).Seconds())
	return exitOK
}
