package stemdl

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The npz tests run python3 with NumPy (Debian python3-numpy) to write
// reference files. When no interpreter with numpy is found they FAIL: CI
// installs it, and a silent skip would hide a broken reader.

var (
	pyOnce sync.Once
	pyPath string
	pyErr  string
)

// python returns an interpreter that imports numpy: $SCIBENCH_PYTHON when
// set, else python3 on PATH or /usr/bin/python3 (PATH may hold a pyenv
// python without the Debian packages).
func python(t testing.TB) string {
	t.Helper()
	pyOnce.Do(func() {
		var tried []string
		cands := []string{"python3", "/usr/bin/python3"}
		if p := os.Getenv("SCIBENCH_PYTHON"); p != "" {
			cands = []string{p}
		}
		for _, c := range cands {
			p, err := exec.LookPath(c)
			if err != nil {
				tried = append(tried, c+": not found")
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := exec.CommandContext(ctx, p, "-c", "import numpy").CombinedOutput()
			cancel()
			if err == nil {
				pyPath = p
				return
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			tried = append(tried, p+": "+lines[len(lines)-1])
		}
		pyErr = strings.Join(tried, "; ")
	})
	if pyPath == "" {
		t.Fatalf("no python3 with numpy (%s): apt-get install python3-numpy, or set SCIBENCH_PYTHON", pyErr)
	}
	return pyPath
}

// runPython runs script with args under a hard timeout and returns stdout.
func runPython(t testing.TB, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python(t), append([]string{"-c", script}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("python: %v\n%s", err, stderr)
	}
	return string(out)
}
