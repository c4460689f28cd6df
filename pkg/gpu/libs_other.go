//go:build !(linux && (amd64 || arm64))

package gpu

import (
	"fmt"
	"runtime"
)

// loadNVRTC reports that run-time loading is not supported here.
func loadNVRTC() (*nvrtcAPI, error) {
	return nil, fmt.Errorf("%w: loading libnvrtc is not supported on %s/%s", ErrNoNVRTC, runtime.GOOS, runtime.GOARCH)
}

// loadCUBLAS reports that run-time loading is not supported here.
func loadCUBLAS() (*cublasAPI, error) {
	return nil, fmt.Errorf("%w: loading libcublas is not supported on %s/%s", ErrNoCUBLAS, runtime.GOOS, runtime.GOARCH)
}
