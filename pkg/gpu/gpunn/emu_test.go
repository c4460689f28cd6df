//go:build linux && (amd64 || arm64)

package gpunn

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/internal/testutil"
)

// The emulated device: pkg/gpu's test fakes (a libcuda whose launches run
// the kernels of package kernels compiled for the host by g++, each CUDA
// thread a POSIX thread; a fake libnvrtc; a libcublas computing SGEMM
// with naive loops), built from ../testdata with testutil's GPU kit.

var emu struct {
	once                sync.Once
	dir                 string
	cuda, nvrtc, cublas string
	skip                string
	err                 error
}

// buildEmu builds the three fake libraries once per test binary.
func buildEmu(t testing.TB) {
	emu.once.Do(func() {
		cc, cxx, missing := testutil.Compilers()
		if missing != "" {
			emu.skip = missing
			return
		}
		if emu.dir, emu.err = os.MkdirTemp("", "scibench-gpunn-emu-"); emu.err != nil {
			return
		}
		td, _ := filepath.Abs(filepath.Join("..", "testdata"))
		objs, err := testutil.EmulatorObjects(cxx, emu.dir, td)
		if err != nil {
			emu.err = err
			return
		}
		if emu.cuda, emu.err = testutil.LinkEmulatedCuda(cc, cxx, emu.dir, td, objs); emu.err != nil {
			return
		}
		if emu.nvrtc, emu.err = testutil.BuildCLib(cc, emu.dir, td, "fakenvrtc.c"); emu.err != nil {
			return
		}
		emu.cublas, emu.err = testutil.BuildCLib(cc, emu.dir, td, "fakecublas.c")
	})
	if emu.skip != "" {
		t.Skip(emu.skip)
	}
	if emu.err != nil {
		t.Fatalf("building the kernel emulator: %v", emu.err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if emu.dir != "" {
		os.RemoveAll(emu.dir)
	}
	os.Exit(code)
}

// emulated opens a Context on the emulated device with the kernels loaded,
// a stream and a cuBLAS handle; everything is closed at the end of t.
func emulated(t *testing.T) Config {
	t.Helper()
	buildEmu(t)
	t.Setenv(gpu.LibEnv, emu.cuda)
	t.Setenv(gpu.NVRTCLibEnv, emu.nvrtc)
	t.Setenv(gpu.CUBLASLibEnv, emu.cublas)
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
