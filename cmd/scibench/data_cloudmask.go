package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/scibench/scibench/pkg/bench/cloudmask"
)

// cmdDataGenerateCloudmask is `scibench data generate cloudmask --out DIR
// [--scale tiny|small|full-shape] [--seed S]`: synthetic SLSTR scenes
// (BENCHMARKS.md §2.6) under DIR/training/{day,night} and
// DIR/inference/{day,night}.
func cmdDataGenerateCloudmask(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("data generate cloudmask", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "output directory (training/ and inference/ with day/ and night/ scene files)")
	scale := fs.String("scale", "tiny", "tiny (80x112, 8+2 files), small (512x768, 40+8) or full-shape (1200x1500, 4+2)")
	seed := fs.Uint64("seed", 1234, "generator seed")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "scibench data generate cloudmask: --out is required (no positional arguments)")
		return exitUsage
	}
	sc, err := cloudmask.ParseScale(*scale)
	if err != nil {
		fmt.Fprintf(stderr, "scibench data generate cloudmask: %v\n", err)
		return exitUsage
	}
	t0 := time.Now()
	paths, err := cloudmask.Generate(ctx, *out, sc, *seed)
	if err != nil {
		fmt.Fprintf(stderr, "scibench data generate cloudmask: %v\n", err)
		switch {
		case ctx.Err() != nil:
			return exitInterrupted
		case errors.Is(err, cloudmask.ErrNoHDF5):
			return exitUsage
		}
		return exitFailed
	}
	fmt.Fprintf(stdout, "cloudmask synthetic scenes (%s, %dx%d): %d files (%d training + %d inference) in %s, generated in %.1fs\n",
		sc.Name, sc.H, sc.W, len(paths), sc.Train, sc.Infer, *out, time.Since(t0).Seconds())
	return exitOK
}
