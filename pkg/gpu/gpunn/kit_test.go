//go:build linux && (amd64 || arm64)

package gpunn

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// The tests' shared kit: engines on the emulated or the real device,
// random tensors and their trip to and from the device.

// realConfig opens this machine's GPU with the kernels, a stream and a
// cuBLAS handle (closed at the end of t), or skips t saying why there is
// none and where the test runs instead (elsewhere).
func realConfig(t *testing.T, elsewhere string) Config {
	t.Helper()
	if _, err := gpu.Probe(); errors.Is(err, gpu.ErrNoGPU) {
		t.Skipf("no GPU (%v): %s", err, elsewhere)
	} else if err != nil {
		t.Fatal(err)
	}
	c, err := gpu.Open(gpu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.LoadKernels(gpu.KernelConfig{}); errors.Is(err, gpu.ErrNoNVRTC) {
		t.Skipf("GPU found but no NVRTC (%v): set %s to libnvrtc.so", err, gpu.NVRTCLibEnv)
	} else if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewBlas(s, gpu.BlasConfig{}); errors.Is(err, gpu.ErrNoCUBLAS) {
		t.Skipf("GPU found but no cuBLAS (%v): set %s to libcublas.so", err, gpu.CUBLASLibEnv)
	} else if err != nil {
		t.Fatal(err)
	}
	_ = s.Destroy()
	return openOn(t, c)
}

// guarded returns an engine on cfg with guard bands around every
// allocation, freed at the end of t.
func guarded(t *testing.T, cfg Config) *Engine {
	t.Helper()
	cfg.guard = guardElems
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Free(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// newTestEngine is a guarded engine on the emulated device with small
// blocks (each emulated CUDA thread is a host thread).
func newTestEngine(t *testing.T) *Engine {
	t.Helper()
	cfg := emulated(t)
	cfg.Block = 32
	return guarded(t, cfg)
}

// randTensor is a tensor of shape with N(0, 1) entries.
func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// toDevice uploads x into a new guarded engine allocation.
func toDevice(t *testing.T, e *Engine, x *tensor.Tensor) Tensor {
	t.Helper()
	if err := e.Synchronize(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, err := e.alloc("test tensor", len(x.Data), 4, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.upload(d, x.Data); err != nil {
		t.Fatal(err)
	}
	return d.tensor(x.Shape...)
}

// fromDevice waits for the stream and reads x back.
func fromDevice(t *testing.T, e *Engine, x Tensor) []float32 {
	t.Helper()
	v, err := e.Download(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mustArena uploads the built host arena ha into a device Arena of e.
func mustArena(t *testing.T, e *Engine, ha *nn.Arena) *Arena {
	t.Helper()
	a, err := e.NewArena(context.Background(), ha)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
