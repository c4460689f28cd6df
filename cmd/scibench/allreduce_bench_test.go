package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/collective"
	"github.com/scibench/scibench/pkg/launch"
)

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("4K,64K,1M, 16M,256M,1G,1000")
	want := []int{4 << 10, 64 << 10, 1 << 20, 16 << 20, 256 << 20, 1 << 30, 1000}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %v %v", got, err)
	}
	for _, bad := range []string{"", "x", "3", "-4K", "4T", "1K,,5"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// parseJSONLines decodes allreduce-bench --json output.
func parseJSONLines(t *testing.T, out string) []benchResult {
	t.Helper()
	var res []benchResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r benchResult
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		res = append(res, r)
	}
	return res
}

func checkResults(t *testing.T, res []benchResult, n int, sizes []int) {
	t.Helper()
	if len(res) != len(sizes) {
		t.Fatalf("%d results for %d sizes", len(res), len(sizes))
	}
	for i, r := range res {
		if r.WorldSize != n || r.Bytes != sizes[i] || r.Count != sizes[i]/4 || r.Wrong != 0 || r.TimeUS <= 0 {
			t.Fatalf("result %d: %+v", i, r)
		}
		wantBus := r.AlgBW * 2 * float64(n-1) / float64(n)
		if d := r.BusBW - wantBus; d > 1e-9 || d < -1e-9 {
			t.Fatalf("busbw %v, want %v", r.BusBW, wantBus)
		}
	}
}

// TestBenchWorkerInProcess runs the worker logic on 3 in-process ranks over
// loopback TCP, with --check, --json and --ceiling.
func TestBenchWorkerInProcess(t *testing.T) {
	const n = 3
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sizes := []int{4, 1000, 4 << 10, 300 << 10}
	o := benchOpts{sizes: sizes, iters: 3, warmup: 1, check: true, json: true, ceiling: true}
	outs := make([]bytes.Buffer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r := 0; r < n; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := collective.Config{Rank: r, WorldSize: n, MasterAddr: "127.0.0.1",
				MasterPort: ln.Addr().(*net.TCPAddr).Port, Token: "tok", Timeout: 20 * time.Second}
			if r == 0 {
				cfg.Listener = ln
			}
			c, err := collective.New(ctx, cfg)
			if err != nil {
				errs[r] = err
				return
			}
			defer c.Close()
			errs[r] = benchWorker(ctx, c, o, &outs[r])
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	if outs[1].Len() != 0 || outs[2].Len() != 0 {
		t.Fatalf("non-zero ranks printed: %q %q", outs[1].String(), outs[2].String())
	}
	res := parseJSONLines(t, outs[0].String())
	checkResults(t, res, n, sizes)
	for _, r := range res {
		if r.Ceiling <= 0 || r.Fraction <= 0 {
			t.Fatalf("no ceiling in %+v", r)
		}
	}
}

// TestAllreduceBenchHelper is not a test: it is the worker process body
// when the launcher re-executes this test binary (SCIBENCH_ARB_HELPER=1);
// otherwise it returns at once.
func TestAllreduceBenchHelper(t *testing.T) {
	if os.Getenv("SCIBENCH_ARB_HELPER") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// launchBench runs allreduce-bench as nproc real worker processes (this
// test binary re-executed) through pkg/launch, with a hard timeout.
func launchBench(t *testing.T, nproc int, started func(rank, pid int), args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errb syncBuffer
	err = launch.Run(ctx, launch.Config{
		NProc: nproc, Path: os.Args[0],
		Args:   append([]string{"-test.run=^TestAllreduceBenchHelper$", "--", "allreduce-bench"}, args...),
		Env:    []string{"SCIBENCH_ARB_HELPER=1"},
		Stdout: &stripRank0{w: &out}, Stderr: &errb, Grace: 2 * time.Second, Started: started,
	})
	if ctx.Err() != nil {
		t.Fatalf("hard timeout: job still running after 90s; stderr:\n%s", errb.String())
	}
	return out.String(), errb.String(), err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAllreduceBenchProcesses(t *testing.T) {
	sizes := []int{4 << 10, 1000, 64 << 10}
	for _, n := range []int{1, 2, 4} {
		out, errOut, err := launchBench(t, n, nil, "--sizes", "4K,1000,64K", "--iters", "3", "--warmup", "1", "--check", "--json", "--timeout", "20s")
		if err != nil {
			t.Fatalf("nproc %d: %v\nstderr:\n%s", n, err, errOut)
		}
		checkResults(t, parseJSONLines(t, out), n, sizes)
	}
	// The table form prints a header and one row per size.
	out, errOut, err := launchBench(t, 2, nil, "--sizes", "4K,8K", "--iters", "2", "--warmup", "0", "--ceiling")
	if err != nil {
		t.Fatalf("table: %v\n%s", err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "busbw_GB/s") || !strings.Contains(lines[1], "frac") {
		t.Fatalf("table:\n%s", out)
	}
}

// TestAllreduceBenchKilledWorker kills one worker with SIGKILL in the middle
// of a long run: the job must end quickly, and the surviving ranks' errors
// name the dead rank.
func TestAllreduceBenchKilledWorker(t *testing.T) {
	var once sync.Once
	start := time.Now()
	started := func(rank, pid int) {
		if rank == 1 {
			once.Do(func() {
				time.AfterFunc(2*time.Second, func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			})
		}
	}
	_, errOut, err := launchBench(t, 3, started, "--sizes", "1M", "--iters", "1000000", "--warmup", "0", "--timeout", "30s")
	var we *launch.WorkerError
	if !errors.As(err, &we) {
		t.Fatalf("want *launch.WorkerError, got %v\nstderr:\n%s", err, errOut)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("job ended %v after start (deadline 30s, death should be detected at once)", took)
	}
	// The launcher may see a survivor exit (having detected the loss)
	// before it reaps the killed rank, so any rank may be reported first.
	named := false
	for _, l := range strings.Split(errOut, "\n") {
		if (strings.HasPrefix(l, "[rank 0]") || strings.HasPrefix(l, "[rank 2]")) && strings.Contains(l, "rank 1 (host 127.0.0.1)") {
			named = true
		}
	}
	if !named {
		t.Fatalf("no surviving rank named the dead rank; stderr:\n%s", errOut)
	}
}
