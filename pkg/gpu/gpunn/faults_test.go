//go:build linux && (amd64 || arm64)

package gpunn

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ebitengine/purego"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// faultCtl drives the fault injection of the emulated libcuda.
type faultCtl struct {
	setMemLimit    func(n uint64)
	setStreamPolls func(n int32)
	fail           func(call string, rc int32, after int64, sticky int32)
	reset          func()
}

// faults opens the control functions of the fake libcuda the current
// test loaded (emulated) and resets it when t ends.
func faults(t *testing.T) *faultCtl {
	t.Helper()
	runtime.LockOSThread()
	h, err := purego.Dlopen(os.Getenv(gpu.LibEnv), purego.RTLD_NOW|purego.RTLD_LOCAL)
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	f := &faultCtl{}
	purego.RegisterLibFunc(&f.setMemLimit, h, "fake_set_mem_limit")
	purego.RegisterLibFunc(&f.setStreamPolls, h, "fake_set_stream_polls")
	purego.RegisterLibFunc(&f.fail, h, "fake_fail")
	purego.RegisterLibFunc(&f.reset, h, "fake_reset")
	t.Cleanup(f.reset)
	return f
}

// mlpModel is a Dense-ReLU-Dense Model on e of 9→h→2.
func mlpModel(t *testing.T, e *Engine, h int, cfg ModelConfig) (*Model, *nn.Arena) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	a := nn.NewArena()
	seq := nn.NewSequential(nn.NewDense(a, "fc1", 9, h, nn.GlorotUniform, rng), nn.NewReLU(), nn.NewDense(a, "fc2", h, 2, nn.GlorotUniform, rng))
	a.Build()
	m, err := e.NewModel(a, cfg, func(da *Arena) (Net, []HostSyncer, error) {
		l, err := e.NewBuilder(da).Layer(seq)
		return oneInput{l}, nil, err
	})
	if err != nil {
		return nil, a
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, a
}

type oneInput struct{ l Layer }

func (n oneInput) Forward(in []Tensor, train bool) (Tensor, error) { return n.l.Forward(in[0], train) }
func (n oneInput) Backward(d Tensor) error {
	_, err := n.l.Backward(d)
	return err
}

// TestModelFaultsEmulated: out of memory, a hung stream and a lost device
// are errors naming the device, returned within the deadline, never hangs
// or panics.
func TestModelFaultsEmulated(t *testing.T) {
	x := tensor.New(4, 9)
	for i := range x.Data {
		x.Data[i] = float32(i%7) - 3
	}
	t.Run("out of memory", func(t *testing.T) {
		e, err := New(emulated(t))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Free()
		faults(t).setMemLimit(64 << 10)
		a := nn.NewArena()
		nn.NewDense(a, "big", 1000, 1000, nil, nil)
		a.Build()
		_, err = e.NewModel(a, ModelConfig{}, func(*Arena) (Net, []HostSyncer, error) { return nil, nil, nil })
		if !errors.Is(err, gpu.ErrOutOfMemory) || !strings.Contains(err.Error(), "Fake") || !strings.Contains(err.Error(), "arena parameters") {
			t.Fatalf("a model larger than the device: %v, want an out-of-memory error naming the device and the allocation", err)
		}
	})
	t.Run("hung stream", func(t *testing.T) {
		e, err := New(emulated(t))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Free()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		m, _ := mlpModel(t, e, 5, ModelConfig{Context: ctx})
		faults(t).setStreamPolls(-1)
		start := time.Now()
		_, err = m.Forward([]*tensor.Tensor{x}, true)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "Fake") {
			t.Fatalf("forward on a hung stream: %v, want the deadline, naming the device", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("forward on a hung stream returned after %v", d)
		}
	})
	t.Run("lost device", func(t *testing.T) {
		e, err := New(emulated(t))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := mlpModel(t, e, 5, ModelConfig{StreamGrads: true})
		if _, err := m.Forward([]*tensor.Tensor{x}, true); err != nil {
			t.Fatal(err)
		}
		faults(t).fail("cuLaunchKernel", 700, 1, 1) // CUDA_ERROR_ILLEGAL_ADDRESS, sticky
		for i := 0; i < 2; i++ {
			_, err = m.Forward([]*tensor.Tensor{x}, true)
			if !errors.Is(err, gpu.ErrDeviceLost) || !strings.Contains(err.Error(), "Fake") {
				t.Fatalf("forward %d after the device was lost: %v, want ErrDeviceLost naming the device", i, err)
			}
		}
		dy := tensor.New(4, 2)
		if err := m.Backward(dy); !errors.Is(err, gpu.ErrDeviceLost) {
			t.Fatalf("backward after the device was lost: %v", err)
		}
	})
}
