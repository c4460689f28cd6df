//go:build slurmci

// Integration test against a real Slurm: run `make test-slurm`, which starts
// the one-host CI cluster of slurm/ci/start-slurm.sh (2 simulated nodes, 2
// fake GPUs each), runs this with -tags slurmci and stops the cluster.

package slurm_test

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

	"github.com/scibench/scibench/pkg/sched/schedtest"
)

// buildScibench builds cmd/scibench into a temporary directory.
func buildScibench(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scibench")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/scibench")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runScibench runs the binary with a hard timeout, killing its process
// group at the end, and returns exit code and combined output.
func runScibench(t *testing.T, dir string, env []string, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: killed after %v\n%s", args, timeout, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return code, out.String()
}

// cancelSweepJobs scancels every job a sweep recorded (cleanup).
func cancelSweepJobs(t *testing.T, sweep string) {
	data, err := os.ReadFile(filepath.Join(sweep, "sweep.json"))
	if err != nil {
		return
	}
	var m struct {
		Jobs []struct {
			JobID string `json:"job_id"`
		} `json:"jobs"`
	}
	if json.Unmarshal(data, &m) != nil {
		return
	}
	for _, j := range m.Jobs {
		if j.JobID != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = exec.CommandContext(ctx, "scancel", j.JobID).Run()
			cancel()
		}
	}
}

func needSlurm(t *testing.T) string {
	t.Helper()
	if os.Getenv("SLURM_CONF") == "" {
		t.Fatal("SLURM_CONF is not set: run this through `make test-slurm` (slurm/ci/run-tests.sh)")
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Fatalf("sbatch: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestSlurmSweep submits a real strong-scaling sweep of the earthquake smoke
// benchmark (1, 2 and 4 workers: one node, one node, both nodes) and checks
// world size, node list and per-rank CUDA_VISIBLE_DEVICES of every job.
func TestSlurmSweep(t *testing.T) {
	root := needSlurm(t)
	bin := buildScibench(t, root)
	work := t.TempDir()
	sweep := filepath.Join(work, "sweep")
	t.Cleanup(func() { cancelSweepJobs(t, sweep) })
	code, out := runScibench(t, work, nil, 8*time.Minute, bin, "submit", "earthquake",
		"--cluster", "generic-slurm-ci", "--profiles", filepath.Join(root, "configs", "clusters"),
		"--config", filepath.Join(root, "configs", "earthquake-smoke.yaml"),
		"--scale", "1,2,4", "--wait", "--timeout", "6m", "--poll", "1s", "--out", sweep)
	t.Logf("scibench submit:\n%s", out)
	if code != 0 {
		logs, _ := filepath.Glob(filepath.Join(sweep, "*", "output.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", l, b)
		}
		t.Fatalf("exit code %d", code)
	}
	hosts := []string{"n1", "n2"}
	err := schedtest.CheckSweep(sweep, []schedtest.Point{
		{Workers: 1, Nodes: 1, GPUsPerTask: 1, Hosts: hosts},
		{Workers: 2, Nodes: 1, GPUsPerTask: 1, Hosts: hosts},
		{Workers: 4, Nodes: 2, GPUsPerTask: 1, Hosts: hosts},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"w1", "w2", "w4"} {
		m, _ := filepath.Glob(filepath.Join(sweep, "scibench-earthquake-"+w+"-*.out"))
		if len(m) != 1 {
			t.Fatalf("job output of %s: %v", w, m)
		}
		b, _ := os.ReadFile(m[0])
		if !strings.Contains(string(b), "exit status 0") {
			t.Errorf("%s:\n%s", m[0], b)
		}
	}
}

// TestSlurmOneAllocation runs a 1,2-worker sweep as two steps of one job.
func TestSlurmOneAllocation(t *testing.T) {
	root := needSlurm(t)
	bin := buildScibench(t, root)
	work := t.TempDir()
	sweep := filepath.Join(work, "sweep")
	t.Cleanup(func() { cancelSweepJobs(t, sweep) })
	code, out := runScibench(t, work, nil, 6*time.Minute, bin, "submit", "earthquake",
		"--cluster", "generic-slurm-ci", "--profiles", filepath.Join(root, "configs", "clusters"),
		"--config", filepath.Join(root, "configs", "earthquake-smoke.yaml"), "--scaling", "weak", "--set", "batch_size=64",
		"--scale", "1,2", "--one-allocation", "--wait", "--timeout", "4m", "--poll", "1s", "--out", sweep)
	t.Logf("scibench submit:\n%s", out)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if n := strings.Count(out, "submitted "); n != 1 {
		t.Fatalf("%d jobs submitted, want 1", n)
	}
	if err := schedtest.CheckSweep(sweep, []schedtest.Point{{Workers: 1, Nodes: 1, GPUsPerTask: 1}, {Workers: 2, Nodes: 1, GPUsPerTask: 1}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(sweep, "config.yaml"))
	if err != nil || !strings.Contains(string(b), "batch_scope: per_rank") {
		t.Fatalf("weak scaling not recorded in config.yaml (%v):\n%s", err, b)
	}
}

// TestSlurmRejects: a profile that claims more GPUs than the CI nodes have
// is refused by sbatch (EnforcePartLimits=ALL): exit 2, message from sbatch.
func TestSlurmRejects(t *testing.T) {
	root := needSlurm(t)
	bin := buildScibench(t, root)
	work := t.TempDir()
	prof, err := os.ReadFile(filepath.Join(root, "configs", "clusters", "generic-slurm-ci.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(prof), "gpus_per_node: 2", "gpus_per_node: 8", 1)
	path := filepath.Join(work, "too-many-gpus.yaml")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	sweep := filepath.Join(work, "sweep")
	t.Cleanup(func() { cancelSweepJobs(t, sweep) })
	code, out := runScibench(t, work, nil, 2*time.Minute, bin, "submit", "earthquake", "--cluster", path,
		"--config", filepath.Join(root, "configs", "earthquake-smoke.yaml"), "--gpus-per-node", "8", "--out", sweep)
	if code != 2 || !strings.Contains(out, "rejected") || !strings.Contains(out, "sbatch") {
		t.Fatalf("exit code %d, want 2 with sbatch's refusal:\n%s", code, out)
	}
}
