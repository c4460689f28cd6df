//go:build !(linux && (amd64 || arm64))

package energy

import (
	"fmt"
	"runtime"
)

// openNVML reports that loading NVML is not supported on this platform.
func openNVML(lib string, _ []int) ([]source, func() error, error) {
	return nil, nil, fmt.Errorf("loading %s is not supported on %s/%s", lib, runtime.GOOS, runtime.GOARCH)
}
