package uno

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/hdf5"
)

// needHDF5 skips only in a build without the hdf5 tag (the Makefile and CI
// always build with it).
func needHDF5(t testing.TB) {
	t.Helper()
	if !hdf5.Available() {
		t.Skip("built without the hdf5 tag (make test sets it)")
	}
}

var (
	pyOnce sync.Once
	pyPath string
	pyErr  string
)

// python returns an interpreter that imports pandas and PyTables:
// $SCIBENCH_PYTHON when set, else python3 on PATH or /usr/bin/python3 (PATH
// may hold a pyenv python without the Debian packages). Missing pandas is a
// failure: CI installs python3-pandas and python3-tables.
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
			out, err := exec.CommandContext(ctx, p, "-c", "import pandas, tables, numpy").CombinedOutput()
			cancel()
			if err == nil {
				pyPath = p
				return
			}
			tried = append(tried, p+": "+strings.TrimSpace(string(out)))
		}
		pyErr = strings.Join(tried, "; ")
	})
	if pyPath == "" {
		t.Fatalf("no python3 with pandas and PyTables (%s): apt-get install python3-pandas python3-tables, or set SCIBENCH_PYTHON", pyErr)
	}
	return pyPath
}

// runPy runs script with args under a hard timeout (the process is killed
// when it expires) and returns its output.
func runPy(t testing.TB, script string, args ...string) string {
	t.Helper()
	py := python(t)
	sp := filepath.Join(t.TempDir(), "script.py")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{sp}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", py, strings.Join(args, " "), err, out)
	}
	return string(out)
}
