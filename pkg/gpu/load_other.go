//go:build !(linux && (amd64 || arm64))

package gpu

import (
	"fmt"
	"runtime"
)

// load reports that run-time loading of libcuda is not supported on this
// platform (darwin and windows have no CUDA driver scibench can use).
func load() (*driverAPI, string, error) {
	return nil, "", fmt.Errorf("%w: loading libcuda is not supported on %s/%s", ErrNoGPU, runtime.GOOS, runtime.GOARCH)
}
