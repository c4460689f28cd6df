package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/blas"
	"github.com/scibench/scibench/pkg/hdf5"
	"github.com/scibench/scibench/pkg/metrics"
)

// runBinary runs the scibench binary with a hard timeout; the whole process
// group (launcher and workers) is killed when it expires.
func runBinary(t *testing.T, bin string, timeout time.Duration, args ...string) (code int, out string) {
	t.Helper()
	return runBinaryEnv(t, bin, timeout, nil, args...)
}

// runBinaryEnv is runBinary with extra environment variables (KEY=value)
// after the scrubbed environment.
func runBinaryEnv(t *testing.T, bin string, timeout time.Duration, env []string, args ...string) (code int, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(scrubbedEnv(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("scibench %v: timed out after %v\n%s", args, timeout, buf.String())
	}
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // leave nothing behind
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), buf.String()
	} else if err != nil {
		t.Fatalf("scibench %v: %v", args, err)
	}
	return 0, buf.String()
}

// scrubbedEnv drops worker and scheduler variables so the binary acts as
// a local launcher.
func scrubbedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SCIBENCH_") || strings.HasPrefix(k, "SLURM_") || strings.HasPrefix(k, "OMPI_") ||
			strings.HasPrefix(k, "PMIX_") || strings.HasPrefix(k, "JSM_") || strings.HasPrefix(k, "LSB_") ||
			k == "RANK" || k == "WORLD_SIZE" || k == "LOCAL_RANK" || k == "PBS_NODEFILE" || k == "COBALT_NODEFILE" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildBinary builds scibench (with the given build tags) into a temporary
// directory.
func buildBinary(t *testing.T, tags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scibench")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", strings.Join(tags, " "), "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// hdf5Binary builds scibench with the hdf5 tag (and openblas when this test
// binary has it) for a benchmark whose data is HDF5; it skips only in the
// build without the tag (why says what needs HDF5).
func hdf5Binary(t *testing.T, why string) string {
	t.Helper()
	if !hdf5.Available() {
		t.Skip("built without the hdf5 tag: " + why)
	}
	tags := []string{"hdf5"}
	if strings.HasPrefix(blas.Backend(), "openblas") {
		tags = append(tags, "openblas")
	}
	return buildBinary(t, tags...)
}

func readResult(t *testing.T, dir string) *metrics.Result {
	t.Helper()
	r, err := metrics.ReadResult(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunEarthquakeEndToEnd runs `scibench run earthquake --nproc 2` on the
// smoke config and checks the run directory, then bad input (exit 2,
// nothing overwritten) and resume equivalence.
func TestRunEarthquakeEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	tmp := t.TempDir()
	data := filepath.Join(tmp, "cache")
	smoke := filepath.Join("configs", "earthquake-smoke.yaml")
	full := filepath.Join(tmp, "full")
	code, out := runBinary(t, bin, 4*time.Minute, "run", "earthquake", "--nproc", "2", "--config", smoke, "--out", full, "--data", data)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{"NNSE", "2w", "epoch times", "run directory: " + full, "# csv,"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}

	t.Run("run directory", func(t *testing.T) {
		f, err := os.Open(filepath.Join(full, "mllog.log"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := metrics.CheckMLLogSequence(f); err != nil {
			t.Fatalf("mllog sequence: %v", err)
		}
		r := readResult(t, full)
		if r.Benchmark != "earthquake" || r.Status != "success" || r.WorldSize != 2 || r.SubmissionDivision != "open" ||
			len(r.Epochs) != 2 || len(r.Comm) != 2 || r.Config == nil || len(r.Timers) == 0 {
			t.Fatalf("result.json: %+v", r)
		}
		for _, k := range []string{"nnse_ST_2w", "nnse_SV_4y", "nnse_A_1y", "val_mse"} {
			if _, ok := r.Metrics[k]; !ok {
				t.Fatalf("result.json metrics lack %s: %v", k, r.Metrics)
			}
		}
		var tr struct {
			TraceEvents []struct {
				Name string `json:"name"`
				Ph   string `json:"ph"`
				PID  int    `json:"pid"`
			} `json:"traceEvents"`
		}
		b, err := os.ReadFile(filepath.Join(full, "trace.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &tr); err != nil {
			t.Fatalf("trace.json: %v", err)
		}
		seen := map[string]bool{}
		for _, e := range tr.TraceEvents {
			if e.Ph == "X" {
				seen[e.Name+"@"+string(rune('0'+e.PID))] = true
			}
		}
		for _, k := range []string{"forward@0", "backward@1", "allreduce@0", "wait@1", "data@0"} {
			if !seen[k] {
				t.Fatalf("trace.json lacks %s (have %v)", k, seen)
			}
		}
		for _, name := range []string{"stopwatch.csv", "metrics.prom", "metrics-rank1.prom", "checkpoint/epoch-0002.ckpt"} {
			if st, err := os.Stat(filepath.Join(full, name)); err != nil || st.Size() == 0 {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})

	t.Run("bad config exits 2 and keeps the run directory", func(t *testing.T) {
		bad := filepath.Join(tmp, "bad.yaml")
		if err := os.WriteFile(bad, []byte("seed: 1\nepochz: 3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(filepath.Join(full, "result.json"))
		code, out := runBinary(t, bin, time.Minute, "run", "earthquake", "--nproc", "2", "--config", bad, "--out", full, "--data", data)
		if code != 2 || !strings.Contains(out, bad+":2") || !strings.Contains(out, "epochz") {
			t.Fatalf("exit %d, want 2 naming %s:2 and epochz:\n%s", code, bad, out)
		}
		after, _ := os.ReadFile(filepath.Join(full, "result.json"))
		if !bytes.Equal(before, after) {
			t.Fatal("result.json changed after a bad config")
		}
	})

	t.Run("resume equals uninterrupted", func(t *testing.T) {
		part := filepath.Join(tmp, "part")
		code, out := runBinary(t, bin, 4*time.Minute, "run", "earthquake", "--nproc", "2", "--config", smoke, "--set", "epochs=1", "--out", part, "--data", data)
		if code != 0 {
			t.Fatalf("first part: exit %d\n%s", code, out)
		}
		code, out = runBinary(t, bin, 4*time.Minute, "run", "earthquake", "--nproc", "2", "--config", smoke, "--resume", "--out", part, "--data", data)
		if code != 0 {
			t.Fatalf("resume: exit %d\n%s", code, out)
		}
		a, b := readResult(t, full), readResult(t, part)
		if len(b.Epochs) != 2 {
			t.Fatalf("resumed run has %d epochs", len(b.Epochs))
		}
		for k, v := range a.Metrics {
			if w := b.Metrics[k]; w != v && !(v != v && w != w) {
				t.Fatalf("metric %s: resumed %v, uninterrupted %v", k, w, v)
			}
		}
		f, err := os.Open(filepath.Join(part, "mllog.log"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := metrics.CheckMLLogSequence(f); err != nil {
			t.Fatalf("resumed mllog: %v", err)
		}
	})

	t.Run("1 and 2 workers agree", func(t *testing.T) {
		one := filepath.Join(tmp, "one")
		code, out := runBinary(t, bin, 4*time.Minute, "run", "earthquake", "--nproc", "1", "--config", smoke, "--out", one, "--data", data)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		a, b := readResult(t, full), readResult(t, one)
		if b.WorldSize != 1 {
			t.Fatalf("world size %d", b.WorldSize)
		}
		n := 0
		for k, v := range a.Metrics {
			if !strings.HasPrefix(k, "nnse_") || v != v {
				continue
			}
			n++
			// same global batches; only the float summation order differs
			if d := float64(v - b.Metrics[k]); d > 1e-4 || d < -1e-4 {
				t.Fatalf("%s: 2 workers %v, 1 worker %v", k, v, b.Metrics[k])
			}
		}
		if n < 60 {
			t.Fatalf("compared %d NNSE values", n)
		}
	})

	t.Run("truncated checkpoint exits 2 and is kept", func(t *testing.T) {
		dir := filepath.Join(tmp, "trunc")
		ck := filepath.Join(dir, "checkpoint", "epoch-0001.ckpt")
		src, err := os.ReadFile(filepath.Join(full, "checkpoint", "epoch-0001.ckpt"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(ck), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ck, src[:len(src)/3], 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := runBinary(t, bin, time.Minute, "run", "earthquake", "--nproc", "2", "--config", smoke, "--resume", "--out", dir, "--data", data)
		if code != 2 || !strings.Contains(out, ck) {
			t.Fatalf("exit %d, want 2 naming %s:\n%s", code, ck, out)
		}
		if got, _ := os.ReadFile(ck); len(got) != len(src)/3 {
			t.Fatal("the truncated checkpoint was modified")
		}
	})
}
