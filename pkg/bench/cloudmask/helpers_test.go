package cloudmask

import (
	"context"
	"testing"

	"github.com/scibench/scibench/internal/testutil"
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

// runPy runs a script with h5py and numpy under a hard timeout and returns
// its stdout; the test fails without such an interpreter.
func runPy(t testing.TB, script string, args ...string) string {
	t.Helper()
	return testutil.RunPython(t, []string{"h5py", "numpy"}, script, args...)
}
