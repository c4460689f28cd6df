package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/metrics"
)

// writeReportSweep writes a sweep directory with runs of 1, 2 and 4
// workers; the 4-worker result.json is truncated.
func writeReportSweep(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sweep")
	type point struct {
		Workers int    `json:"workers"`
		Nodes   int    `json:"nodes"`
		RunDir  string `json:"run_dir"`
	}
	type job struct {
		JobID  string  `json:"job_id"`
		State  string  `json:"state"`
		Points []point `json:"points"`
	}
	var jobs []job
	for i, w := range []int{1, 2, 4} {
		rd := filepath.Join(dir, fmt.Sprintf("w%03d", w))
		if err := os.MkdirAll(rd, 0o755); err != nil {
			t.Fatal(err)
		}
		r := &metrics.Result{Benchmark: "earthquake", Status: metrics.StatusSuccess, WorldSize: w, Nodes: 1,
			Config: map[string]any{"batch_size": 256, "batch_scope": "global"}, StartTime: time.Now(), EndTime: time.Now().Add(time.Second),
			Metrics: map[string]metrics.Num{"val_mse": 0.1}}
		for e := 1; e <= 3; e++ {
			tt := 4.0 / float64(w)
			r.Epochs = append(r.Epochs, metrics.EpochResult{Epoch: e, TrainTimeS: metrics.Num(tt), SamplesPerS: metrics.Num(1000 / tt)})
		}
		for rank := range w {
			r.Comm = append(r.Comm, metrics.CommStats{Rank: rank, AllReduceS: 0.1, WaitS: 0.01})
		}
		r.Finalize()
		p := filepath.Join(rd, "result.json")
		if err := r.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		if w == 4 {
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, b[:100], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		jobs = append(jobs, job{JobID: fmt.Sprint(7 + i), State: "COMPLETED", Points: []point{{Workers: w, Nodes: 1, RunDir: rd}}})
	}
	b, _ := json.Marshal(map[string]any{"benchmark": "earthquake", "cluster": "generic-slurm-ci", "scheduler": "slurm", "scaling": "strong", "jobs": jobs})
	if err := os.WriteFile(filepath.Join(dir, "sweep.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReportCommand(t *testing.T) {
	dir := writeReportSweep(t)
	// a fake sacct on PATH-free absolute path: prints captured accounting
	sacct := filepath.Join(t.TempDir(), "sacct")
	script := "#!/bin/sh\nprintf 'JobID|Submit|Start|End|Elapsed|State\\n7|2026-11-29T10:00:00|2026-11-29T10:00:30|2026-11-29T10:01:00|00:00:30|COMPLETED\\n'\n"
	if err := os.WriteFile(sacct, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	plot := filepath.Join(t.TempDir(), "scaling.svg")
	var so, se bytes.Buffer
	code := run(context.Background(), []string{"report", dir, "--format", "csv", "--plot", plot, "--sacct", sacct}, &so, &se)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, se.String())
	}
	recs, err := csv.NewReader(&so).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("csv: %d records, %v\n%s", len(recs), err, so.String())
	}
	idx := map[string]int{}
	for i, h := range recs[0] {
		idx[h] = i
	}
	if r := recs[1]; r[idx["workers"]] != "1" || r[idx["job_state"]] != "COMPLETED" || r[idx["queue_wait_s"]] != "30" || r[idx["elapsed_s"]] != "30" {
		t.Errorf("row w1 %q: want the sacct join (wait 30 s, elapsed 30 s)", r)
	}
	if r := recs[2]; r[idx["speedup"]] != "2.00" || r[idx["efficiency"]] != "1.00" {
		t.Errorf("row w2 %q: want speedup 2, efficiency 1", r)
	}
	if r := recs[3]; r[idx["status"]] != "incomplete" || !strings.Contains(r[idx["cause"]], "truncated") {
		t.Errorf("row w4 %q: want incomplete, truncated", r)
	}
	if !strings.Contains(se.String(), "w004: incomplete: truncated or corrupt result.json") {
		t.Errorf("stderr lacks the incomplete run:\n%s", se.String())
	}
	b, err := os.ReadFile(plot)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Polylines []struct {
				Points string `xml:"points,attr"`
			} `xml:"polyline"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Groups) < 3 || len(doc.Groups[0].Polylines) != 1 ||
		len(strings.Fields(doc.Groups[0].Polylines[0].Points)) != 2 {
		t.Errorf("plot: %v, %+v: want one line of the 2 complete runs", err, doc)
	}
}

func TestReportCommandErrors(t *testing.T) {
	dir := writeReportSweep(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"report"}, exitUsage, "usage: scibench report"},
		{[]string{"report", filepath.Join(dir, "nope")}, exitUsage, "nope"},
		{[]string{"report", dir, "--format", "xml"}, exitUsage, `--format "xml"`},
		{[]string{"report", dir, "--plot", filepath.Join(t.TempDir(), "x.gif"), "--sacct", "none"}, exitUsage, ".svg or .png"},
		// sacct missing: the report still succeeds, with a note
		{[]string{"report", "--sacct", filepath.Join(t.TempDir(), "no-sacct"), dir}, exitOK, "no Slurm accounting"},
	} {
		var so, se bytes.Buffer
		code := run(context.Background(), tc.args, &so, &se)
		if code != tc.code || !strings.Contains(se.String(), tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, se.String(), tc.code, tc.msg)
		}
	}
}
