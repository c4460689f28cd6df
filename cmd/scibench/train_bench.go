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

	"github.com/scibench/scibench/pkg/bench"
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
	Device      string  `json:"device,omitempty"` // the GPU with --device gpu
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
	device := fs.String("device", bench.DeviceCPU, "engine: cpu, or gpu (this machine's first GPU; the loss stays on the host)")
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
	if *device != bench.DeviceCPU && *device != bench.DeviceGPU {
		fmt.Fprintf(stderr, "scibench train-bench: --device %q: want cpu or gpu\n", *device)
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
		fmt.Fprintln(tw, "model\tparams\tbatch\tthreads\tsamples_per_s\tgflops\tdevice\t")
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
		r, err := runTrainBench(ctx, name, b, *steps, *seed, *device)
		if errors.Is(err, bench.ErrDevice) {
			fmt.Fprintf(stderr, "scibench train-bench: %v\n", err)
			return exitUsage
		}
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
		dev := r.Device
		if dev == "" {
			dev = "cpu"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.2f\t%s\t\n", r.Model, r.Params, r.Batch, r.Threads, r.SamplesPerS, r.GFLOPS, dev)
	}
	if tw != nil {
		tw.Flush()
	}
	return exitOK
}

// runTrainBench builds one bench, runs 2 warm-up steps and then steps timed
// steps, and derives throughput from the median step time. With device
// gpu the bench runs on a GPU engine opened for it (each step waits for
// the model's output, which the loss needs on the host, so a step's time
// includes the device work of the one before).
func runTrainBench(ctx context.Context, name string, batch, steps int, seed uint64, device string) (r trainBenchResult, err error) {
	b, err := models.Benches[name](batch, seed)
	if err != nil {
		return trainBenchResult{}, err
	}
	step := b.Step
	if device == bench.DeviceGPU {
		if b.Device == nil {
			return trainBenchResult{}, fmt.Errorf("%w: %s has no GPU engine", bench.ErrDevice, name)
		}
		e, devName, closeEngine, err := bench.OpenEngine(device, 0, nil)
		if err != nil {
			return trainBenchResult{}, err
		}
		defer func() { err = errors.Join(err, closeEngine()) }()
		if step, err = b.Device(e); err != nil {
			return trainBenchResult{}, err
		}
		r.Device = devName
		defer func() {
			if err == nil {
				err = e.Synchronize(ctx)
			}
		}()
	}
	times := make([]float64, 0, steps)
	for i := 0; i < steps+2; i++ {
		if err := ctx.Err(); err != nil {
			return trainBenchResult{}, fmt.Errorf("step %d: %w", i, err)
		}
		t0 := time.Now()
		if err := step(); err != nil {
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
	r.Model, r.Params, r.Batch = b.Model, b.Params, b.Batch
	r.SamplesPerS, r.GFLOPS = sps, sps*b.FlopsPerSample/1e9
	return r, nil
}
