package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/metrics"
)

// fakeRun is what a generated run directory holds.
type fakeRun struct {
	workers, nodes, batch int
	scope                 string
	epochTimes            []float64 // per epoch, seconds
	samples               float64   // samples per epoch
	waits                 []float64 // per rank
	allreduce             float64
	metric                float64
}

func writeRun(t *testing.T, dir string, fr fakeRun) *metrics.Result {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	r := &metrics.Result{
		Benchmark: "earthquake", Version: "test", Status: metrics.StatusSuccess, WorldSize: fr.workers, Nodes: fr.nodes,
		Config:    map[string]any{"batch_size": fr.batch, "batch_scope": fr.scope},
		StartTime: start, EndTime: start.Add(42 * time.Second),
		Metrics: map[string]metrics.Num{"val_mse": metrics.Num(fr.metric), "nnse_A_2w": 0.5},
	}
	for i, et := range fr.epochTimes {
		r.Epochs = append(r.Epochs, metrics.EpochResult{Epoch: i + 1, TrainTimeS: metrics.Num(et), SamplesPerS: metrics.Num(fr.samples / et), TrainLoss: 0.1})
	}
	for rank := range fr.workers {
		w := 0.0
		if rank < len(fr.waits) {
			w = fr.waits[rank]
		}
		r.Comm = append(r.Comm, metrics.CommStats{Rank: rank, Bytes: 1000, AllReduceS: metrics.Num(fr.allreduce), WaitS: metrics.Num(w)})
	}
	r.Finalize()
	if err := r.WriteFile(filepath.Join(dir, "result.json")); err != nil {
		t.Fatal(err)
	}
	return r
}

// writeSweep writes a sweep directory like `scibench submit` does, with
// one job per worker count; runs maps worker counts to their runs (a
// missing entry: no run directory content).
func writeSweep(t *testing.T, dir, cluster string, workers []int, runs map[int]fakeRun) {
	t.Helper()
	type point struct {
		Workers int    `json:"workers"`
		Nodes   int    `json:"nodes"`
		RunDir  string `json:"run_dir"`
	}
	type job struct {
		Name   string  `json:"name"`
		JobID  string  `json:"job_id"`
		State  string  `json:"state"`
		Points []point `json:"points"`
	}
	sw := struct {
		Benchmark string `json:"benchmark"`
		Cluster   string `json:"cluster"`
		Scheduler string `json:"scheduler"`
		Scaling   string `json:"scaling"`
		Jobs      []job  `json:"jobs"`
	}{Benchmark: "earthquake", Cluster: cluster, Scheduler: "slurm", Scaling: "strong"}
	for i, w := range workers {
		rd := filepath.Join(dir, fmt.Sprintf("w%03d", w))
		if err := os.MkdirAll(rd, 0o755); err != nil {
			t.Fatal(err)
		}
		state := "COMPLETED"
		if fr, ok := runs[w]; ok {
			writeRun(t, rd, fr)
		} else {
			state = "FAILED"
		}
		sw.Jobs = append(sw.Jobs, job{Name: fmt.Sprintf("scibench-earthquake-w%d", w), JobID: fmt.Sprint(100 + i), State: state,
			Points: []point{{Workers: w, Nodes: max(1, w/4), RunDir: rd}}})
	}
	b, err := json.MarshalIndent(sw, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sweep.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// naiveMedian is the reference: sort a copy, take the middle.
func naiveMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func TestEpochStatsAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := range 200 {
		n := rng.IntN(9)
		var eps []metrics.EpochResult
		var ts, ss []float64
		for i := range n {
			tt, sp := 0.1+rng.Float64()*10, 100+rng.Float64()*1e5
			if rng.IntN(8) == 0 {
				tt = math.NaN() // a missing number is ignored
			}
			eps = append(eps, metrics.EpochResult{Epoch: i + 1, TrainTimeS: metrics.Num(tt), SamplesPerS: metrics.Num(sp)})
			if i >= 1 {
				if !math.IsNaN(tt) {
					ts = append(ts, tt)
				}
				ss = append(ss, sp)
			}
		}
		if n == 1 { // only epoch 1: it is used
			if !math.IsNaN(float64(eps[0].TrainTimeS)) {
				ts = append(ts, float64(eps[0].TrainTimeS))
			}
			ss = append(ss, float64(eps[0].SamplesPerS))
		}
		gt, gs := EpochStats(eps)
		wt, ws := naiveMedian(ts), naiveMedian(ss)
		if !same(gt, wt) || !same(gs, ws) {
			t.Fatalf("trial %d (%d epochs): EpochStats = %v, %v; want %v, %v", trial, n, gt, gs, wt, ws)
		}
	}
}

func same(a, b float64) bool {
	return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b))
}

func TestCommStatsAndStraggler(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(8)
		train := 1 + rng.Float64()*100
		comm := make([]metrics.CommStats, n)
		var sumC, sumW float64
		for i := range comm {
			a, w := rng.Float64()*train/4, rng.Float64()*train/4
			comm[i] = metrics.CommStats{Rank: i, AllReduceS: metrics.Num(a), WaitS: metrics.Num(w)}
			sumC += a + w
			sumW += w
		}
		c, w, s := CommStats(comm, train)
		if !same(c, sumC/float64(n)/train) || !same(w, sumW/float64(n)/train) {
			t.Fatalf("trial %d: shares %v %v, want %v %v", trial, c, w, sumC/float64(n)/train, sumW/float64(n)/train)
		}
		want := -1
		if n >= 2 {
			lo := 0
			var rest []float64
			for i := range comm {
				if comm[i].WaitS < comm[lo].WaitS {
					lo = i
				}
			}
			for i := range comm {
				if i != lo {
					rest = append(rest, float64(comm[i].WaitS))
				}
			}
			if naiveMedian(rest)-float64(comm[lo].WaitS) > StragglerShare*train {
				want = lo
			}
		}
		if s != want {
			t.Fatalf("trial %d: straggler %d, want %d (waits %v)", trial, s, want, comm)
		}
	}
	// a clear case: rank 2 is slow, the others wait for it
	comm := []metrics.CommStats{{Rank: 0, WaitS: 3}, {Rank: 1, WaitS: 3.2}, {Rank: 2, WaitS: 0.1}, {Rank: 3, WaitS: 2.9}}
	if _, _, s := CommStats(comm, 10); s != 2 {
		t.Errorf("straggler %d, want 2", s)
	}
	if c, _, s := CommStats(nil, 10); !math.IsNaN(c) || s != -1 {
		t.Errorf("no comm: %v %d", c, s)
	}
}

func sampleSweep(t *testing.T) (string, map[int]fakeRun) {
	dir := filepath.Join(t.TempDir(), "pearl-sweep")
	runs := map[int]fakeRun{
		1: {workers: 1, nodes: 1, batch: 256, scope: "global", epochTimes: []float64{12, 10, 10.4, 9.8}, samples: 1e5, waits: []float64{0}, allreduce: 0.1, metric: 0.2},
		2: {workers: 2, nodes: 1, batch: 256, scope: "global", epochTimes: []float64{7, 5.5, 5.4, 5.6}, samples: 1e5, waits: []float64{0.5, 0.6}, allreduce: 1, metric: 0.21},
		4: {workers: 4, nodes: 1, batch: 256, scope: "global", epochTimes: []float64{5, 3.1, 3, 3.2}, samples: 1e5, waits: []float64{2, 0.05, 2.1, 1.9}, allreduce: 1.5, metric: 0.22},
		8: {workers: 8, nodes: 2, batch: 256, scope: "global", epochTimes: []float64{4, 2, 2.1, 2.2}, samples: 1e5, allreduce: 1, metric: 0.23},
	}
	writeSweep(t, dir, "pearl", []int{1, 2, 4, 8, 16}, runs) // 16: job failed, no result.json
	// w008's result.json is cut in the middle of a write
	p := filepath.Join(dir, "w008", "result.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, runs
}

func TestLoadSweepWithIncompleteRuns(t *testing.T) {
	dir, fr := sampleSweep(t)
	runs, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 5 {
		t.Fatalf("%d runs, want 5", len(runs))
	}
	by := map[int]Run{}
	for _, r := range runs {
		by[r.Workers] = r
		if r.Series != "pearl" || r.Benchmark != "earthquake" {
			t.Errorf("run %d: series %q bench %q", r.Workers, r.Series, r.Benchmark)
		}
	}
	if r := by[8]; r.Status != StatusIncomplete || !strings.Contains(r.Cause, "truncated or corrupt result.json") || !strings.Contains(r.Cause, "unexpected end of JSON input") {
		t.Errorf("w008: status %q cause %q: want incomplete, truncated", r.Status, r.Cause)
	}
	if r := by[16]; r.Status != StatusIncomplete || !strings.Contains(r.Cause, "no result.json") || !strings.Contains(r.Cause, "FAILED") || r.JobID != "104" {
		t.Errorf("w016: %+v: want incomplete, no result.json, job 104 FAILED", r)
	}
	base := median(fr[1].samples, fr[1].epochTimes)
	for _, w := range []int{1, 2, 4} {
		r, f := by[w], fr[w]
		wantT := naiveMedian(f.epochTimes[1:])
		wantS := median(f.samples, f.epochTimes)
		if !same(r.EpochTimeS, wantT) || !same(r.SamplesPerS, wantS) {
			t.Errorf("w%d: epoch %v sps %v, want %v %v", w, r.EpochTimeS, r.SamplesPerS, wantT, wantS)
		}
		if sp := wantS / base; !same(r.Speedup, sp) || !same(r.Efficiency, sp/float64(w)) {
			t.Errorf("w%d: speedup %v eff %v, want %v %v", w, r.Speedup, r.Efficiency, sp, sp/float64(w))
		}
		if r.Metric != "val_mse" || !same(r.MetricValue, f.metric) || r.GlobalBatch != 256 || r.JobState != "COMPLETED" {
			t.Errorf("w%d: %+v", w, r)
		}
	}
	if by[4].Straggler != 1 || by[2].Straggler != -1 {
		t.Errorf("stragglers %d %d, want 1 and -1", by[4].Straggler, by[2].Straggler)
	}
	if !math.IsNaN(by[8].Speedup) || !math.IsNaN(by[16].EpochTimeS) {
		t.Error("incomplete runs have numbers")
	}
}

func median(samples float64, times []float64) float64 {
	var s []float64
	for _, t := range times[1:] {
		s = append(s, samples/t)
	}
	return naiveMedian(s)
}

func TestLoadDirectoriesAndSeries(t *testing.T) {
	root := t.TempDir()
	// one plain run directory, and a directory of run directories
	single := filepath.Join(root, "laptop-run")
	writeRun(t, single, fakeRun{workers: 2, nodes: 1, batch: 64, scope: "per_rank", epochTimes: []float64{2, 1}, samples: 1000, allreduce: 0.1})
	multi := filepath.Join(root, "summit")
	writeRun(t, filepath.Join(multi, "w001"), fakeRun{workers: 1, nodes: 1, batch: 64, scope: "per_rank", epochTimes: []float64{2, 1}, samples: 1000})
	writeRun(t, filepath.Join(multi, "w006"), fakeRun{workers: 6, nodes: 1, batch: 64, scope: "per_rank", epochTimes: []float64{2, 1}, samples: 6000})
	// two sweeps of the same cluster get the directory in their label
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	one := map[int]fakeRun{1: {workers: 1, nodes: 1, batch: 8, scope: "global", epochTimes: []float64{1}, samples: 10}}
	writeSweep(t, a, "pearl", []int{1}, one)
	writeSweep(t, b, "pearl", []int{1}, one)
	runs, err := Load([]string{single, multi, a, b})
	if err != nil {
		t.Fatal(err)
	}
	var series []string
	for _, r := range runs {
		if !slices.Contains(series, r.Series) {
			series = append(series, r.Series)
		}
	}
	slices.Sort(series)
	if want := []string{"laptop-run", "pearl (a)", "pearl (b)", "summit"}; !slices.Equal(series, want) {
		t.Errorf("series %q, want %q", series, want)
	}
	for _, r := range runs {
		if r.Series == "summit" && r.Workers == 6 {
			if r.GlobalBatch != 6*64 || !same(r.Speedup, 6) || !same(r.Efficiency, 1) {
				t.Errorf("summit w6: batch %d speedup %v eff %v; want 384, 6, 1", r.GlobalBatch, r.Speedup, r.Efficiency)
			}
		}
		if r.Series == "pearl (a)" && !same(r.EpochTimeS, 1) { // one epoch only: it is the median
			t.Errorf("one-epoch run: epoch time %v", r.EpochTimeS)
		}
	}
	// errors name the directory
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{empty, filepath.Join(root, "nope")} {
		if _, err := Load([]string{d}); !errors.Is(err, ErrNoRuns) || !strings.Contains(err.Error(), d) {
			t.Errorf("Load(%s): %v, want ErrNoRuns naming it", d, err)
		}
	}
	bad := filepath.Join(root, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "sweep.json"), []byte(`{"jobs": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load([]string{bad}); !errors.Is(err, ErrSweep) || !strings.Contains(err.Error(), "sweep.json") {
		t.Errorf("corrupt sweep.json: %v", err)
	}
	if _, err := Load(nil); !errors.Is(err, ErrNoRuns) {
		t.Errorf("no dirs: %v", err)
	}
}

func TestWriteFormats(t *testing.T) {
	dir, _ := sampleSweep(t)
	runs, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, runs, FormatCSV); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(runs) || !slices.Equal(recs[0], columns) {
		t.Fatalf("csv: %d records, header %q", len(recs), recs[0])
	}
	col := slices.Index(columns, "status")
	if recs[4][col] != StatusIncomplete || !strings.Contains(recs[4][len(columns)-1], "truncated") {
		t.Errorf("csv row of w008: %q", recs[4])
	}
	if recs[2][slices.Index(columns, "efficiency")] == "-" {
		t.Errorf("csv row of w002 has no efficiency: %q", recs[2])
	}

	b.Reset()
	if err := Write(&b, runs, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var js []map[string]any
	if err := json.Unmarshal(b.Bytes(), &js); err != nil {
		t.Fatalf("json output does not decode: %v", err)
	}
	if len(js) != len(runs) || js[3]["speedup"] != nil || js[1]["efficiency"] == nil || js[3]["status"] != StatusIncomplete {
		t.Errorf("json: %d runs; w008 speedup %v (want null); w002 efficiency %v", len(js), js[3]["speedup"], js[1]["efficiency"])
	}

	b.Reset()
	if err := Write(&b, runs, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	md := strings.Split(strings.TrimSpace(b.String()), "\n")
	if md[0] != "### earthquake" || !strings.HasPrefix(md[3], "|---|") || len(md) != 4+len(runs) {
		t.Errorf("markdown:\n%s", b.String())
	}

	b.Reset()
	if err := Write(&b, runs, FormatTable); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if lines[0] != "benchmark earthquake" || !strings.HasPrefix(lines[1], "series") || len(lines) != 2+len(runs) || !strings.Contains(b.String(), "incomplete") {
		t.Errorf("table:\n%s", b.String())
	}
	if err := Write(&b, runs, "yaml"); !errors.Is(err, ErrFormat) {
		t.Errorf("format yaml: %v", err)
	}
}

func TestParseSacct(t *testing.T) {
	// captured from `sacct -X -P -j 12,13,14 -o JobID,Submit,Start,End,Elapsed,State` (Slurm 23.02)
	out := `JobID|Submit|Start|End|Elapsed|State
12|2026-11-29T10:00:00|2026-11-29T10:00:07|2026-11-29T10:01:07|00:01:00|COMPLETED
12.batch|2026-11-29T10:00:07|2026-11-29T10:00:07|2026-11-29T10:01:07|00:01:00|COMPLETED
13|2026-11-29T10:00:01|2026-11-29T11:30:01|2026-11-30T13:30:02|1-02:00:01|TIMEOUT
14|2026-11-29T10:00:02|Unknown|Unknown|00:00:00|CANCELLED by 1000
`
	acct, err := ParseSacct([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(acct) != 3 {
		t.Fatalf("%d jobs, want 3 (steps skipped)", len(acct))
	}
	if a := acct["12"]; a.State != "COMPLETED" || a.QueueWait() != 7 || a.Elapsed != time.Minute {
		t.Errorf("job 12: %+v wait %v", a, a.QueueWait())
	}
	if a := acct["13"]; a.State != "TIMEOUT" || a.QueueWait() != 5400 || a.Elapsed != 26*time.Hour+time.Second {
		t.Errorf("job 13: %+v", a)
	}
	if a := acct["14"]; a.State != "CANCELLED" || !math.IsNaN(a.QueueWait()) {
		t.Errorf("job 14: %+v", a)
	}
	// sacct -c (job completion plugin) has no Submit: no queue wait
	comp := "JobID|Start|End|Elapsed|State\n12|2026-11-29T10:00:07|2026-11-29T10:01:07|00:01:00|COMPLETED\n"
	acct, err = ParseSacct([]byte(comp))
	if err != nil || !math.IsNaN(acct["12"].QueueWait()) || acct["12"].Elapsed != time.Minute {
		t.Errorf("sacct -c: %+v, %v", acct, err)
	}
	for _, bad := range []string{"Start|End\nx|y\n", "JobID|Start\n12\n", "JobID|Elapsed\n12|xx\n", "JobID|Start\n12|yesterday\n"} {
		if _, err := ParseSacct([]byte(bad)); !errors.Is(err, ErrSacct) || !strings.Contains(err.Error(), "line") {
			t.Errorf("ParseSacct(%q): %v, want ErrSacct naming the line", bad, err)
		}
	}
	for in, want := range map[string]time.Duration{"00:01": time.Second, "01:02:03": time.Hour + 2*time.Minute + 3*time.Second, "2-00:00:00": 48 * time.Hour, "05:06.500": 5*time.Minute + 6*time.Second} {
		if got, err := ParseElapsed(in); err != nil || got != want {
			t.Errorf("ParseElapsed(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseElapsed("1:2:3:4"); err == nil {
		t.Error("ParseElapsed accepted 1:2:3:4")
	}
}

func TestJoinSacct(t *testing.T) {
	dir, _ := sampleSweep(t)
	runs, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	fake := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("sacct called without a deadline")
		}
		calls = append(calls, append([]string{name}, args...))
		if args[0] == "-X" {
			return nil, errors.New("sacct: error: Slurm accounting storage is disabled")
		}
		return []byte("JobID|Start|End|Elapsed|State\n100|2026-11-29T10:00:07|2026-11-29T10:01:07|00:01:00|COMPLETED\n104|2026-11-29T10:00:07|2026-11-29T10:00:09|00:00:02|FAILED\n"), nil
	}
	if note := JoinSacct(context.Background(), runs, fake, "/opt/slurm/bin/sacct"); note != "" {
		t.Errorf("note %q", note)
	}
	if len(calls) != 2 || calls[0][0] != "/opt/slurm/bin/sacct" || !slices.Contains(calls[1], "-c") || !slices.Contains(calls[0], "100,101,102,103,104") {
		t.Errorf("calls %q", calls)
	}
	for _, r := range runs {
		switch r.JobID {
		case "100":
			if r.ElapsedS != 60 || r.JobState != "COMPLETED" {
				t.Errorf("job 100: %+v", r)
			}
		case "104":
			if r.ElapsedS != 2 || r.JobState != "FAILED" {
				t.Errorf("job 104: %+v", r)
			}
		default:
			if !math.IsNaN(r.ElapsedS) {
				t.Errorf("job %s got elapsed %v", r.JobID, r.ElapsedS)
			}
		}
	}
	// no sacct at all: a note, the report goes on
	missing := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return nil, fmt.Errorf("exec: %q: executable file not found in $PATH", name)
	}
	before := slices.Clone(runs)
	note := JoinSacct(context.Background(), runs, missing, "")
	if !strings.Contains(note, "no Slurm accounting") || !strings.Contains(note, "not found") {
		t.Errorf("note %q", note)
	}
	for i := range runs {
		if runs[i].JobState != before[i].JobState {
			t.Errorf("run %d changed without accounting", i)
		}
	}
}

func TestDeriveAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for trial := range 200 {
		var runs []Run
		for _, series := range []string{"a", "b"} {
			for _, w := range rng.Perm(12)[:1+rng.IntN(5)] {
				r := Run{Series: series, Benchmark: "uno", Workers: w + 1, Status: metrics.StatusSuccess, SamplesPerS: 10 + rng.Float64()*1000}
				if rng.IntN(5) == 0 {
					r.Status, r.SamplesPerS = StatusIncomplete, math.NaN()
				}
				runs = append(runs, r)
			}
		}
		Derive(runs)
		for _, r := range runs {
			// naive: the successful run of the fewest workers in the series
			var base *Run
			for j := range runs {
				c := &runs[j]
				if c.Series == r.Series && c.Status == metrics.StatusSuccess && (base == nil || c.Workers < base.Workers) {
					base = c
				}
			}
			wantS, wantE := math.NaN(), math.NaN()
			if base != nil && r.Status == metrics.StatusSuccess {
				wantS = r.SamplesPerS / base.SamplesPerS
				wantE = wantS / (float64(r.Workers) / float64(base.Workers))
			}
			if !same(r.Speedup, wantS) || !same(r.Efficiency, wantE) {
				t.Fatalf("trial %d: %s w%d: speedup %v eff %v, want %v %v", trial, r.Series, r.Workers, r.Speedup, r.Efficiency, wantS, wantE)
			}
		}
		for i := 1; i < len(runs); i++ {
			if runs[i-1].Series == runs[i].Series && runs[i-1].Workers > runs[i].Workers {
				t.Fatalf("trial %d: runs not sorted by workers", trial)
			}
		}
	}
}
