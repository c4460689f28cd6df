package cloudmask

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

// needHDF5 skips in the build without the hdf5 tag only (make test and CI
// always build with it).
func needHDF5(t testing.TB) {
	t.Helper()
	if !hdf5.Available() {
		t.Skip("built without the hdf5 tag: scene files cannot be read or written")
	}
}

// tinyDir generates the tiny synthetic profile into a fresh folder.
func tinyDir(t testing.TB) string {
	t.Helper()
	needHDF5(t)
	dir := t.TempDir()
	if _, err := Generate(context.Background(), dir, Scales["tiny"], 1234); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tinyConfig is the smoke geometry on data in dir (not synthetic: the
// scenes are already there).
func tinyConfig(t testing.TB) Config {
	t.Helper()
	c := DefaultConfig()
	c.Division = "open"
	c.PatchSize, c.InferenceStride, c.Filters = 32, 24, 4
	c.BatchSize, c.EvalBatch, c.Epochs = 8, 5, 1
	c.Previews, c.CacheMB = 1, 1
	c.MaskDir = t.TempDir()
	c.Split = &SplitRecord{}
	return c
}

var (
	pyOnce sync.Once
	pyPath string
	pyErr  string
)

// python returns an interpreter with h5py and numpy ($SCIBENCH_PYTHON,
// python3 on PATH or /usr/bin/python3); the test fails without one.
func python(t testing.TB) string {
	t.Helper()
	pyOnce.Do(func() {
		cands := []string{"python3", "/usr/bin/python3"}
		if p := os.Getenv("SCIBENCH_PYTHON"); p != "" {
			cands = []string{p}
		}
		var tried []string
		for _, c := range cands {
			p, err := exec.LookPath(c)
			if err != nil {
				tried = append(tried, c+": not found")
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			out, err := exec.CommandContext(ctx, p, "-c", "import h5py, numpy").CombinedOutput()
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
		t.Fatalf("no python3 with h5py and numpy (%s): apt-get install python3-h5py, or set SCIBENCH_PYTHON", pyErr)
	}
	return pyPath
}

// runPy runs a script under a hard timeout and returns its stdout.
func runPy(t testing.TB, script string, args ...string) string {
	t.Helper()
	py := python(t)
	sp := filepath.Join(t.TempDir(), "s.py")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, append([]string{sp}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}
