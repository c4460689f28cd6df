//go:build linux && (amd64 || arm64)

package gpunn

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/scibench/scibench/internal/testutil"
	"github.com/scibench/scibench/pkg/gpu"
)

// The emulated device: pkg/gpu's test fakes (a libcuda whose launches run
// the kernels of package kernels compiled for the host by g++, each CUDA
// thread a POSIX thread; a fake libnvrtc; a libcublas computing SGEMM
// with naive loops), built from ../testdata with testutil's GPU kit.

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveEmulator()
	os.Exit(code)
}

// emulated opens a Context on the emulated device with the kernels loaded,
// a stream and a cuBLAS handle; everything is closed at the end of t.
func emulated(t *testing.T) Config {
	t.Helper()
	cuda, nvrtc, cublas, skip, err := testutil.EmulatedDriver(filepath.Join("..", "testdata"))
	if skip != "" {
		t.Skip(skip)
	}
	if err != nil {
		t.Fatalf("building the kernel emulator: %v", err)
	}
	t.Setenv(gpu.LibEnv, cuda)
	t.Setenv(gpu.NVRTCLibEnv, nvrtc)
	t.Setenv(gpu.CUBLASLibEnv, cublas)
	c, err := gpu.Open(gpu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return openOn(t, c)
}

// openOn loads the kernels, a stream and a cuBLAS handle on c.
func openOn(t *testing.T, c *gpu.Context) Config {
	t.Helper()
	m, err := c.LoadKernels(gpu.KernelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	bl, err := c.NewBlas(s, gpu.BlasConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return Config{Context: c, Module: m, Stream: s, Blas: bl}
}
