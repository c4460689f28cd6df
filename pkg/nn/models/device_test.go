//go:build linux && (amd64 || arm64)

package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/scibench/scibench/internal/testutil"
	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/gpu/gpunn"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/tensor"
)

// The models on the GPU engine: each model is built twice from the same
// seed, one moved to the device (the host emulator of pkg/gpu's test
// fakes here, a real GPU in TestModelsOnDeviceGPU), and both train for
// the same steps with the same inputs, dropout keys and optimizer; the
// outputs, gradients (streamed to the host or read on the device),
// weights and BatchNorm statistics must agree within float32 tolerances.

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveEmulator()
	os.Exit(code)
}

// emulatedEngine opens the emulated device and a gpunn engine on it.
func emulatedEngine(t *testing.T) *gpunn.Engine {
	t.Helper()
	cuda, nvrtc, cublas, skip, err := testutil.EmulatedDriver(filepath.Join("..", "..", "gpu", "testdata"))
	if skip != "" {
		t.Skip(skip)
	}
	if err != nil {
		t.Fatalf("building the kernel emulator: %v", err)
	}
	t.Setenv(gpu.LibEnv, cuda)
	t.Setenv(gpu.NVRTCLibEnv, nvrtc)
	t.Setenv(gpu.CUBLASLibEnv, cublas)
	return engineOn(t)
}

// engineOn opens the first device with kernels, a stream and cuBLAS.
func engineOn(t *testing.T) *gpunn.Engine {
	t.Helper()
	c, err := gpu.Open(gpu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	m, err := c.LoadKernels(gpu.KernelConfig{})
	if errors.Is(err, gpu.ErrNoNVRTC) {
		t.Skipf("GPU found but no NVRTC: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	bl, err := c.NewBlas(s, gpu.BlasConfig{})
	if errors.Is(err, gpu.ErrNoCUBLAS) {
		t.Skipf("GPU found but no cuBLAS: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	e, err := gpunn.New(gpunn.Config{Context: c, Module: m, Stream: s, Blas: bl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Free() })
	return e
}

func TestModelsOnDeviceEmulated(t *testing.T) {
	for _, c := range deviceCases() {
		for _, stream := range []bool{false, true} {
			if c.slow && !stream {
				continue // the emulator is slow: one variant is enough
			}
			t.Run(fmt.Sprintf("%s/stream=%v", c.name, stream), func(t *testing.T) {
				checkOnDevice(t, emulatedEngine(t), c, stream)
			})
		}
	}
}

func TestModelsOnDeviceGPU(t *testing.T) {
	if _, err := gpu.Probe(); errors.Is(err, gpu.ErrNoGPU) {
		t.Skipf("no GPU (%v): the models are tested on the GPU engine here on the host emulator only (TestModelsOnDeviceEmulated)", err)
	} else if err != nil {
		t.Fatal(err)
	}
	for _, c := range deviceCases() {
		t.Run(c.name, func(t *testing.T) { checkOnDevice(t, engineOn(t), c, true) })
	}
}

// deviceCase is one model: build makes it, inputs draws a batch.
type deviceCase struct {
	name   string
	build  func() (Model, error)
	inputs func(rng *rand.Rand) []*tensor.Tensor
	bns    func(Model) []*nn.BatchNorm
	slow   bool
}

func randT(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.New(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

func deviceCases() []deviceCase {
	return []deviceCase{
		{name: "uno", build: func() (Model, error) {
			return NewUno(UnoConfig{CellFeatures: 5, DrugFeatures: 7, Hidden: 6, TowerLayers: 2, HeadLayers: 2, Dropout: 0.2, Seed: 3, DropoutSeed: 1})
		}, inputs: func(rng *rand.Rand) []*tensor.Tensor { return []*tensor.Tensor{randT(rng, 4, 5), randT(rng, 4, 7)} }},
		{name: "earthquake", build: func() (Model, error) {
			return NewEarthquake(EarthquakeConfig{Inputs: 3, DenseIn: 4, Units: 5, DenseOut: 4, Outputs: 2, Dropout: 0.2, RecurrentDropout: 0.2, Seed: 5, DropoutSeed: 2})
		}, inputs: func(rng *rand.Rand) []*tensor.Tensor { return []*tensor.Tensor{randT(rng, 3, 4, 3)} }},
		{name: "unet", build: func() (Model, error) {
			return NewUNet(UNetConfig{InChannels: 2, Filters: 2, Levels: 2, Seed: 7})
		}, inputs: func(rng *rand.Rand) []*tensor.Tensor { return []*tensor.Tensor{randT(rng, 2, 2, 8, 8)} }},
		{name: "resnet18", build: func() (Model, error) {
			return NewResNet(ResNetConfig{Depth: 18, InChannels: 2, Classes: 3, Width: 2, Seed: 9})
		}, inputs: func(rng *rand.Rand) []*tensor.Tensor { return []*tensor.Tensor{randT(rng, 3, 2, 16, 16)} },
			bns: func(m Model) []*nn.BatchNorm { return m.(*ResNet).BatchNorms() }, slow: true},
	}
}

// close reports whether got is within a float32 tolerance of want,
// relative to want's largest magnitude (summation orders differ).
func closeTo(t *testing.T, what string, got, want []float32, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	bad, worst, at := 0, 0.0, 0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if !(d <= rtol*scale+1e-6) {
			bad++
			if !(d <= worst) {
				worst, at = d, i
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ beyond %g·%g; worst [%d] %v on the device, %v on the CPU",
			what, bad, len(want), rtol, scale, at, got[at], want[at])
	}
}

func checkOnDevice(t *testing.T, e *gpunn.Engine, c deviceCase, stream bool) {
	ctx := context.Background()
	mc, err := c.build()
	if err != nil {
		t.Fatal(err)
	}
	md, err := c.build()
	if err != nil {
		t.Fatal(err)
	}
	// small copies, so a backward pass streams its gradients in many
	dm, err := md.(DeviceModel).UseDevice(e, gpunn.ModelConfig{StreamGrads: stream, CopyElems: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dm.Close(); err != nil {
			t.Error(err)
		}
	})
	n := mc.Arena().Size()
	// SGD: linear in the gradient, so float32 rounding differences stay
	// small (Adam's first steps move every weight by ±lr whatever the size
	// of its gradient); the optimizer kernels have their own twin tests
	ocfg := optim.SGDConfig{LR: 0.001, Momentum: 0.9}
	cpuOpt := optim.NewSGD(n, ocfg)
	devOpt, err := e.NewOptimizer(dm.DeviceArena(), optim.NewSGD(n, ocfg), gpunn.OptimizerConfig{GradsOnHost: stream})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 13))
	grad := make([]float32, n)
	w0 := append([]float32(nil), mc.Arena().Data...)
	for step := 1; step <= 2; step++ {
		in := c.inputs(rng)
		type keyed interface{ SetMaskKey(uint64, int) }
		if k, ok := mc.(keyed); ok {
			k.SetMaskKey(uint64(100+step), 3)
			md.(keyed).SetMaskKey(uint64(100+step), 3)
		}
		mc.Arena().ZeroGrad()
		md.Arena().ZeroGrad()
		if err := dm.ZeroGrad(); err != nil {
			t.Fatal(err)
		}
		want, err := mc.Forward(in, true)
		if err != nil {
			t.Fatal(err)
		}
		got, err := md.Forward(in, true)
		if err != nil {
			t.Fatal(err)
		}
		closeTo(t, fmt.Sprintf("step %d output", step), got.Data, want.Data, 1e-4)
		dout := randT(rng, want.Shape...)
		if err := mc.Backward(dout); err != nil {
			t.Fatal(err)
		}
		var marks []int
		md.Arena().SetGradHook(func(lo int) { marks = append(marks, lo) })
		if err := md.Backward(dout); err != nil {
			t.Fatal(err)
		}
		md.Arena().SetGradHook(nil)
		if stream {
			// the host sees the gradients arrive from the end of the arena
			// down to 0, in several pieces
			for i := 1; i < len(marks); i++ {
				if marks[i] >= marks[i-1] {
					t.Fatalf("step %d: ready offsets %v do not decrease", step, marks)
				}
			}
			if len(marks) < 2 || marks[len(marks)-1] != 0 {
				t.Fatalf("step %d: ready offsets %v: want several, ending at 0", step, marks)
			}
		} else if len(marks) != 0 {
			t.Fatalf("step %d: gradients kept on the device were marked ready on the host: %v", step, marks)
		}
		if stream {
			copy(grad, md.Arena().Grad) // streamed during the backward pass
		} else if err := dm.DeviceArena().DownloadGrad(ctx, grad); err != nil {
			t.Fatal(err)
		}
		for _, p := range mc.Arena().Params() {
			// step 2 starts from weights that already differ in rounding,
			// which BatchNorm over a batch of 2-3 amplifies
			closeTo(t, fmt.Sprintf("step %d gradient of %s", step, p.Name), grad[p.Offset:p.Offset+p.Len()], p.G, float64(step*step)*1e-3)
		}
		cpuOpt.Step(mc.Arena().Data, mc.Arena().Grad)
		if err := devOpt.StepErr(nil, md.Arena().Grad); err != nil {
			t.Fatal(err)
		}
	}
	// evaluation mode after training, then the weights and statistics
	in := c.inputs(rng)
	want, err := mc.Forward(in, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := md.Forward(in, false)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "eval output", got.Data, want.Data, 1e-3)
	if err := dm.PullWeights(ctx); err != nil {
		t.Fatal(err)
	}
	// compare what training changed: the updates, relative to each
	// parameter's largest update (a missing or wrong update is off by
	// about its own size; rounding in the gradients, by 1e-3 of it)
	upd := func(a []float32) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = a[i] - w0[i]
		}
		return d
	}
	dDev, dCPU := upd(md.Arena().Data), upd(mc.Arena().Data)
	for _, p := range mc.Arena().Params() {
		closeTo(t, "update of "+p.Name, dDev[p.Offset:p.Offset+p.Len()], dCPU[p.Offset:p.Offset+p.Len()], 1e-2)
	}
	if c.bns != nil {
		bc, bd := c.bns(mc), c.bns(md)
		for i := range bc {
			closeTo(t, fmt.Sprintf("BatchNorm %d running mean", i), bd[i].RunningMean, bc[i].RunningMean, 1e-3)
			closeTo(t, fmt.Sprintf("BatchNorm %d running variance", i), bd[i].RunningVar, bc[i].RunningVar, 1e-3)
		}
	}
	// a push of changed host weights reaches the device
	for i := range md.Arena().Data {
		md.Arena().Data[i] *= 0.5
		mc.Arena().Data[i] *= 0.5
	}
	if err := dm.PushWeights(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ = mc.Forward(in, false)
	got, err = md.Forward(in, false)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "eval output after PushWeights", got.Data, want.Data, 1e-3)
}
