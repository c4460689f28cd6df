package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/gpu/gpunn"
	"github.com/scibench/scibench/pkg/nn/models"
	"github.com/scibench/scibench/pkg/optim"
)

// Device modes of UseDevice (scibench run --device).
const (
	DeviceAuto = "auto" // the GPU of this worker when one is found, else the CPU
	DeviceGPU  = "gpu"  // the GPU, or an error
	DeviceCPU  = "cpu"  // the CPU engine
)

// ErrDevice reports a --device the machine cannot honour (exit code 2).
var ErrDevice = errors.New("bench: device")

// UseDevice moves run's model and optimizer to the GPU of this worker
// (local rank localRank, under CUDA_VISIBLE_DEVICES) when mode allows and
// one is usable, and returns the device's name ("cpu" otherwise) and a
// function that frees it after the run. With mode auto, a machine without
// a GPU, NVRTC or cuBLAS falls back to the CPU engine with one log line
// saying why; with mode gpu that is an ErrDevice.
//
// On the GPU, run.Optimizer becomes its device twin (gpunn.Optimizer) and
// run.Train.Device the device model; with more than one worker the model
// streams each finished gradient to the host for the all-reduce.
func UseDevice(ctx context.Context, mode string, run *Run, env Env, localRank int) (string, func() error, error) {
	nop := func() error { return nil }
	if mode == DeviceCPU {
		return "cpu", nop, nil
	}
	var dm models.DeviceModel
	if dt, ok := run.Task.(interface{ DeviceModel() models.DeviceModel }); ok {
		dm = dt.DeviceModel()
	}
	if dm == nil && (mode == DeviceAuto || mode == "") {
		return "cpu", nop, nil
	}
	if dm == nil {
		return "", nil, fmt.Errorf("%w: the %T task has no GPU engine", ErrDevice, run.Task)
	}
	hostOpt, ok := run.Optimizer.(optim.Optimizer)
	if !ok {
		return "", nil, fmt.Errorf("%w: optimizer %s has no GPU twin", ErrDevice, run.Optimizer.Name())
	}
	e, name, closeEngine, err := OpenEngine(mode, localRank, env.Logger)
	if err != nil || e == nil {
		return name, closeEngine, err
	}
	closers := []func() error{closeEngine}
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	fail := func(err error) (string, func() error, error) {
		return "", nil, errors.Join(err, closeAll())
	}
	multi := env.World > 1
	dev, err := dm.UseDevice(e, gpunn.ModelConfig{StreamGrads: multi, Context: ctx})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, dev.Close)
	o, err := e.NewOptimizer(dev.DeviceArena(), hostOpt, gpunn.OptimizerConfig{GradsOnHost: multi,
		Scale: float32(1 / float64(run.Train.GlobalBatch)), Context: ctx})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, o.Free)
	run.Optimizer = o
	run.Train.Device = dev
	if env.Logger != nil {
		env.Logger.Info("using the GPU engine", "device", name, "stream_gradients", multi)
	}
	return name, closeAll, nil
}

// OpenEngine opens the GPU engine of this worker (local rank localRank)
// for mode (DeviceAuto, DeviceGPU; DeviceCPU returns no engine): the
// context, the kernels compiled with NVRTC, a stream and a cuBLAS handle.
// It returns the engine, the device's name and a function that frees it
// all. With mode auto and no usable GPU (no driver or device, no NVRTC, no
// cuBLAS) it returns a nil engine and the name "cpu", having logged why;
// with mode gpu that is an ErrDevice.
func OpenEngine(mode string, localRank int, log *slog.Logger) (*gpunn.Engine, string, func() error, error) {
	nop := func() error { return nil }
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch mode {
	case DeviceCPU:
		return nil, "cpu", nop, nil
	case DeviceAuto, DeviceGPU, "":
	default:
		return nil, "", nil, fmt.Errorf("%w: --device %q: want auto, gpu or cpu", ErrDevice, mode)
	}
	fallback := func(why error) (*gpunn.Engine, string, func() error, error) {
		if mode == DeviceGPU {
			return nil, "", nil, fmt.Errorf("%w: --device gpu: %w", ErrDevice, why)
		}
		log.Info("using the CPU engine", "reason", why.Error())
		return nil, "cpu", nop, nil
	}
	glog := log // Open says "no GPU: using the CPU engine"; not true with mode gpu
	if mode == DeviceGPU {
		glog = slog.New(slog.DiscardHandler)
	}
	c, err := gpu.Open(gpu.Config{LocalRank: localRank, Logger: glog})
	if errors.Is(err, gpu.ErrNoGPU) {
		if mode == DeviceGPU {
			return nil, "", nil, fmt.Errorf("%w: --device gpu: %w", ErrDevice, err)
		}
		return nil, "cpu", nop, nil // Open logged the line
	} else if err != nil {
		return nil, "", nil, err
	}
	fail := func(err error) (*gpunn.Engine, string, func() error, error) {
		return nil, "", nil, errors.Join(err, c.Close())
	}
	m, err := c.LoadKernels(gpu.KernelConfig{})
	if errors.Is(err, gpu.ErrNoNVRTC) {
		_ = c.Close()
		return fallback(err)
	} else if err != nil {
		return fail(err)
	}
	s, err := c.NewStream()
	if err != nil {
		return fail(err)
	}
	bl, err := c.NewBlas(s, gpu.BlasConfig{})
	if errors.Is(err, gpu.ErrNoCUBLAS) {
		_ = c.Close()
		return fallback(err)
	} else if err != nil {
		return fail(err)
	}
	e, err := gpunn.New(gpunn.Config{Context: c, Module: m, Stream: s, Blas: bl})
	if err != nil {
		return fail(err)
	}
	d := c.Device()
	name := fmt.Sprintf("cuda:%s %s", deviceID(os.Getenv("CUDA_VISIBLE_DEVICES"), d.Index), d.Name)
	log.Info("GPU engine", "device", name, "compute_capability", fmt.Sprintf("%d.%d", d.Major, d.Minor), "kernels", m.Arch())
	// the context frees the module, stream and handle with it
	return e, name, func() error { return errors.Join(e.Free(), c.Close()) }, nil
}

// deviceID names visible device index: its entry in CUDA_VISIBLE_DEVICES
// (visible) when that is set, so that workers bound to one GPU each name
// different ones, else the index itself.
func deviceID(visible string, index int) string {
	if ids := gpu.VisibleDevices(visible); index >= 0 && index < len(ids) {
		return ids[index]
	}
	return strconv.Itoa(index)
}
