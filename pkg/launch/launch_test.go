//go:build linux

package launch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the launcher's concurrent writes,
// which also notices lines matching a pattern.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int
	pattern string
	hit     chan struct{} // receives one value per write containing pattern
}

func newSyncBuffer(pattern string) *syncBuffer {
	return &syncBuffer{pattern: pattern, hit: make(chan struct{}, 1024)}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	if b.pattern != "" && bytes.Contains(p, []byte(b.pattern)) {
		b.hit <- struct{}{}
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitHits waits for n writes containing the pattern.
func (b *syncBuffer) waitHits(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-b.hit:
		case <-ctx.Done():
			t.Fatalf("waited for %d lines with %q, got %d: %v\n%s", n, b.pattern, i, ctx.Err(), b.String())
		}
	}
}

// testCtx is the hard timeout of one test: 60 s or the test deadline.
func testCtx(t *testing.T) context.Context {
	d := 60 * time.Second
	if dl, ok := t.Deadline(); ok && time.Until(dl)-5*time.Second < d {
		d = time.Until(dl) - 5*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// pids records every pid a test learned of; Cleanup SIGKILLs them all, so
// even a failing test leaves nothing behind.
type pids struct {
	mu   sync.Mutex
	list []int
}

func newPids(t *testing.T) *pids {
	p := &pids{}
	t.Cleanup(func() {
		for _, pid := range p.all() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return p
}

func (p *pids) add(pid int) { p.mu.Lock(); p.list = append(p.list, pid); p.mu.Unlock() }

func (p *pids) all() []int { p.mu.Lock(); defer p.mu.Unlock(); return append([]int(nil), p.list...) }

// alive reports whether pid is a running process. A zombie (dead, waiting
// for a parent that may be a container's non-reaping init) counts as gone.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// requireGone fails unless every pid is gone; reparented grandchildren may
// need a moment to be reaped.
func requireGone(t *testing.T, ps []int) {
	t.Helper()
	if len(ps) == 0 {
		t.Fatal("no pids recorded")
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, pid := range ps {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d is still running after Run returned", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func baseConfig(t *testing.T, n int, mode string, p *pids, stdout, stderr *syncBuffer) Config {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		NProc:   n,
		Path:    exe,
		Env:     []string{envMode + "=" + mode, envDir + "=" + t.TempDir()},
		Stdout:  stdout,
		Stderr:  stderr,
		Grace:   2 * time.Second,
		Started: func(rank, pid int) { p.add(pid) },
	}
}

func TestRunAllSucceed(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			ctx := testCtx(t)
			p := newPids(t)
			stdout, stderr := newSyncBuffer(""), newSyncBuffer("")
			cfg := baseConfig(t, n, "ok", p, stdout, stderr)
			cfg.JobID = "job-42"
			cfg.DeviceEnv = func(lr int) []string { return []string{"TEST_DEVICE=gpu" + strconv.Itoa(lr)} }
			var order []int
			cfg.Started = func(rank, pid int) { p.add(pid); order = append(order, rank) }
			if err := Run(ctx, cfg); err != nil {
				t.Fatalf("Run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			requireGone(t, p.all())
			if len(order) != n {
				t.Fatalf("Started called for ranks %v", order)
			}
			out, errOut := stdout.String(), stderr.String()
			tokens := map[string]bool{}
			var port string
			for r := 0; r < n; r++ {
				pre := fmt.Sprintf("[rank %d] ", r)
				re := regexp.MustCompile(regexp.QuoteMeta(pre) + fmt.Sprintf(
					`env rank=%d world=%d local=%d/%d master=127\.0\.0\.1:(\d+) job=job-42 toklen=32 source=scibench hosts=127\.0\.0\.1 dev=gpu%d\n`,
					r, n, r, n, r))
				m := re.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("rank %d env line missing from:\n%s", r, out)
				}
				if port == "" {
					port = m[1]
				} else if m[1] != port {
					t.Errorf("ranks disagree on the port: %s vs %s", port, m[1])
				}
				if !strings.Contains(out, pre+"partial tail "+strconv.Itoa(r)+"\n") {
					t.Errorf("rank %d partial last line not flushed:\n%s", r, out)
				}
				if !strings.Contains(errOut, pre+"to stderr "+strconv.Itoa(r)+"\n") {
					t.Errorf("rank %d stderr line missing:\n%s", r, errOut)
				}
				tm := regexp.MustCompile(regexp.QuoteMeta(pre) + `token=([0-9a-f]{32})\n`).FindStringSubmatch(out)
				if tm == nil {
					t.Fatalf("rank %d token line missing", r)
				}
				tokens[tm[1]] = true
			}
			if len(tokens) != 1 {
				t.Errorf("ranks got different tokens: %v", tokens)
			}
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if !regexp.MustCompile(`^\[rank \d+\] `).MatchString(line) {
					t.Errorf("unprefixed line %q", line)
				}
			}
		})
	}
}

func TestRunFreshTokenPerJob(t *testing.T) {
	ctx := testCtx(t)
	var toks []string
	for i := 0; i < 2; i++ {
		p := newPids(t)
		stdout := newSyncBuffer("")
		if err := Run(ctx, baseConfig(t, 1, "ok", p, stdout, newSyncBuffer(""))); err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`token=([0-9a-f]{32})`).FindStringSubmatch(stdout.String())
		if m == nil {
			t.Fatalf("no token in %q", stdout)
		}
		toks = append(toks, m[1])
	}
	if toks[0] == toks[1] {
		t.Errorf("two jobs got the same token %s", toks[0])
	}
}

// TestRunOutputNotInterleaved floods stdout from 4 workers in 7-byte writes,
// with lines longer than the read buffer, and checks each line is whole.
func TestRunOutputNotInterleaved(t *testing.T) {
	ctx := testCtx(t)
	p := newPids(t)
	stdout := newSyncBuffer("")
	const n = 4
	if err := Run(ctx, baseConfig(t, n, "flood", p, stdout, newSyncBuffer(""))); err != nil {
		t.Fatal(err)
	}
	requireGone(t, p.all())
	next := make([]int, n)
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	for _, line := range lines {
		var r, i int
		var rest string
		pre, body, ok := strings.Cut(line, "] ")
		if !ok || !strings.HasPrefix(pre, "[rank ") {
			t.Fatalf("bad line %.80q", line)
		}
		r, _ = strconv.Atoi(strings.TrimPrefix(pre, "[rank "))
		parts := strings.SplitN(body, ":", 3)
		if len(parts) != 3 {
			t.Fatalf("bad body %.80q", body)
		}
		if parts[0] != strconv.Itoa(r) {
			t.Fatalf("rank %d line carries rank %s", r, parts[0])
		}
		i, _ = strconv.Atoi(parts[1])
		rest = parts[2]
		if i != next[r] {
			t.Fatalf("rank %d: line %d after %d", r, i, next[r]-1)
		}
		next[r]++
		want := 10 + (i*7919)%200
		if i%50 == 0 {
			want = 100 << 10
		}
		if len(rest) != want || strings.Trim(rest, strconv.Itoa(r)) != "" {
			t.Fatalf("rank %d line %d: body of %d bytes, want %d bytes of %q", r, i, len(rest), want, strconv.Itoa(r))
		}
	}
	for r, k := range next {
		if k != 200 {
			t.Errorf("rank %d: %d lines, want 200", r, k)
		}
	}
	// Every line, even 100 KiB ones, arrived in one Write.
	if stdout.writes != len(lines) {
		t.Errorf("%d writes for %d lines", stdout.writes, len(lines))
	}
}

func TestRunOneFails(t *testing.T) {
	for _, tc := range []struct{ n, fail int }{{2, 1}, {4, 0}, {4, 3}} {
		t.Run(fmt.Sprintf("np=%d/fail=%d", tc.n, tc.fail), func(t *testing.T) {
			ctx := testCtx(t)
			p := newPids(t)
			stdout := newSyncBuffer("")
			cfg := baseConfig(t, tc.n, "fail", p, stdout, newSyncBuffer(""))
			cfg.Env = append(cfg.Env, envFailRank+"="+strconv.Itoa(tc.fail))
			cfg.Grace = 8 * time.Second // long: the others must die of SIGTERM, not SIGKILL
			start := time.Now()
			err := Run(ctx, cfg)
			elapsed := time.Since(start)
			var we *WorkerError
			if !errors.As(err, &we) {
				t.Fatalf("Run = %v, want *WorkerError", err)
			}
			if !errors.Is(err, ErrWorkerFailed) {
				t.Errorf("errors.Is(err, ErrWorkerFailed) = false")
			}
			if we.Rank != tc.fail || we.ExitCode != 3 || we.Signal != "" {
				t.Errorf("WorkerError = %+v, want rank %d exit 3", we, tc.fail)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprintf("rank %d", tc.fail)) || !strings.Contains(msg, "code 3") {
				t.Errorf("message %q does not name rank and code", msg)
			}
			// The others die of SIGTERM at once, well before Grace.
			if elapsed > cfg.Grace {
				t.Errorf("Run took %v, more than Grace %v", elapsed, cfg.Grace)
			}
			requireGone(t, p.all())
			if !strings.Contains(stdout.String(), fmt.Sprintf("[rank %d] failing now\n", tc.fail)) {
				t.Errorf("output of the failing rank lost:\n%s", stdout)
			}
		})
	}
}

// TestRunLinger checks that after the first failure the other workers get
// Config.Linger to report what they saw before SIGTERM, and that with a
// negative Linger they are stopped at once.
func TestRunLinger(t *testing.T) {
	for _, tc := range []struct {
		linger time.Duration
		report bool
	}{{2 * time.Second, true}, {-1, false}} {
		t.Run(fmt.Sprintf("linger=%v", tc.linger), func(t *testing.T) {
			ctx := testCtx(t)
			p := newPids(t)
			stdout := newSyncBuffer("")
			cfg := baseConfig(t, 3, "report", p, stdout, newSyncBuffer(""))
			cfg.Env = append(cfg.Env, envFailRank+"=1")
			cfg.Linger = tc.linger
			err := Run(ctx, cfg)
			var we *WorkerError
			if !errors.As(err, &we) || we.Rank != 1 || we.ExitCode != 3 {
				t.Fatalf("Run = %v, want rank 1 exit 3 first", err)
			}
			requireGone(t, p.all())
			out := stdout.String()
			for _, r := range []int{0, 2} {
				got := strings.Contains(out, fmt.Sprintf("[rank %d] saw rank 1 go\n", r))
				if got != tc.report {
					t.Errorf("rank %d reported: %v, want %v; output:\n%s", r, got, tc.report, out)
				}
			}
		})
	}
}

func TestRunSignalledWorker(t *testing.T) {
	ctx := testCtx(t)
	p := newPids(t)
	cfg := baseConfig(t, 3, "selfkill", p, newSyncBuffer(""), newSyncBuffer(""))
	cfg.Env = append(cfg.Env, envFailRank+"=2")
	err := Run(ctx, cfg)
	var we *WorkerError
	if !errors.As(err, &we) || we.Rank != 2 || we.Signal != syscall.SIGKILL.String() || we.ExitCode != -1 {
		t.Fatalf("Run = %#v", err)
	}
	if !strings.Contains(err.Error(), "rank 2") || !strings.Contains(err.Error(), "signal") {
		t.Errorf("message %q", err)
	}
	requireGone(t, p.all())
}

func TestRunIgnoresSIGTERMIsKilledAfterGrace(t *testing.T) {
	ctx := testCtx(t)
	p := newPids(t)
	stdout := newSyncBuffer("")
	cfg := baseConfig(t, 3, "ignore-term", p, stdout, newSyncBuffer(""))
	cfg.Grace = 700 * time.Millisecond
	cfg.Env = append(cfg.Env, envFailRank+"=0")
	start := time.Now()
	err := Run(ctx, cfg)
	elapsed := time.Since(start)
	var we *WorkerError
	if !errors.As(err, &we) || we.Rank != 0 || we.ExitCode != 3 {
		t.Fatalf("Run = %v, want rank 0 exit 3", err)
	}
	// 300 ms before rank 0 fails (after all are ready), then the grace
	// period, then SIGKILL.
	if elapsed < cfg.Grace+300*time.Millisecond || elapsed > cfg.Grace+10*time.Second {
		t.Errorf("Run took %v; want about 300ms + Grace (%v)", elapsed, cfg.Grace)
	}
	requireGone(t, p.all())
}

func TestRunContextCancel(t *testing.T) {
	for _, mode := range []string{"sleep", "ignore-term"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			p := newPids(t)
			stdout := newSyncBuffer("ready")
			cfg := baseConfig(t, 3, mode, p, stdout, newSyncBuffer(""))
			cfg.Grace = 500 * time.Millisecond
			if mode == "sleep" {
				cfg.Grace = 5 * time.Second // long: SIGTERM must do it
			}
			cfg.Env = append(cfg.Env, envFailRank+"=-1")
			done := make(chan error, 1)
			go func() { done <- Run(ctx, cfg) }()
			stdout.waitHits(testCtx(t), t, 3)
			start := time.Now()
			cancel()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			elapsed := time.Since(start)
			if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want ErrInterrupted wrapping context.Canceled", err)
			}
			var we *WorkerError
			if errors.As(err, &we) {
				t.Errorf("interruption reported as worker failure: %v", we)
			}
			if mode == "sleep" && elapsed >= cfg.Grace {
				t.Errorf("SIGTERM should stop sleeping workers at once; took %v", elapsed)
			}
			if mode == "ignore-term" && elapsed < cfg.Grace {
				t.Errorf("workers ignoring SIGTERM stopped after %v, before Grace %v", elapsed, cfg.Grace)
			}
			requireGone(t, p.all())
		})
	}
}

var grandchildRE = regexp.MustCompile(`grandchild (\d+)`)

func grandchildren(t *testing.T, out string, p *pids) []int {
	var list []int
	for _, m := range grandchildRE.FindAllStringSubmatch(out, -1) {
		pid, _ := strconv.Atoi(m[1])
		p.add(pid)
		list = append(list, pid)
	}
	return list
}

// TestRunKillsGrandchildren: workers start children (which ignore SIGTERM)
// in their process group; none may survive the job, whether it fails or
// succeeds.
func TestRunKillsGrandchildren(t *testing.T) {
	for _, mode := range []string{"grandchild", "grandchild-exit0"} {
		t.Run(mode, func(t *testing.T) {
			ctx := testCtx(t)
			p := newPids(t)
			stdout := newSyncBuffer("")
			cfg := baseConfig(t, 2, mode, p, stdout, newSyncBuffer(""))
			cfg.Grace = 500 * time.Millisecond
			cfg.Env = append(cfg.Env, envFailRank+"=1")
			err := Run(ctx, cfg)
			gc := grandchildren(t, stdout.String(), p)
			if len(gc) != 2 {
				t.Fatalf("want 2 grandchildren, output:\n%s", stdout)
			}
			if mode == "grandchild" {
				var we *WorkerError
				if !errors.As(err, &we) || we.Rank != 1 || we.ExitCode != 3 {
					t.Fatalf("Run = %v, want rank 1 exit 3", err)
				}
			} else if err != nil {
				t.Fatalf("Run = %v", err)
			}
			requireGone(t, p.all())
		})
	}
}

func TestRunStartFailure(t *testing.T) {
	ctx := testCtx(t)
	err := Run(ctx, Config{NProc: 2, Path: "/nonexistent/scibench-worker", Stdout: newSyncBuffer(""), Stderr: newSyncBuffer("")})
	if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "rank 0") || !strings.Contains(err.Error(), "/nonexistent/scibench-worker") {
		t.Fatalf("Run = %v", err)
	}
}

func TestRunBadConfig(t *testing.T) {
	ctx := testCtx(t)
	for _, cfg := range []Config{
		{NProc: 0},
		{NProc: -1},
		{NProc: MaxProc + 1},
		{NProc: 1, Grace: 10 * time.Second},
		{NProc: 1, Grace: -time.Second},
		{NProc: 1, MasterPort: 70000},
	} {
		if err := Run(ctx, cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Run(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestRunAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	p := newPids(t)
	err := Run(ctx, baseConfig(t, 2, "sleep", p, newSyncBuffer(""), newSyncBuffer("")))
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context = %v", err)
	}
	for _, pid := range p.all() {
		if alive(pid) {
			t.Errorf("pid %d alive", pid)
		}
	}
}

func TestWorkerErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		e    WorkerError
		want string
	}{
		{WorkerError{Rank: 2, PID: 10, ExitCode: 3}, "launch: rank 2 (pid 10) exited with code 3"},
		{WorkerError{Rank: 0, PID: 11, ExitCode: -1, Signal: "killed"}, "launch: rank 0 (pid 11) killed by signal killed"},
		{WorkerError{Rank: 1, PID: 12, ExitCode: -1, Err: errors.New("boom")}, "launch: rank 1 (pid 12): boom"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// BenchmarkRunTrue measures launch-to-reaped latency of a job of /bin/true
// workers: process start, pipes, wait, group clean-up.
func BenchmarkRunTrue(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("np=%d", n), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if err := Run(ctx, Config{NProc: n, Path: "/bin/true", Stdout: io.Discard, Stderr: io.Discard}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
