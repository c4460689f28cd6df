package uno

import (
	"testing"

	"github.com/scibench/scibench/internal/testutil"
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

// runPy runs script with args under a hard timeout and returns its output.
func runPy(t testing.TB, script string, args ...string) string {
	t.Helper()
	return testutil.RunPython(t, []string{"pandas", "tables", "numpy"}, script, args...)
}
