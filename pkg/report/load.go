package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/scibench/scibench/pkg/metrics"
)

// Run statuses besides those of result.json (metrics.StatusSuccess, ...).
const (
	// StatusIncomplete: the run directory has no readable result.json
	// (missing, truncated or corrupt); Run.Cause says which.
	StatusIncomplete = "incomplete"
)

// Run is one run directory: what result.json says, and what the sweep and
// the scheduler's accounting add.
type Run struct {
	Dir       string
	Series    string // machine or sweep label: one plot line each
	Benchmark string
	Workers   int
	Nodes     int
	Status    string // success, failed, aborted or incomplete
	Cause     string // why a run failed or is incomplete
	Scaling   string
	JobID     string
	// GlobalBatch is the global batch size (batch_size times workers when
	// batch_scope is per_rank); 0 when unknown.
	GlobalBatch int
	// Epochs is the number of epochs in result.json.
	Epochs int
	// EpochTimeS and SamplesPerS are medians over epochs numbered 2 and
	// later (all epochs when there is only one); NaN when unknown.
	EpochTimeS  float64
	SamplesPerS float64
	// Speedup and Efficiency compare SamplesPerS with the successful run
	// of the fewest workers of the same benchmark and series:
	// speedup = sps/sps_base, efficiency = speedup * workers_base/workers.
	Speedup    float64
	Efficiency float64
	// CommShare is (allreduce_s + wait_s) over the training time, averaged
	// over ranks; WaitShare is wait_s alone.
	CommShare float64
	WaitShare float64
	// Straggler is the rank the others waited for, or -1 (see Straggler).
	Straggler   int
	Metric      string
	MetricValue float64
	// WallS is the run's wall time (start_time to end_time of result.json).
	WallS float64
	// From the scheduler's accounting (sacct); NaN/empty when unknown.
	JobState   string
	QueueWaitS float64
	ElapsedS   float64
}

// sweepFile is the part of SWEEPDIR/sweep.json (written by `scibench
// submit`) that the report reads.
type sweepFile struct {
	Benchmark string `json:"benchmark"`
	Cluster   string `json:"cluster"`
	Scheduler string `json:"scheduler"`
	Scaling   string `json:"scaling"`
	Jobs      []struct {
		Name   string `json:"name"`
		JobID  string `json:"job_id"`
		State  string `json:"state"`
		Points []struct {
			Workers int    `json:"workers"`
			Nodes   int    `json:"nodes"`
			RunDir  string `json:"run_dir"`
		} `json:"points"`
	} `json:"jobs"`
}

// source is what one DIR argument holds.
type source struct {
	series    string
	scheduler string
	runs      []Run
}

var runDirName = regexp.MustCompile(`^w[0-9]+$`)

// Load reads every DIR: a run directory (with result.json), a sweep
// directory (with sweep.json, whose jobs name their run directories) or a
// directory of run directories. Each DIR is one series (one line per plot):
// a sweep is labelled by its cluster profile, anything else by the
// directory's base name; equal labels get the directory appended. A run
// directory without a readable result.json is a run with StatusIncomplete
// and the cause, not an error; a DIR with nothing to report is.
func Load(dirs []string) ([]Run, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%w: no directories given", ErrNoRuns)
	}
	var srcs []source
	for _, d := range dirs {
		s, err := loadDir(d)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s)
	}
	seen := map[string]int{}
	for _, s := range srcs {
		seen[s.series]++
	}
	var runs []Run
	for i, s := range srcs {
		label := s.series
		if seen[label] > 1 {
			label = fmt.Sprintf("%s (%s)", label, filepath.Base(filepath.Clean(dirs[i])))
		}
		for _, r := range s.runs {
			r.Series = label
			runs = append(runs, r)
		}
	}
	Derive(runs)
	return runs, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func loadDir(dir string) (source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return source{}, fmt.Errorf("%w: %w", ErrNoRuns, err)
	}
	if !st.IsDir() {
		return source{}, fmt.Errorf("%w: %s is not a directory", ErrNoRuns, dir)
	}
	base := filepath.Base(filepath.Clean(dir))
	if p := filepath.Join(dir, "sweep.json"); exists(p) {
		return loadSweep(dir, p)
	}
	if looksLikeRun(dir) {
		return source{series: base, runs: []Run{readRun(dir, 0, 0)}}, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return source{}, fmt.Errorf("%w: %w", ErrNoRuns, err)
	}
	s := source{series: base}
	for _, e := range ents {
		sub := filepath.Join(dir, e.Name())
		if e.IsDir() && (runDirName.MatchString(e.Name()) || looksLikeRun(sub)) {
			s.runs = append(s.runs, readRun(sub, workersFromName(e.Name()), 0))
		}
	}
	if len(s.runs) == 0 {
		return source{}, fmt.Errorf("%w: %s has no result.json, sweep.json or run directories", ErrNoRuns, dir)
	}
	return s, nil
}

// looksLikeRun reports whether dir is a run directory (it has result.json
// or the files a run writes before it).
func looksLikeRun(dir string) bool {
	for _, f := range []string{"result.json", "mllog.log", "output.log"} {
		if exists(filepath.Join(dir, f)) {
			return true
		}
	}
	return false
}

func workersFromName(name string) int {
	if !runDirName.MatchString(name) {
		return 0
	}
	n, _ := strconv.Atoi(name[1:])
	return n
}

func loadSweep(dir, path string) (source, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return source{}, fmt.Errorf("%w: %w", ErrSweep, err)
	}
	var sw sweepFile
	if err := json.Unmarshal(b, &sw); err != nil {
		return source{}, fmt.Errorf("%w: %s: %w", ErrSweep, path, err)
	}
	series := sw.Cluster
	if series == "" {
		series = filepath.Base(filepath.Clean(dir))
	}
	s := source{series: series, scheduler: sw.Scheduler}
	for _, j := range sw.Jobs {
		for _, pt := range j.Points {
			rd := pt.RunDir
			if rd == "" {
				rd = filepath.Join(dir, fmt.Sprintf("w%03d", pt.Workers))
			}
			// a sweep directory that was moved or copied: its run
			// directories are where they are now, next to sweep.json
			if local := filepath.Join(dir, filepath.Base(rd)); !exists(rd) || exists(local) {
				rd = local
			}
			r := readRun(rd, pt.Workers, pt.Nodes)
			r.JobID, r.JobState, r.Scaling = j.JobID, j.State, sw.Scaling
			if r.Benchmark == "" {
				r.Benchmark = sw.Benchmark
			}
			if r.Status == StatusIncomplete && j.State != "" {
				r.Cause += fmt.Sprintf(" (job %s %s)", j.JobID, j.State)
			}
			s.runs = append(s.runs, r)
		}
	}
	if len(s.runs) == 0 {
		return source{}, fmt.Errorf("%w: %s lists no jobs", ErrNoRuns, path)
	}
	return s, nil
}

// readRun reads dir/result.json into a Run; workers and nodes (from the
// sweep) are used when result.json cannot be read.
func readRun(dir string, workers, nodes int) Run {
	r := Run{Dir: dir, Workers: workers, Nodes: nodes, Straggler: -1}
	setNaN(&r)
	path := filepath.Join(dir, "result.json")
	res, err := metrics.ReadResult(path)
	if err != nil {
		r.Status = StatusIncomplete
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.Cause = "no result.json"
		default:
			r.Cause = "truncated or corrupt result.json: " + jsonCause(err)
		}
		return r
	}
	fill(&r, res)
	if workers > 0 && res.WorldSize != workers {
		r.Cause = joinCause(r.Cause, fmt.Sprintf("world_size %d in result.json but the sweep point has %d workers", res.WorldSize, workers))
		if r.Status == metrics.StatusSuccess {
			r.Status = StatusIncomplete
		}
	}
	return r
}

func jsonCause(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Error()
	}
	return err.Error()
}

func joinCause(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func setNaN(r *Run) {
	nan := math.NaN()
	r.EpochTimeS, r.SamplesPerS, r.Speedup, r.Efficiency = nan, nan, nan, nan
	r.CommShare, r.WaitShare, r.MetricValue, r.QueueWaitS, r.ElapsedS, r.WallS = nan, nan, nan, nan, nan, nan
}

// metricPreference orders science metrics when result.json has no target.
var metricPreference = []string{"val_accuracy", "inference_accuracy", "top1", "macro_f1", "val_mse", "nnse", "val_loss", "mse"}

func fill(r *Run, res *metrics.Result) {
	r.Benchmark, r.Status, r.Cause = res.Benchmark, res.Status, res.Error
	if r.Workers == 0 || res.WorldSize > 0 {
		r.Workers = res.WorldSize
	}
	if res.Nodes > 0 {
		r.Nodes = res.Nodes
	}
	r.Epochs = len(res.Epochs)
	r.EpochTimeS, r.SamplesPerS = EpochStats(res.Epochs)
	r.GlobalBatch = globalBatch(res.Config, res.WorldSize)
	var train float64
	for _, e := range res.Epochs {
		if t := float64(e.TrainTimeS); !math.IsNaN(t) {
			train += t
		}
	}
	r.CommShare, r.WaitShare, r.Straggler = CommStats(res.Comm, train)
	switch {
	case res.Target != nil && res.Target.Metric != "":
		r.Metric = res.Target.Metric
	default:
		for _, m := range metricPreference {
			if _, ok := res.Metrics[m]; ok {
				r.Metric = m
				break
			}
		}
		if r.Metric == "" && len(res.Metrics) > 0 {
			keys := make([]string, 0, len(res.Metrics))
			for k := range res.Metrics {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			r.Metric = keys[0]
		}
	}
	if v, ok := res.Metrics[r.Metric]; ok {
		r.MetricValue = float64(v)
	}
	if r.Status != metrics.StatusSuccess && r.Cause == "" {
		r.Cause = "status " + r.Status
	}
	if !res.StartTime.IsZero() && res.EndTime.After(res.StartTime) {
		r.WallS = res.EndTime.Sub(res.StartTime).Seconds()
	}
}

// globalBatch reads batch_size and batch_scope from the resolved config.
func globalBatch(cfg any, world int) int {
	m, ok := cfg.(map[string]any)
	if !ok {
		return 0
	}
	bs, ok := m["batch_size"].(float64)
	if !ok || bs <= 0 {
		return 0
	}
	if scope, _ := m["batch_scope"].(string); scope == "per_rank" {
		return int(bs) * max(world, 1)
	}
	return int(bs)
}

// EpochStats returns the median train_time_s and samples_per_s over epochs
// numbered 2 and later (BENCHMARKS.md §1.4: epoch 1 carries warm-up), or
// over all epochs when there is no later one; NaN when there are none.
func EpochStats(epochs []metrics.EpochResult) (timeS, samplesPerS float64) {
	var ts, ss []float64
	pick := func(all bool) {
		ts, ss = ts[:0], ss[:0]
		for _, e := range epochs {
			if !all && e.Epoch < 2 {
				continue
			}
			if t := float64(e.TrainTimeS); !math.IsNaN(t) {
				ts = append(ts, t)
			}
			if s := float64(e.SamplesPerS); !math.IsNaN(s) {
				ss = append(ss, s)
			}
		}
	}
	pick(false)
	if len(ts) == 0 && len(ss) == 0 {
		pick(true)
	}
	return Median(ts), Median(ss)
}

// Median returns the median of xs (NaN for none); xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// StragglerShare is the fraction of the training time by which the other
// ranks' median wait must exceed one rank's wait for that rank to be
// called the straggler.
const StragglerShare = 0.05

// CommStats returns the communication share ((allreduce_s + wait_s) /
// trainS) and wait share (wait_s / trainS), averaged over ranks, and the
// straggler: in a ring every rank waits for the slowest one, so the rank
// that waited least is the straggler when the median wait of the other
// ranks exceeds its own by more than StragglerShare of trainS; -1
// otherwise (and for a single rank).
func CommStats(comm []metrics.CommStats, trainS float64) (commShare, waitShare float64, straggler int) {
	commShare, waitShare, straggler = math.NaN(), math.NaN(), -1
	if len(comm) == 0 || !(trainS > 0) {
		return
	}
	var c, w float64
	waits := make([]float64, 0, len(comm))
	for _, s := range comm {
		a, wt := float64(s.AllReduceS), float64(s.WaitS)
		if math.IsNaN(a) || math.IsNaN(wt) {
			return math.NaN(), math.NaN(), -1
		}
		c += a + wt
		w += wt
		waits = append(waits, wt)
	}
	n := float64(len(comm))
	commShare, waitShare = c/n/trainS, w/n/trainS
	if len(comm) < 2 {
		return
	}
	lo := 0
	for i := range waits {
		if waits[i] < waits[lo] {
			lo = i
		}
	}
	others := slices.Delete(slices.Clone(waits), lo, lo+1)
	if Median(others)-waits[lo] > StragglerShare*trainS {
		straggler = comm[lo].Rank
	}
	return
}

// Derive fills Speedup and Efficiency of every run: within each
// (benchmark, series), the base is the successful run of the fewest
// workers with a finite SamplesPerS.
func Derive(runs []Run) {
	type key struct{ bench, series string }
	base := map[key]int{}
	for i, r := range runs {
		if r.Status != metrics.StatusSuccess || math.IsNaN(r.SamplesPerS) || r.SamplesPerS <= 0 || r.Workers <= 0 {
			continue
		}
		k := key{r.Benchmark, r.Series}
		if j, ok := base[k]; !ok || r.Workers < runs[j].Workers {
			base[k] = i
		}
	}
	for i := range runs {
		r := &runs[i]
		r.Speedup, r.Efficiency = math.NaN(), math.NaN()
		j, ok := base[key{r.Benchmark, r.Series}]
		if !ok || r.Status != metrics.StatusSuccess || math.IsNaN(r.SamplesPerS) || r.Workers <= 0 {
			continue
		}
		b := runs[j]
		r.Speedup = r.SamplesPerS / b.SamplesPerS
		r.Efficiency = r.Speedup * float64(b.Workers) / float64(r.Workers)
	}
	slices.SortStableFunc(runs, func(a, b Run) int {
		if a.Benchmark != b.Benchmark {
			if a.Benchmark < b.Benchmark {
				return -1
			}
			return 1
		}
		if a.Series != b.Series {
			if a.Series < b.Series {
				return -1
			}
			return 1
		}
		return a.Workers - b.Workers
	})
}
