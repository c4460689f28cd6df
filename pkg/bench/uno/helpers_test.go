package uno

import (
	"testing"

	"github.com/scibench/scibench/pkg/hdf5"
	"github.com/scibench/scibench/pkg/internal/testutil"
)

// needHDF5 skips only in a build without the hdf5 tag (the Makefile and CI
// always build with it).
func needHDF5(t testing.TB) {
	t.Helper()
	if !hdf5.Available() {
		t.Skip("built without the hdf5 tag (make test sets it)")
	}
}

// python returns an interpreter that imports pandas and PyTables (CI
// installs python3-pandas and python3-tables; missing them is a failure).
func python(t testing.TB) string { return testutil.Python(t, "pandas", "tables", "numpy") }

// runPy runs script with args under a hard timeout and returns its output.
func runPy(t testing.TB, script string, args ...string) string {
	t.Helper()
	return testutil.RunPython(t, []string{"pandas", "tables", "numpy"}, script, args...)
}
