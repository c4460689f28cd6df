package stemdl

import (
	"testing"

	"github.com/scibench/scibench/internal/testutil"
)

// The npz tests run python3 with NumPy (Debian python3-numpy) to write
// reference files. When no interpreter with numpy is found they FAIL: CI
// installs it, and a silent skip would hide a broken reader.

// runPython runs script with args under a hard timeout and returns stdout.
func runPython(t testing.TB, script string, args ...string) string {
	t.Helper()
	return testutil.RunPython(t, []string{"numpy"}, script, args...)
}
