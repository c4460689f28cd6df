package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Num is a float64 that encodes to JSON as null when it is NaN or ±Inf (a
// diverged loss must not stop result.json from being written) and decodes
// null back to NaN.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("%w: number %q: %w", ErrResult, b, err)
	}
	*n = Num(f)
	return nil
}

// EpochResult is one epoch of result.json.
type EpochResult struct {
	Epoch       int            `json:"epoch"`        // 1-based
	TrainTimeS  Num            `json:"train_time_s"` // training loop only, rank 0 after a barrier
	EvalTimeS   Num            `json:"eval_time_s,omitempty"`
	SamplesPerS Num            `json:"samples_per_s"` // global samples / train_time_s
	TrainLoss   Num            `json:"train_loss"`
	Eval        map[string]Num `json:"eval"` // metric name → value
	Energy      *EpochEnergy   `json:"energy,omitempty"`
}

// CommStats is one rank's communication totals.
type CommStats struct {
	Rank       int   `json:"rank"`
	Bytes      int64 `json:"bytes"`
	AllReduceS Num   `json:"allreduce_s"`
	WaitS      Num   `json:"wait_s"`
}

// Target is the science target recorded in result.json.
type Target struct {
	Metric  string `json:"metric"`
	Value   Num    `json:"value"`
	Mode    string `json:"mode"` // "min" or "max"
	Reached bool   `json:"reached"`
}

// Result is the content of result.json (DESIGN.md "Output of a run").
// Rank 0 fills it, calls Finalize and WriteFile; a failed run writes it too.
type Result struct {
	Benchmark          string         `json:"benchmark"`
	Version            string         `json:"version"`
	GitCommit          string         `json:"git_commit"`
	Status             string         `json:"status"` // StatusSuccess, StatusFailed or StatusAborted
	Error              string         `json:"error,omitempty"`
	SubmissionDivision string         `json:"submission_division"`
	WorldSize          int            `json:"world_size"`
	Nodes              int            `json:"nodes"`
	Devices            []string       `json:"devices"` // one entry per worker device, e.g. "cpu" or a GPU name
	Config             any            `json:"config"`  // the resolved config
	Target             *Target        `json:"target,omitempty"`
	StartTime          time.Time      `json:"start_time"`
	EndTime            time.Time      `json:"end_time"`
	TimeToSolutionS    Num            `json:"time_to_solution_s"`
	SamplesPerS        Num            `json:"samples_per_s"`        // last epoch
	SamplesPerSMedian  Num            `json:"samples_per_s_median"` // median over epochs >= 2; null if none
	Epochs             []EpochResult  `json:"epochs"`
	Metrics            map[string]Num `json:"metrics"` // final science metrics by name
	Timers             map[string]Num `json:"timers"`  // StopWatch name → seconds
	Comm               []CommStats    `json:"comm"`
	Energy             *EnergyResult  `json:"energy,omitempty"` // nil: energy was not asked for
}

// ThroughputStats returns the samples/s of the last epoch and the median
// over epochs numbered 2 and later (BENCHMARKS.md §1.4; epoch 1 carries
// warm-up). Either is NaN when there is no such epoch.
func ThroughputStats(epochs []EpochResult) (last, median float64) {
	last, median = math.NaN(), math.NaN()
	if len(epochs) == 0 {
		return
	}
	last = float64(epochs[len(epochs)-1].SamplesPerS)
	var xs []float64
	for _, e := range epochs {
		if e.Epoch >= 2 && !math.IsNaN(float64(e.SamplesPerS)) {
			xs = append(xs, float64(e.SamplesPerS))
		}
	}
	if len(xs) == 0 {
		return
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 1 {
		median = xs[n/2]
	} else {
		median = (xs[n/2-1] + xs[n/2]) / 2
	}
	return
}

// Finalize derives SamplesPerS and SamplesPerSMedian from Epochs,
// TimeToSolutionS from StartTime/EndTime when it is still zero, and
// Target.Reached from Metrics.
func (r *Result) Finalize() {
	last, med := ThroughputStats(r.Epochs)
	r.SamplesPerS, r.SamplesPerSMedian = Num(last), Num(med)
	if r.TimeToSolutionS == 0 && !r.StartTime.IsZero() && !r.EndTime.IsZero() {
		r.TimeToSolutionS = Num(r.EndTime.Sub(r.StartTime).Seconds())
	}
	if r.Target != nil && r.Target.Metric != "" {
		v, ok := r.Metrics[r.Target.Metric]
		x := float64(v)
		r.Target.Reached = ok && !math.IsNaN(x) &&
			((r.Target.Mode == "min" && x <= float64(r.Target.Value)) ||
				(r.Target.Mode != "min" && x >= float64(r.Target.Value)))
	}
}

// Summary returns the mllog result dict for this run.
func (r *Result) Summary() ResultSummary {
	return ResultSummary{
		Name: r.Benchmark, Status: r.Status, Metrics: r.Metrics, TimeToSolutionS: r.TimeToSolutionS,
		SamplesPerS: r.SamplesPerS, SamplesPerSMedian: r.SamplesPerSMedian, Epochs: r.Epochs,
	}
}

// Marshal returns result.json's bytes (indented, trailing newline). It
// fails when Status is not one of the three statuses or Config cannot be
// encoded.
func (r *Result) Marshal() ([]byte, error) {
	switch r.Status {
	case StatusSuccess, StatusFailed, StatusAborted:
	default:
		return nil, fmt.Errorf("%w: status %q, want %q, %q or %q", ErrResult, r.Status, StatusSuccess, StatusFailed, StatusAborted)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %w", ErrResult, err)
	}
	return append(b, '\n'), nil
}

// WriteFile writes r to path atomically.
func (r *Result) WriteFile(path string) error {
	b, err := r.Marshal()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteFileAtomic(path, b)
}

// ReadResult reads a result.json file.
func ReadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrResult, err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrResult, path, err)
	}
	return &r, nil
}

// WriteFileAtomic writes data to path so that readers see either the old
// file or the complete new one: it writes a temporary file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory. The
// file gets mode 0644.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("%w: %s: fsync: %w", ErrWrite, path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		serr := d.Sync()
		cerr := d.Close()
		if serr = errors.Join(serr, cerr); serr != nil {
			return fmt.Errorf("%w: %s: fsync dir: %w", ErrWrite, path, serr)
		}
	}
	return nil
}
