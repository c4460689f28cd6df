package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scibench/scibench/pkg/bench"
	"github.com/scibench/scibench/pkg/bench/earthquake"
	"github.com/scibench/scibench/pkg/blas"
	"github.com/scibench/scibench/pkg/cluster"
	"github.com/scibench/scibench/pkg/collective"
	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/energy"
	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/launch"
	"github.com/scibench/scibench/pkg/metrics"
	"github.com/scibench/scibench/pkg/train"
)

// runFlags are the flags of `scibench run`.
type runFlags struct {
	bench       string
	config      string
	nproc       int
	sets        []string
	data        string
	out         string
	resume      bool
	metricsPort int
	push        string
	timeout     time.Duration
	verbose     bool
	device      string
	flagArgs    []string // the arguments without BENCH, passed on to workers
}

type setList []string

func (s *setList) String() string     { return strings.Join(*s, ",") }
func (s *setList) Set(v string) error { *s = append(*s, v); return nil }

// usageError is a bad command line, config or input: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func parseRunFlags(args []string, stderr io.Writer) (*runFlags, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &runFlags{}
	var sets setList
	fs.StringVar(&f.config, "config", "", "benchmark config YAML (default: the benchmark's reference settings)")
	fs.IntVar(&f.nproc, "nproc", 0, "local workers to spawn (default: one per visible GPU unless --device cpu, else 1; ignored under srun/jsrun/mpirun)")
	fs.Var(&sets, "set", "override a config key, key=value (repeatable)")
	fs.StringVar(&f.data, "data", "", "prepared-data directory (default: data_dir, else runs/cache)")
	fs.StringVar(&f.out, "out", "", "run directory (default: out_dir, else runs/<bench>-<timestamp>)")
	fs.BoolVar(&f.resume, "resume", false, "resume from the last checkpoint in the run directory")
	fs.IntVar(&f.metricsPort, "metrics-port", 0, "serve Prometheus /metrics on this port (+ local rank); 0 = off")
	fs.StringVar(&f.push, "push", "", "Pushgateway URL to push each rank's metrics to")
	fs.DurationVar(&f.timeout, "timeout", 120*time.Second, "deadline of every collective operation (a dead peer ends the job after this)")
	fs.BoolVar(&f.verbose, "v", false, "verbose logging")
	fs.StringVar(&f.device, "device", bench.DeviceAuto, "engine: auto (each worker's GPU when one is found, else the CPU), gpu (fail without one) or cpu")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scibench run BENCH [--config FILE] [--nproc N] [--set k=v]... [--data DIR] [--out DIR] [--resume]")
		names := make([]string, 0, len(bench.Benchmarks))
		for n := range bench.Benchmarks {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(stderr, "benchmarks: %s\n", strings.Join(names, ", "))
		fs.PrintDefaults()
	}
	// BENCH may come before or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		f.bench, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	f.flagArgs = args
	if f.bench == "" && fs.NArg() > 0 {
		f.bench = fs.Arg(0)
		rest := fs.Args()[1:]
		f.flagArgs = append(args[:len(args)-len(rest)-1:len(args)-len(rest)-1], rest...)
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.bench == "" {
		fs.Usage()
		return nil, errors.New("missing BENCH")
	}
	if f.nproc < 0 || f.nproc > launch.MaxProc {
		return nil, fmt.Errorf("--nproc %d outside [1,%d]", f.nproc, launch.MaxProc)
	}
	if f.device != bench.DeviceAuto && f.device != bench.DeviceGPU && f.device != bench.DeviceCPU {
		return nil, fmt.Errorf("--device %q: want auto, gpu or cpu", f.device)
	}
	if f.metricsPort < 0 || f.metricsPort > 65535 {
		return nil, fmt.Errorf("--metrics-port %d outside [0,65535]", f.metricsPort)
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %v must be positive", f.timeout)
	}
	f.sets = sets
	return f, nil
}

// cmdRun is `scibench run`: the launcher when no worker environment is
// found (spawning --nproc workers of this binary), the worker otherwise.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseRunFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "scibench run: %v\n", err)
		return exitUsage
	}
	b, ok := bench.Benchmarks[f.bench]
	if !ok {
		fmt.Fprintf(stderr, "scibench run: unknown benchmark %q\n", f.bench)
		return exitUsage
	}
	cfg, err := b.LoadConfig(f.config, f.sets)
	if err != nil {
		fmt.Fprintf(stderr, "scibench run: %v\n", err)
		return exitUsage
	}
	info, inJob, err := cluster.FromEnv(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "scibench run: %v\n", err)
		return exitUsage
	}
	common := b.Common(cfg)
	// under a scheduler every rank must derive the same default directory
	stamp := time.Now().UTC().Format("20060102-150405")
	if inJob && info.JobID != "" {
		stamp = info.JobID
	}
	out := firstNonEmpty(f.out, common.OutDir, filepath.Join("runs", b.Name+"-"+stamp))
	data := firstNonEmpty(f.data, common.DataDir, filepath.Join("runs", "cache"))
	lvl := slog.LevelInfo
	if f.verbose {
		lvl = slog.LevelDebug
	}
	if !inJob {
		return runLauncher(ctx, f, b, cfg, out, data, stdout, stderr, lvl)
	}
	return runWorker(ctx, f, b, cfg, info, out, data, stdout, stderr, lvl)
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// runLauncher prepares the data once, then runs the workers: in-process for
// --nproc 1, as child processes otherwise.
func runLauncher(ctx context.Context, f *runFlags, b bench.Benchmark, cfg any, out, data string, stdout, stderr io.Writer, lvl slog.Level) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	outAbs, err := filepath.Abs(out)
	if err == nil {
		err = os.MkdirAll(outAbs, 0o755)
	}
	if err != nil {
		fmt.Fprintf(stderr, "scibench run: run directory %s: %v\n", out, err)
		return exitUsage
	}
	dataAbs, err := filepath.Abs(data)
	if err != nil {
		fmt.Fprintf(stderr, "scibench run: data directory %s: %v\n", data, err)
		return exitUsage
	}
	if f.resume {
		if err := checkResumable(outAbs); err != nil {
			fmt.Fprintf(stderr, "scibench run: %v\n", err)
			return exitUsage
		}
	}
	if b.Prepare != nil {
		if err := b.Prepare(ctx, cfg, bench.Env{DataDir: dataAbs, Logger: log}); err != nil {
			fmt.Fprintf(stderr, "scibench run: %v\n", err)
			if ctx.Err() != nil {
				return exitInterrupted
			}
			return exitUsage
		}
	}
	var deviceEnv func(int) []string
	if f.nproc == 0 { // one worker per visible GPU, each bound to its own
		f.nproc = 1
		if f.device != bench.DeviceCPU {
			if info, err := gpu.Probe(); err == nil && len(info.Devices) > 0 {
				f.nproc = min(len(info.Devices), launch.MaxProc)
				deviceEnv = bindDevices(os.Getenv("CUDA_VISIBLE_DEVICES"), len(info.Devices))
				log.Info("one worker per GPU", "gpus", len(info.Devices))
			}
		}
	}
	if f.nproc == 1 {
		return runWorker(ctx, f, b, cfg, cluster.Local(), outAbs, dataAbs, stdout, stderr, lvl)
	}
	wargs := append([]string{"run", b.Name}, f.flagArgs...)
	wargs = append(wargs, "--out", outAbs, "--data", dataAbs)
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "scibench run: %v\n", err)
		return exitFailed
	}
	log.Info("launching workers", "nproc", f.nproc, "out", outAbs)
	err = launch.Run(ctx, launch.Config{NProc: f.nproc, Path: exe, Args: wargs, Stdout: stdout, Stderr: stderr, Logger: log, DeviceEnv: deviceEnv})
	resPath := filepath.Join(outAbs, "result.json")
	if err != nil {
		code := exitFailed
		var we *launch.WorkerError
		switch {
		case errors.As(err, &we) && we.ExitCode == exitUsage:
			code = exitUsage
		case errors.Is(err, launch.ErrInterrupted) || ctx.Err() != nil:
			code = exitInterrupted
		}
		if _, serr := os.Stat(resPath); serr != nil {
			// rank 0 could not write it: leave a failed result behind
			r := &metrics.Result{Benchmark: b.Name, Version: version, GitCommit: gitCommit(), Status: metrics.StatusFailed,
				Error: err.Error(), WorldSize: f.nproc, Nodes: 1, Config: cfg, EndTime: time.Now()}
			if code == exitInterrupted {
				r.Status = metrics.StatusAborted
			}
			_ = r.WriteFile(resPath)
		}
		fmt.Fprintf(stderr, "scibench run: %v\nrun directory: %s\n", err, outAbs)
		return code
	}
	fmt.Fprintf(stdout, "run directory: %s\n", outAbs)
	return exitOK
}

// checkResumable verifies the latest checkpoint before anything is started.
func checkResumable(out string) error {
	p, err := train.LatestCheckpoint(filepath.Join(out, "checkpoint"))
	if err != nil || p == "" {
		return err
	}
	_, err = train.ReadCheckpoint(p)
	return err
}

// exitCodeFor maps a worker error to an exit code: bad input is 2.
// badInput is implemented by errors of bad data or configuration (a
// benchmark's DataError, for instance): exit code 2.
type badInput interface {
	error
	BadInput() bool
}

func exitCodeFor(ctx context.Context, err error) int {
	var ce *config.Error
	var de *earthquake.DataError
	var ue usageError
	switch {
	case ctx.Err() != nil:
		return exitInterrupted
	case errors.As(err, &ue), errors.As(err, new(badInput)):
		return exitUsage
	case errors.As(err, &ce), errors.As(err, &de), errors.Is(err, train.ErrCheckpoint),
		errors.Is(err, train.ErrConfig), errors.Is(err, train.ErrDivision),
		errors.Is(err, earthquake.ErrConfig), errors.Is(err, earthquake.ErrBadOption):
		return exitUsage
	}
	return exitFailed
}

// worker is the state of one rank's run.
type worker struct {
	f      *runFlags
	b      bench.Benchmark
	cfg    any
	common config.Common
	info   cluster.Info
	out    string
	log    *slog.Logger
	stdout io.Writer

	mllog  *metrics.MLLog
	mlFile *os.File
	sw     *metrics.StopWatch
	reg    *prometheus.Registry
	wm     *metrics.WorkerMetrics
	result *metrics.Result
	prog   *metrics.Progress
	mu     sync.Mutex
	// open mllog intervals, closed on abort so the log stays one sequence
	openEpoch, openEval int
	openBlock           string // the open mllog block (final_eval, inference)
	inferStart          time.Time
}

func runWorker(ctx context.Context, f *runFlags, b bench.Benchmark, cfg any, info cluster.Info, out, data string, stdout, stderr io.Writer, lvl slog.Level) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})).With("rank", info.Rank)
	w := &worker{f: f, b: b, cfg: cfg, common: b.Common(cfg), info: info, out: out, log: log, stdout: stdout}
	err := w.run(ctx, data)
	if err != nil {
		fmt.Fprintf(stderr, "scibench run: rank %d: %v\n", info.Rank, err)
		return exitCodeFor(ctx, err)
	}
	return exitOK
}

func (w *worker) rank0() bool { return w.info.Rank == 0 }

func (w *worker) run(ctx context.Context, data string) (err error) {
	if err := os.MkdirAll(w.out, 0o755); err != nil {
		return usageError{fmt.Errorf("run directory: %w", err)}
	}
	start := time.Now()
	w.sw = metrics.NewStopWatch(nil, nil)
	w.sw.SetTag(w.b.Name)
	_ = w.sw.Start("total")
	_ = w.sw.Start("init")
	w.result = &metrics.Result{Benchmark: w.b.Name, Version: version, GitCommit: gitCommit(), Status: metrics.StatusFailed,
		SubmissionDivision: w.common.Division, WorldSize: w.info.WorldSize, Nodes: max(1, len(w.info.Hosts)),
		Config: w.cfg, StartTime: start}
	for range w.info.WorldSize {
		w.result.Devices = append(w.result.Devices, "cpu")
	}
	if t := w.common.Target; t.Metric != "" {
		w.result.Target = &metrics.Target{Metric: t.Metric, Value: metrics.Num(t.Value), Mode: t.Mode}
	}
	// whatever happens below, rank 0 leaves a result.json and a closed mllog
	defer func() {
		if !w.rank0() {
			return
		}
		if err != nil {
			w.result.Status = metrics.StatusFailed
			if ctx.Err() != nil {
				w.result.Status = metrics.StatusAborted
			}
			w.result.Error = err.Error()
			w.result.EndTime = time.Now()
			w.result.Finalize()
			if w.mllog != nil {
				w.mu.Lock()
				if w.openEval > 0 {
					_ = w.mllog.EvalStop(w.openEval)
				} else if w.openEpoch > 0 {
					_ = w.mllog.EpochStop(w.openEpoch)
				}
				if w.openBlock != "" {
					_ = w.mllog.BlockStop(w.openBlock)
				}
				w.mu.Unlock()
				_ = w.mllog.LogResult(w.result.Summary())
				_ = w.mllog.RunStop(metrics.StatusAborted)
			}
			if werr := w.result.WriteFile(filepath.Join(w.out, "result.json")); werr != nil {
				w.log.Error("could not write result.json", "err", werr)
			}
		}
		if w.mlFile != nil {
			w.mlFile.Close()
		}
	}()

	threads := w.common.Threads
	if threads == 0 {
		threads = max(1, runtime.NumCPU()/max(1, w.info.LocalWorldSize))
	}
	blas.SetThreads(threads)

	// communicator first: a peer that cannot start fails everyone early
	var comm train.Comm = train.Local{}
	if w.info.WorldSize > 1 {
		c, err := collective.New(ctx, collective.Config{Rank: w.info.Rank, WorldSize: w.info.WorldSize,
			MasterAddr: w.info.MasterAddr, MasterPort: w.info.MasterPort, Token: w.info.Token,
			Timeout: w.f.timeout, Logger: w.log})
		if err != nil {
			return fmt.Errorf("communicator: %w", err)
		}
		defer c.Close()
		comm = train.Collective{C: c}
	}

	// Prometheus registry of this worker
	w.reg = prometheus.NewRegistry()
	if w.wm, err = metrics.NewWorkerMetrics(w.reg, w.info.Rank); err != nil {
		return err
	}
	// energy: one meter per node, on local rank 0, so nothing is counted twice
	var meter *energy.Meter
	energyNote := ""
	if w.info.LocalRank == 0 {
		m, err := energy.Open(ctx, energy.Config{Logger: w.log})
		if err != nil {
			energyNote = energy.Reason(err)
			w.log.Info("energy", "status", energyNote)
		} else {
			meter = m
			defer m.Close()
			w.log.Info("energy", "sources", strings.Join(m.Sources(), ", "))
			if err := w.reg.Register(metrics.NewEnergyCollector(w.info.Rank, func() ([]metrics.EnergyReading, error) {
				rs, err := m.Read()
				out := make([]metrics.EnergyReading, len(rs))
				for i, r := range rs {
					out[i] = metrics.EnergyReading{Source: r.Source, Joules: r.Joules}
				}
				return out, err
			})); err != nil {
				return fmt.Errorf("energy metrics: %w", err)
			}
		}
	}
	if w.f.metricsPort > 0 {
		host := w.info.MasterAddr
		if w.info.WorldSize == 1 || host == "" {
			host = "127.0.0.1"
		}
		addr := net.JoinHostPort(host, strconv.Itoa(w.f.metricsPort+w.info.LocalRank))
		sctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := metrics.Serve(sctx, addr, w.reg); err != nil {
				w.log.Warn("metrics server", "addr", addr, "err", err)
			}
		}()
		defer func() { cancel(); wg.Wait() }()
		w.log.Info("serving metrics", "url", "http://"+addr+"/metrics")
	}

	_ = w.sw.Start("data")
	run, err := w.b.Setup(ctx, w.cfg, bench.Env{DataDir: data, OutDir: w.out, Rank: w.info.Rank, World: w.info.WorldSize, Logger: w.log})
	_ = w.sw.Stop("data")
	if err != nil {
		return err
	}
	devName, closeDev, err := bench.UseDevice(ctx, w.f.device, run, bench.Env{Rank: w.info.Rank, World: w.info.WorldSize, Logger: w.log}, w.info.LocalRank)
	if errors.Is(err, bench.ErrDevice) {
		return usageError{err}
	} else if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	defer func() {
		if cerr := closeDev(); cerr != nil {
			w.log.Warn("closing the device", "err", cerr)
		}
	}()
	names, err := train.GatherBytes(ctx, comm, []byte(devName))
	if err != nil {
		return fmt.Errorf("device names: %w", err)
	}
	for r, n := range names {
		if r < len(w.result.Devices) {
			w.result.Devices[r] = string(n)
		}
	}
	tc := run.Train
	tc.CheckpointDir = filepath.Join(w.out, "checkpoint")
	tc.Resume = w.f.resume
	tc.Logger = w.log
	tc.Observe = w.observe
	tc.AfterStep = w.afterStep(tc.GlobalBatch)
	tc.Progress = w.progress
	if meter != nil { // a nil *energy.Meter must not become a non-nil interface
		tc.Energy = meter
	}
	tc.EnergyUnavailable = energyNote
	var history []train.EpochRecord
	if w.f.resume {
		if p, err := train.LatestCheckpoint(tc.CheckpointDir); err != nil {
			return err
		} else if p != "" {
			ck, err := train.ReadCheckpoint(p)
			if err != nil {
				return err
			}
			history = ck.History
		}
	}
	tr, err := train.New(tc, run.Task, run.Optimizer, comm)
	if err != nil {
		return err
	}

	if w.rank0() {
		w.mlFile, err = os.Create(filepath.Join(w.out, "mllog.log"))
		if err != nil {
			return fmt.Errorf("mllog: %w", err)
		}
		w.mllog = metrics.NewMLLog(w.mlFile, nil)
		div := w.common.Division
		errs := []error{
			w.mllog.LogSubmission(metrics.Submission{Benchmark: w.b.Name, Org: "scibench", Division: div,
				Version: metrics.SubmissionVersion(w.b.Name, version), GitCommit: gitCommit(), Status: "research",
				Platform: runtime.GOOS + "/" + runtime.GOARCH + " " + devName, POCName: "scibench", POCEmail: "scibench@localhost"}),
			w.mllog.LogInit(metrics.RunInit{Ranks: w.info.WorldSize, Nodes: max(1, len(w.info.Hosts)),
				Seed: w.common.Seed, GlobalBatchSize: tc.GlobalBatch, TrainSamples: run.TrainSamples,
				EvalSamples: run.EvalSamples, OptName: run.Optimizer.Name(), OptBaseLearningRate: run.Optimizer.LR()}),
			w.mllog.RunStart(),
		}
		// a resumed run replays the epochs of its checkpoint so the log stays one sequence
		for _, h := range history {
			errs = append(errs, w.mllog.EpochStart(h.Epoch), w.mllog.EpochStop(h.Epoch))
			if len(h.Eval) > 0 {
				errs = append(errs, w.mllog.EvalStart(h.Epoch))
				names := make([]string, 0, len(h.Eval))
				for n := range h.Eval {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					errs = append(errs, w.mllog.Event(n, h.Eval[n], metrics.Meta{"epoch_num": h.Epoch, "replayed": true}))
				}
				errs = append(errs, w.mllog.EvalStop(h.Epoch))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		fmt.Fprintf(w.stdout, "%s: %d worker(s) on %s, global batch %d, %d training windows/epoch, %d epochs, %d parameters\n",
			w.b.Name, w.info.WorldSize, deviceSummary(w.result.Devices), tc.GlobalBatch, run.TrainSamples, tc.Epochs, run.Task.Arena().Size())
	}
	_ = w.sw.Stop("init")

	_ = w.sw.Start("train")
	res, err := tr.Run(ctx)
	_ = w.sw.Stop("train")
	if err != nil {
		return err
	}
	_ = w.sw.Stop("total")
	return w.finish(ctx, comm, res, history)
}

// observe turns loop events into mllog records (rank 0) and metrics.
func (w *worker) observe(ev train.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev.Kind {
	case "epoch_start":
		w.wm.SetEpoch(ev.Epoch)
		_ = w.mllog.EpochStart(ev.Epoch)
		w.openEpoch = ev.Epoch
	case "epoch_stop":
		_ = w.mllog.EpochStop(ev.Epoch)
		w.openEpoch = 0
		if w.rank0() && ev.Record != nil {
			fmt.Fprintf(w.stdout, "epoch %d: train %.2fs, %.0f samples/s, loss %.6g\n", ev.Epoch, ev.Record.TrainTimeS,
				ev.Record.SamplesPerS, ev.Record.TrainLoss)
		}
		w.prog = nil
		if w.f.push != "" {
			w.pushMetrics()
		}
	case "eval_start":
		if ev.Epoch > 0 {
			_ = w.mllog.EvalStart(ev.Epoch)
			w.openEval = ev.Epoch
		} else {
			_ = w.mllog.BlockStart("final_eval")
			w.openBlock = "final_eval"
		}
	case "eval_stop":
		if ev.Epoch > 0 {
			for _, m := range ev.Metrics {
				meta := metrics.Meta{"epoch_num": ev.Epoch, "name": m.Name}
				for k, v := range m.Meta {
					meta[k] = v
				}
				_ = w.mllog.Event(m.Key, m.Value, meta)
			}
			_ = w.mllog.EvalStop(ev.Epoch)
			w.openEval = 0
			if w.rank0() && ev.Record != nil {
				fmt.Fprintf(w.stdout, "epoch %d: eval %.2fs%s\n", ev.Epoch, ev.Record.EvalTimeS, headline(ev.Metrics))
			}
		} else {
			_ = w.mllog.BlockStop("final_eval")
			w.openBlock = ""
		}
	case "restore_best":
		if w.rank0() {
			what := "the best weights"
			if len(ev.Metrics) == 1 {
				what = fmt.Sprintf("the weights with the best %s (%.6g)", ev.Metrics[0].Name, ev.Metrics[0].Value)
			}
			if ev.Epoch > 0 {
				what += fmt.Sprintf(", epoch %d", ev.Epoch)
			}
			fmt.Fprintf(w.stdout, "restored %s\n", what)
		}
	case "infer_start":
		_ = w.mllog.BlockStart("inference")
		w.openBlock = "inference"
		w.inferStart = time.Now()
		if w.rank0() {
			fmt.Fprintln(w.stdout, "inference ...")
		}
	case "infer_stop":
		for _, m := range ev.Metrics {
			meta := metrics.Meta{"name": m.Name}
			for k, v := range m.Meta {
				meta[k] = v
			}
			_ = w.mllog.Event(m.Key, m.Value, meta)
		}
		_ = w.mllog.BlockStop("inference")
		w.openBlock = ""
		if w.rank0() {
			fmt.Fprintf(w.stdout, "inference: %.2fs\n", time.Since(w.inferStart).Seconds())
		}
	}
}

// headline picks a few metrics for the per-epoch line.
func headline(ms []train.Metric) string {
	var b strings.Builder
	for _, m := range ms {
		switch m.Name {
		case "val_mse", "nnse_ST_2w", "nnse_SV_2w":
			fmt.Fprintf(&b, ", %s %.4f", m.Name, m.Value)
		}
	}
	return b.String()
}

func (w *worker) afterStep(globalBatch int) func(train.StepReport) {
	return func(s train.StepReport) {
		loss := math.NaN()
		if s.LocalSamples > 0 {
			loss = s.LossSum / float64(s.LocalSamples)
		}
		sps := 0.0
		if s.Seconds > 0 {
			sps = float64(globalBatch) / s.Seconds
		}
		w.wm.Step(loss, sps, time.Now())
		w.wm.AddWait(time.Duration(s.WaitSeconds * 1e9))
	}
}

// progress shows the progress of long epochs on rank 0.
func (w *worker) progress(epoch, step, steps int) {
	if !w.rank0() || steps < 100 {
		return
	}
	if w.prog == nil {
		w.prog = metrics.NewProgress(os.Stderr, steps, fmt.Sprintf("epoch %d", epoch))
		w.prog.EveryPercent = 25
	}
	_ = w.prog.Set(step)
}

func (w *worker) pushMetrics() {
	ctx, cancel := context.WithTimeout(context.Background(), metrics.PushTimeout)
	defer cancel()
	if err := metrics.Push(ctx, w.f.push, "scibench_"+w.b.Name, map[string]string{"job_id": w.info.JobID, "rank": strconv.Itoa(w.info.Rank)}, w.reg); err != nil {
		w.log.Warn("push", "url", w.f.push, "err", err)
	}
}

// finish writes the run directory: every rank its metrics exposition,
// rank 0 result.json, trace.json, stopwatch.csv and the closing mllog
// records, and prints the report.
func (w *worker) finish(ctx context.Context, comm train.Comm, res *train.Result, history []train.EpochRecord) error {
	for _, c := range res.Comm {
		if c.Rank == w.info.Rank {
			w.wm.AddAllReduce(time.Duration(c.AllReduceS*1e9), int64(c.Bytes))
		}
	}
	promName := "metrics.prom"
	if !w.rank0() {
		promName = fmt.Sprintf("metrics-rank%d.prom", w.info.Rank)
	}
	if err := metrics.WriteProm(filepath.Join(w.out, promName), w.reg); err != nil {
		w.log.Warn("metrics.prom", "err", err)
	}
	if w.f.push != "" {
		w.pushMetrics()
	}
	if !w.rank0() {
		return nil
	}
	r := w.result
	r.Status = metrics.StatusSuccess
	r.EndTime = time.Now()
	r.Metrics = map[string]metrics.Num{}
	for _, m := range res.Metrics {
		r.Metrics[m.Name] = metrics.Num(m.Value)
	}
	for _, e := range res.Epochs {
		er := metrics.EpochResult{Epoch: e.Epoch, TrainTimeS: metrics.Num(e.TrainTimeS), EvalTimeS: metrics.Num(e.EvalTimeS),
			SamplesPerS: metrics.Num(e.SamplesPerS), TrainLoss: metrics.Num(e.TrainLoss), Eval: map[string]metrics.Num{}}
		for k, v := range e.Eval {
			er.Eval[k] = metrics.Num(v)
		}
		if e.Energy != nil {
			er.Energy = &metrics.EpochEnergy{Joules: metrics.Num(e.Energy.Joules), JoulesPerSample: metrics.Num(e.Energy.JoulesPerSample)}
		}
		r.Epochs = append(r.Epochs, er)
	}
	if e := res.Energy; e != nil {
		r.Energy = &metrics.EnergyResult{Source: e.Source, Ranks: e.Ranks, Joules: metrics.Num(e.Joules),
			TrainJoules: metrics.Num(e.TrainJoules), JoulesPerSample: metrics.Num(e.JoulesPerSample)}
		if e.Ranks == 0 { // not available: null, not 0
			nan := metrics.Num(math.NaN())
			r.Energy.Joules, r.Energy.TrainJoules, r.Energy.JoulesPerSample = nan, nan, nan
		}
	}
	for _, c := range res.Comm {
		r.Comm = append(r.Comm, metrics.CommStats{Rank: c.Rank, Bytes: int64(c.Bytes), AllReduceS: metrics.Num(c.AllReduceS), WaitS: metrics.Num(c.WaitS)})
	}
	r.Timers = w.sw.Timers()
	for k, v := range res.Timers {
		r.Timers["loop_"+k] = metrics.Num(v)
	}
	r.Finalize()
	if res.TargetReached {
		r.TimeToSolutionS = metrics.Num(res.TimeToSolutionS)
	}
	if r.Target != nil {
		r.Target.Reached = res.TargetReached
	}
	errs := []error{w.mllog.LogResult(r.Summary()), w.mllog.RunStop(metrics.StatusSuccess)}

	perRank := make([][]metrics.Event, comm.Size())
	for _, e := range res.Trace {
		if e.Rank < 0 || e.Rank >= len(perRank) {
			continue
		}
		tid, cat := 0, "compute"
		switch e.Phase {
		case "allreduce":
			tid, cat = 1, "comm"
		case "wait":
			cat = "comm"
		case "data", "checkpoint":
			cat = "io"
		}
		perRank[e.Rank] = append(perRank[e.Rank], metrics.Event{Name: e.Phase, Cat: cat, TS: int64(e.StartUS), Dur: int64(math.Max(1, e.DurUS)), PID: e.Rank, TID: tid})
	}
	errs = append(errs,
		metrics.WriteTraceFile(filepath.Join(w.out, "trace.json"), perRank),
		w.sw.WriteCSV(filepath.Join(w.out, "stopwatch.csv")),
		r.WriteFile(filepath.Join(w.out, "result.json")),
	)
	if err := errors.Join(errs...); err != nil {
		return err
	}

	// the report
	var buf bytes.Buffer
	fmt.Fprintln(&buf)
	if w.b.Report != nil {
		w.b.Report(&buf, res.Metrics)
	}
	fmt.Fprintf(&buf, "epoch times (s):")
	for _, e := range res.Epochs {
		fmt.Fprintf(&buf, " %d:%.2f", e.Epoch, e.TrainTimeS)
	}
	fmt.Fprintf(&buf, "\nsamples/s: last %.0f, median(epochs>=2) %.0f; total %.1fs\n", float64(r.SamplesPerS), float64(r.SamplesPerSMedian), res.TotalS)
	if len(res.Comm) > 1 {
		fmt.Fprintf(&buf, "all-reduce wait per rank (s):")
		for _, c := range res.Comm {
			fmt.Fprintf(&buf, " %d:%.2f", c.Rank, c.WaitS)
		}
		fmt.Fprintf(&buf, " (rank %d waited least: the straggler)\n", res.Straggler)
	}
	if res.TargetReached {
		fmt.Fprintf(&buf, "target %s reached: time to solution %.1fs\n", w.common.Target.Metric, res.TimeToSolutionS)
	}
	_ = w.sw.Summary(&buf)
	fmt.Fprintf(&buf, "run directory: %s\n", w.out)
	_, err := w.stdout.Write(buf.Bytes())
	return err
}

// deviceSummary names the ranks' devices: "cpu", "cuda:0 NVIDIA H200", or
// "2× cuda:0 NVIDIA H200, 1× cpu" when they differ.
func deviceSummary(devs []string) string {
	count := map[string]int{}
	var order []string
	for _, d := range devs {
		if count[d] == 0 {
			order = append(order, d)
		}
		count[d]++
	}
	if len(order) == 1 {
		return order[0]
	}
	parts := make([]string, len(order))
	for i, d := range order {
		parts[i] = fmt.Sprintf("%d× %s", count[d], d)
	}
	return strings.Join(parts, ", ")
}

// bindDevices gives worker r of a one-per-GPU launch the r-th of the n
// visible GPUs as its only one: CUDA_VISIBLE_DEVICES set to the r-th entry
// of the launcher's own list (visible, when set) or to r.
func bindDevices(visible string, n int) func(int) []string {
	ids := gpu.VisibleDevices(visible)
	return func(r int) []string {
		id := strconv.Itoa(r % n)
		if len(ids) > 0 {
			id = ids[r%len(ids)]
		}
		return []string{"CUDA_VISIBLE_DEVICES=" + id}
	}
}
