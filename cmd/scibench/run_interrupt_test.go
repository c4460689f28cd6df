package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/metrics"
)

// TestRunInterruptWritesAbortedResult interrupts a 2-worker run after its
// first epoch: the launcher exits 130 within seconds and rank 0 leaves a
// result.json with status "aborted".
func TestRunInterruptWritesAbortedResult(t *testing.T) {
	bin := buildBinary(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "run")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "earthquake", "--nproc", "2", "--config", filepath.Join("configs", "earthquake-smoke.yaml"),
		"--set", "epochs=1000", "--out", out, "--data", filepath.Join(tmp, "cache"))
	cmd.Dir = repoRoot(t)
	cmd.Env = scrubbedEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	sc := bufio.NewScanner(pipe)
	var log strings.Builder
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "epoch 1: train") {
			break
		}
	}
	if !strings.Contains(log.String(), "epoch 1: train") {
		t.Fatalf("no epoch finished:\n%s", log.String())
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, exitInterrupted, log.String())
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("took %v to stop", d)
	}
	if r := readResult(t, out); r.Status != "aborted" {
		t.Fatalf("result.json status %q, want aborted", r.Status)
	}
	f, err := os.Open(filepath.Join(out, "mllog.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := metrics.CheckMLLogSequence(f); err != nil {
		t.Fatalf("aborted run's mllog: %v", err)
	}
}
