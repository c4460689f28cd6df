package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// naiveMedian picks the element(s) with as many values below as above.
func naiveMedian(xs []float64) float64 {
	n := len(xs)
	var lo, hi float64
	for _, x := range xs {
		below, equal := 0, 0
		for _, y := range xs {
			if y < x {
				below++
			} else if y == x {
				equal++
			}
		}
		if below <= (n-1)/2 && (n-1)/2 < below+equal {
			lo = x
		}
		if below <= n/2 && n/2 < below+equal {
			hi = x
		}
	}
	return (lo + hi) / 2
}

func TestThroughputStats(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 500 {
		n := r.IntN(9)
		epochs := make([]EpochResult, n)
		var rest []float64
		for i := range epochs {
			epochs[i] = EpochResult{Epoch: i + 1, SamplesPerS: Num(float64(r.IntN(50)) + r.Float64())}
			if i >= 1 {
				rest = append(rest, float64(epochs[i].SamplesPerS))
			}
		}
		last, med := ThroughputStats(epochs)
		switch {
		case n == 0:
			if !math.IsNaN(last) || !math.IsNaN(med) {
				t.Fatalf("empty: %v %v", last, med)
			}
		case n == 1:
			if last != float64(epochs[0].SamplesPerS) || !math.IsNaN(med) {
				t.Fatalf("one epoch: %v %v", last, med)
			}
		default:
			if last != float64(epochs[n-1].SamplesPerS) || med != naiveMedian(rest) {
				t.Fatalf("%v: last %v med %v want %v", rest, last, med, naiveMedian(rest))
			}
		}
	}
}

func sampleResult() *Result {
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	return &Result{
		Benchmark: "earthquake", Version: "0.1.0", GitCommit: "abc", Status: StatusSuccess,
		SubmissionDivision: "closed", WorldSize: 2, Nodes: 1, Devices: []string{"cpu", "cpu"},
		Config: map[string]any{"epochs": 2, "seed": 1}, Target: &Target{Metric: "nnse", Value: 0.8, Mode: "max"},
		StartTime: start, EndTime: start.Add(90 * time.Second),
		Epochs: []EpochResult{
			{Epoch: 1, TrainTimeS: 10, SamplesPerS: 50, TrainLoss: 0.9, Eval: map[string]Num{"nnse": 0.6}},
			{Epoch: 2, TrainTimeS: 8, SamplesPerS: 62.5, TrainLoss: Num(math.NaN()), Eval: map[string]Num{"nnse": 0.85}},
			{Epoch: 3, TrainTimeS: 8, SamplesPerS: 60, TrainLoss: Num(math.Inf(1)), Eval: map[string]Num{"nnse": 0.86}},
		},
		Metrics: map[string]Num{"nnse": 0.86},
		Timers:  map[string]Num{"train": 26},
		Comm:    []CommStats{{Rank: 0, Bytes: 1 << 20, AllReduceS: 0.5, WaitS: 0.1}, {Rank: 1, Bytes: 1 << 20, AllReduceS: 0.4, WaitS: 0.2}},
	}
}

func TestResultWriteRead(t *testing.T) {
	res := sampleResult()
	res.Finalize()
	if res.SamplesPerS != 60 || res.SamplesPerSMedian != 61.25 || res.TimeToSolutionS != 90 || !res.Target.Reached {
		t.Fatalf("finalize: %+v %+v", res, res.Target)
	}
	path := filepath.Join(t.TempDir(), "result.json")
	must(t, res.WriteFile(path))
	data, err := os.ReadFile(path)
	must(t, err)
	var raw map[string]any
	must(t, json.Unmarshal(data, &raw))
	for _, k := range []string{"benchmark", "version", "git_commit", "status", "world_size", "nodes", "devices",
		"config", "epochs", "metrics", "timers", "comm", "start_time", "end_time", "time_to_solution_s",
		"samples_per_s", "samples_per_s_median", "submission_division", "target"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("result.json lacks %q", k)
		}
	}
	ep := raw["epochs"].([]any)[1].(map[string]any)
	if v, ok := ep["train_loss"]; !ok || v != nil {
		t.Errorf("NaN loss should be null, got %v", v)
	}
	comm := raw["comm"].([]any)[1].(map[string]any)
	if comm["rank"] != 1.0 || comm["allreduce_s"] != 0.4 || comm["wait_s"] != 0.2 || comm["bytes"] != float64(1<<20) {
		t.Errorf("comm %v", comm)
	}
	back, err := ReadResult(path)
	must(t, err)
	if back.Benchmark != "earthquake" || !math.IsNaN(float64(back.Epochs[1].TrainLoss)) || back.Epochs[2].Eval["nnse"] != 0.86 ||
		!back.StartTime.Equal(res.StartTime) || back.SamplesPerSMedian != 61.25 {
		t.Errorf("read back %+v", back)
	}
}

func TestResultErrors(t *testing.T) {
	res := sampleResult()
	res.Status = "ok"
	if err := res.WriteFile(filepath.Join(t.TempDir(), "r.json")); !errors.Is(err, ErrResult) || !strings.Contains(err.Error(), "r.json") {
		t.Fatalf("bad status: %v", err)
	}
	res.Status = StatusFailed
	res.Config = map[string]any{"lr": math.NaN()}
	if _, err := res.Marshal(); !errors.Is(err, ErrResult) {
		t.Fatalf("unencodable config: %v", err)
	}
	if _, err := ReadResult(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	p := filepath.Join(t.TempDir(), "bad.json")
	must(t, os.WriteFile(p, []byte(`{"epochs": [{"train_loss": "x"}]}`), 0o600))
	if _, err := ReadResult(p); !errors.Is(err, ErrResult) || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("bad: %v", err)
	}
	// Target not reached and a min target.
	res = sampleResult()
	res.Target = &Target{Metric: "val_mse", Value: 0.0054, Mode: "min"}
	res.Metrics = map[string]Num{"val_mse": 0.006}
	res.Finalize()
	if res.Target.Reached {
		t.Fatal("min target wrongly reached")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	must(t, WriteFileAtomic(path, []byte("one")))
	must(t, WriteFileAtomic(path, []byte("two")))
	data, err := os.ReadFile(path)
	must(t, err)
	st, err := os.Stat(path)
	must(t, err)
	if string(data) != "two" || st.Mode().Perm() != 0o644 {
		t.Fatalf("content %q mode %v", data, st.Mode())
	}
	entries, err := os.ReadDir(dir)
	must(t, err)
	if len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
	bad := filepath.Join(dir, "nodir", "x.json")
	if err := WriteFileAtomic(bad, nil); !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("missing dir: %v", err)
	}
	// Renaming over a directory fails and leaves no temp file.
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	if err := WriteFileAtomic(filepath.Join(dir, "sub"), []byte("x")); !errors.Is(err, ErrWrite) {
		t.Fatalf("over dir: %v", err)
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temp files left after failure: %v", entries)
	}
	// Relative path in the current directory.
	t.Chdir(dir)
	must(t, WriteFileAtomic("rel.txt", []byte("r")))
}
