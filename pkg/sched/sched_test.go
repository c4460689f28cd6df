package sched

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// flaky reports states from a script per job: one state per call, the last
// one repeated; err is returned for calls listed in errAt.
type flaky struct {
	Fake
	script map[string][]State
	calls  map[string]int
	err    error
}

func (f *flaky) Status(_ context.Context, id string) (State, error) {
	n := f.calls[id]
	f.calls[id]++
	if f.err != nil && n == 0 {
		return StateUnknown, f.err
	}
	s := f.script[id]
	return s[min(n, len(s)-1)], nil
}

func TestWait(t *testing.T) {
	f := &flaky{script: map[string][]State{
		"1": {StatePending, StateRunning, StateCompleted},
		"2": {StateRunning, StateFailed},
		"3": {StateEnded},
	}, calls: map[string]int{}, err: fmt.Errorf("%w: squeue hiccup", ErrScheduler)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := Wait(ctx, f, []string{"1", "2", "3"}, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if got["1"] != StateCompleted || got["2"] != StateFailed || got["3"] != StateEnded {
		t.Fatalf("%v", got)
	}
}

func TestWaitTimeout(t *testing.T) {
	f := &flaky{script: map[string][]State{"1": {StateRunning}, "2": {StateCompleted}}, calls: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	got, err := Wait(ctx, f, []string{"1", "2"}, 5*time.Millisecond)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 of 2") {
		t.Fatalf("err = %v", err)
	}
	if got["1"] != StateRunning || got["2"] != StateCompleted {
		t.Fatalf("%v", got)
	}
}

func TestWaitUnreachable(t *testing.T) {
	f := &flaky{script: map[string][]State{"1": {StateRunning}}, calls: map[string]int{}, err: fmt.Errorf("%w: squeue: not found", ErrUnreachable)}
	_, err := Wait(context.Background(), f, []string{"1"}, time.Millisecond)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
}

func TestJobs(t *testing.T) {
	p, err := LoadProfile(clustersDir, "generic-slurm-ci")
	if err != nil {
		t.Fatal(err)
	}
	pts, err := p.Plan(Request{Scale: []int{1, 2, 4}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := func(pt Point, dir string) []string { return []string{"/bin/scibench", "run", "x", "--out", dir} }
	o := JobOptions{Bench: "earthquake", SweepDir: "/s", WorkDir: "/w", Command: cmd}
	jobs, err := p.Jobs(pts, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 || jobs[2].Nodes != 2 || jobs[2].TasksPerNode != 2 || jobs[0].GPUsPerNode != 1 || jobs[2].Walltime != 10*time.Minute {
		t.Fatalf("%+v", jobs)
	}
	if jobs[1].Steps[0].RunDir != "/s/w002" || jobs[1].Name != "scibench-earthquake-w2" || jobs[1].Queue != "debug" {
		t.Fatalf("%+v", jobs[1])
	}
	o.OneAllocation, o.Queue, o.Walltime = true, "other", time.Hour
	one, err := p.Jobs(pts, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || len(one[0].Steps) != 3 || one[0].Nodes != 2 || one[0].GPUsPerNode != 2 || one[0].Queue != "other" || one[0].Walltime != time.Hour {
		t.Fatalf("%+v", one)
	}
	for _, bad := range []JobOptions{
		{Bench: "earthquake", SweepDir: "/s p", WorkDir: "/w", Command: cmd},
		{Bench: "earthquake", SweepDir: "rel", WorkDir: "/w", Command: cmd},
		{Bench: "a;b", SweepDir: "/s", WorkDir: "/w", Command: cmd},
		{Bench: "earthquake", SweepDir: "/s", WorkDir: "/w", Command: cmd, Account: "x y"},
	} {
		if _, err := p.Jobs(pts, bad); !errors.Is(err, ErrUnsafe) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestFakeBackend(t *testing.T) {
	f := &Fake{States: map[string]State{"2": StateFailed}}
	path := filepath.Join(t.TempDir(), "job")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id1, _ := f.Submit(ctx, path)
	id2, _ := f.Submit(ctx, path)
	if _, err := f.Submit(ctx, path+"-missing"); !errors.Is(err, ErrRejected) {
		t.Fatal(err)
	}
	s1, _ := f.Status(ctx, id1)
	s2, _ := f.Status(ctx, id2)
	if s1 != StateCompleted || s2 != StateFailed || IsRenderOnly(f) {
		t.Fatal(s1, s2)
	}
}
