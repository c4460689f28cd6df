//go:build slurmci

// LSF EMULATION test: LSF cannot be installed here, so `make test-slurm`
// puts the bsub/jsrun/bjobs shims of slurm/ci/lsf-emulation (which run LSF
// scripts on the one-host CI Slurm and export LSB_*/JSM_* variables) first
// on PATH. It proves our bsub scripts and the LSF environment parsing work
// end to end, not that a real LSF accepts them.

package lsf_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/sched/schedtest"
)

func TestLSFEmulationSweep(t *testing.T) {
	if os.Getenv("SLURM_CONF") == "" {
		t.Fatal("SLURM_CONF is not set: run this through `make test-slurm` (slurm/ci/run-tests.sh)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	emu := filepath.Join(root, "slurm", "ci", "lsf-emulation")
	bin := filepath.Join(t.TempDir(), "scibench")
	bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer bcancel()
	build := exec.CommandContext(bctx, "go", "build", "-o", bin, "./cmd/scibench")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := t.TempDir()
	sweep := filepath.Join(work, "sweep")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "submit", "earthquake", "--cluster", "generic-lsf-ci",
		"--profiles", filepath.Join(root, "configs", "clusters"),
		"--config", filepath.Join(root, "configs", "earthquake-smoke.yaml"),
		"--scale", "1,2,4", "--wait", "--timeout", "6m", "--poll", "1s", "--out", sweep)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PATH="+emu+string(os.PathListSeparator)+os.Getenv("PATH"), "FAKE_LSF_SPOOL="+filepath.Join(work, "spool"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Cleanup(func() {
		// whatever is left of this test's jobs (bkill of the emulation = scancel)
		c, cc := context.WithTimeout(context.Background(), 10*time.Second)
		defer cc()
		_ = exec.CommandContext(c, "scancel", "--name=scibench-earthquake-w1,scibench-earthquake-w2,scibench-earthquake-w4").Run()
	})
	t.Logf("scibench submit (LSF emulation):\n%s", out.String())
	if err != nil {
		t.Fatalf("scibench submit: %v", err)
	}
	hosts := []string{"n1", "n2"}
	err = schedtest.CheckSweep(sweep, []schedtest.Point{
		{Workers: 1, Nodes: 1, GPUsPerTask: 1, Hosts: hosts},
		{Workers: 2, Nodes: 1, GPUsPerTask: 1, Hosts: hosts},
		{Workers: 4, Nodes: 2, GPUsPerTask: 1, Hosts: hosts},
	})
	if err != nil {
		t.Fatal(err)
	}
}
