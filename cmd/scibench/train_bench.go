package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scibench/scibench/pkg/blas"
	"github.com/scibench/scibench/pkg/nn/models"
)

// defaultBenchBatch is each model's batch when --batch is not given.
// (the reference points: uno 64, LSTM 256, U-Net 8 at 9×128², ResNet 16 at 3×128²).
var defaultBenchBatch = map[string]int{"uno": 64, "lstm": 256, "lstm-small": 256, "unet": 8, "resnet18": 16, "resnet34": 16, "resnet50": 16}

// trainBenchResult is one output row; the JSON keys are part of the CLI
// contract (DESIGN.md "Command line").
type trainBenchResult struct {
	Model       string  `json:"model"`
	Params      int     `json:"params"`
	Batch       int     `json:"batch"`
	Threads     int     `json:"threads"`
	SamplesPerS float64 `json:"samples_per_s"`
	GFLOPS      float64 `json:"gflops"`
}

// cmdTrainBench runs forward+backward+optimizer steps on a synthetic batch
// and reports throughput from the median step time.
func cmdTrainBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("train-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	names := make([]string, 0, len(models.Benches))
	for n := range models.Benches {
		names = append(names, n)
	}
	sort.Strings(names)
	model := fs.String("model", "uno", "model(s), comma-separated: "+strings.Join(names, "|"))
	batch := fs.Int("batch", 0, "batch size (0: the model's default: uno 64, lstm 256, unet 8, resnet 16)")
	threads := fs.Int("threads", 1, "BLAS threads")
	steps := fs.Int("steps", 10, "timed steps (after 2 warm-up steps)")
	seed := fs.Uint64("seed", 1, "synthetic data and dropout seed")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scibench train-bench: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *batch < 0 || *threads < 1 || *steps < 1 {
		fmt.Fprintf(stderr, "scibench train-bench: --batch must be ≥ 0, --threads and --steps ≥ 1 (got %d, %d, %d)\n", *batch, *threads, *steps)
		return exitUsage
	}
	list := strings.Split(*model, ",")
	for _, m := range list {
		if _, ok := models.Benches[m]; !ok {
			fmt.Fprintf(stderr, "scibench train-bench: unknown --model %q (have %s)\n", m, strings.Join(names, ", "))
			return exitUsage
		}
	}
	blas.SetThreads(*threads)
	var tw *tabwriter.Writer
	if !*asJSON {
		tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "model\tparams\tbatch\tthreads\tsamples_per_s\tgflops\t")
	}
	enc := json.NewEncoder(stdout)
	for _, name := range list {
		b := *batch
		if b == 0 {
			b = defaultBenchBatch[name]
			if b == 0 {
				b = 32
			}
		}
		r, err := runTrainBench(ctx, name, b, *steps, *seed)
		if err != nil {
			if tw != nil {
				tw.Flush()
			}
			fmt.Fprintf(stderr, "scibench train-bench: %s: %v\n", name, err)
			return exitFailed
		}
		r.Threads = blas.Threads()
		if *asJSON {
			if err := enc.Encode(r); err != nil {
				fmt.Fprintf(stderr, "scibench train-bench: %v\n", err)
				return exitFailed
			}
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.2f\t\n", r.Model, r.Params, r.Batch, r.Threads, r.SamplesPerS, r.GFLOPS)
	}
	if tw != nil {
		tw.Flush()
	}
	return exitOK
}

// runTrainBench builds one bench, runs 2 warm-up steps and then steps timed
// steps, and derives throughput from the median step time.
func runTrainBench(ctx context.Context, name string, batch, steps int, seed uint64) (trainBenchResult, error) {
	b, err := models.Benches[name](batch, seed)
	if err != nil {
		return trainBenchResult{}, err
	}
	times := make([]float64, 0, steps)
	for i := 0; i < steps+2; i++ {
		if err := ctx.Err(); err != nil {
			return trainBenchResult{}, fmt.Errorf("step %d: %w", i, err)
		}
		t0 := time.Now()
		if err := b.Step(); err != nil {
			return trainBenchResult{}, fmt.Errorf("step %d: %w", i, err)
		}
		if i >= 2 {
			times = append(times, time.Since(t0).Seconds())
		}
	}
	slices.Sort(times)
	med := times[len(times)/2]
	if len(times)%2 == 0 {
		med = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	sps := float64(b.Batch) / med
	return trainBenchResult{
		Model: b.Model, Params: b.Params, Batch: b.Batch,
		SamplesPerS: sps, GFLOPS: sps * b.FlopsPerSample / 1e9,
	}, nil
}
