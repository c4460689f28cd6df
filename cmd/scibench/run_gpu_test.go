//go:build linux && (amd64 || arm64)

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scibench/scibench/internal/testutil"
	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/metrics"
)

// `scibench run --device` end to end: real worker processes (ring
// all-reduce over TCP on 127.0.0.1 for --nproc 2) on the emulated GPU of
// pkg/gpu/testdata (a fake libcuda whose launches run the kernels compiled
// for the host, a fake NVRTC and a naive cuBLAS), found by the binary
// through SCIBENCH_LIBCUDA, SCIBENCH_LIBNVRTC and SCIBENCH_LIBCUBLAS.

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveEmulator()
	os.Exit(code)
}

// emulatedDriverEnv returns the environment that points the binary at the
// emulated device; it skips t where no C/C++ compiler can build it.
func emulatedDriverEnv(t *testing.T) []string {
	t.Helper()
	cuda, nvrtc, cublas, skip, err := testutil.EmulatedDriver(filepath.Join("..", "..", "pkg", "gpu", "testdata"))
	if skip != "" {
		t.Skip(skip)
	}
	if err != nil {
		t.Fatalf("building the kernel emulator: %v", err)
	}
	return []string{gpu.LibEnv + "=" + cuda, gpu.NVRTCLibEnv + "=" + nvrtc, gpu.CUBLASLibEnv + "=" + cublas}
}

// fakeDevices are the names `scibench run` reports for the fake libcuda's
// two devices (pkg/gpu/testdata/fakecuda.c, cuDeviceGetName); without
// CUDA_VISIBLE_DEVICES local rank r takes device r mod 2.
var fakeDevices = []string{"cuda:0 Fake H200", "cuda:1 Fake A100-SXM4-40GB"}

// gpuSmoke are the settings of every run here: the earthquake smoke
// config cut to what the emulator (one POSIX thread per CUDA thread, so
// the cost grows with the elements each kernel touches) runs in seconds:
// 396 training windows of 2 steps (two optimizer steps per epoch, the
// second a partial batch), 2 epochs, one evaluation at the end with
// enough windows for non-zero NNSE values.
var gpuSmoke = []string{"--config", filepath.Join("configs", "earthquake-smoke.yaml"),
	"--set", "epochs=2", "--set", "tseq=2", "--set", "pair_stride=8192", "--set", "eval_stride=1024",
	"--set", "eval_every=-1"}

func runArgs(device string, nproc int, out, data string) []string {
	args := []string{"run", "earthquake", "--device", device, "--out", out, "--data", data}
	if nproc > 0 { // 0: the default, one worker per visible GPU
		args = append(args, "--nproc", fmt.Sprint(nproc))
	}
	return append(args, gpuSmoke...)
}

func checkDevices(t *testing.T, r *metrics.Result, want []string) {
	t.Helper()
	if fmt.Sprint(r.Devices) != fmt.Sprint(want) {
		t.Fatalf("result.json devices %q, want %q", r.Devices, want)
	}
}

// TestRunGPUEarthquake trains earthquake on the emulated GPU with one
// worker (gradients stay on the device) and two (gradients streamed to
// pinned host memory, all-reduced over TCP) and compares both with the
// CPU engine on the same config.
func TestRunGPUEarthquake(t *testing.T) {
	env := emulatedDriverEnv(t)
	bin := buildBinary(t)
	tmp := t.TempDir()
	data := filepath.Join(tmp, "cache")
	cpuDir := filepath.Join(tmp, "cpu")
	start := time.Now()
	code, out := runBinaryEnv(t, bin, 2*time.Minute, env, runArgs("cpu", 1, cpuDir, data)...)
	if code != 0 {
		t.Fatalf("--device cpu: exit %d\n%s", code, out)
	}
	t.Logf("cpu: %v", time.Since(start))
	if !strings.Contains(out, "1 worker(s) on cpu,") {
		t.Fatalf("--device cpu: output does not name the CPU:\n%s", out)
	}
	cpu := readResult(t, cpuDir)
	checkDevices(t, cpu, []string{"cpu"})
	summary := []string{"1 worker(s) on cuda:0 Fake H200,", "2 worker(s) on 1× cuda:0 Fake H200, 1× cuda:1 Fake A100-SXM4-40GB,"}

	// nproc 0: no --nproc, so one worker per GPU of the fake driver (2)
	for _, flag := range []int{1, 0} {
		nproc := flag
		if flag == 0 {
			nproc = 2
		}
		t.Run(fmt.Sprintf("gpu nproc %d", flag), func(t *testing.T) {
			dir := filepath.Join(tmp, fmt.Sprintf("gpu%d", flag))
			start := time.Now()
			code, out := runBinaryEnv(t, bin, 3*time.Minute, env, runArgs("gpu", flag, dir, data)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, out)
			}
			t.Logf("gpu nproc %d: %v", nproc, time.Since(start))
			if !strings.Contains(out, summary[nproc-1]) {
				t.Fatalf("output lacks %q:\n%s", summary[nproc-1], out)
			}
			r := readResult(t, dir)
			if r.Status != metrics.StatusSuccess || r.WorldSize != nproc {
				t.Fatalf("status %q, world size %d", r.Status, r.WorldSize)
			}
			checkDevices(t, r, fakeDevices[:nproc])
			ml, err := os.ReadFile(filepath.Join(dir, "mllog.log"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(ml), fakeDevices[0]) {
				t.Fatalf("mllog's platform does not name %q", fakeDevices[0])
			}
			compareRuns(t, cpu, r, 60)
		})
	}

	// checkpoints are the same on both engines: the first epoch on the
	// GPU, the second resumed on the CPU, equals the CPU run
	t.Run("GPU checkpoint resumes on the CPU", func(t *testing.T) {
		dir := filepath.Join(tmp, "gpu-then-cpu")
		code, out := runBinaryEnv(t, bin, 3*time.Minute, env, append(runArgs("gpu", 1, dir, data), "--set", "epochs=1")...)
		if code != 0 {
			t.Fatalf("epoch 1 on the GPU: exit %d\n%s", code, out)
		}
		code, out = runBinaryEnv(t, bin, 3*time.Minute, env, append(runArgs("cpu", 1, dir, data), "--resume")...)
		if code != 0 {
			t.Fatalf("epoch 2 resumed on the CPU: exit %d\n%s", code, out)
		}
		r := readResult(t, dir)
		if r.Status != metrics.StatusSuccess || len(r.Epochs) != 2 {
			t.Fatalf("resumed run: status %q, %d epochs", r.Status, len(r.Epochs))
		}
		checkDevices(t, r, []string{"cpu"})
		compareRuns(t, cpu, r, 60)
	})
}

// compareRuns checks the training loss of every epoch and every final
// metric of a GPU run against the CPU run.
func compareRuns(t *testing.T, cpu, dev *metrics.Result, minMetrics int) {
	t.Helper()
	// Same data, seed, dropout streams and batches on both engines; only
	// float32 summation order differs (device kernels and the fake naive
	// SGEMM vs pkg/blas). Measured on the emulator: epoch losses agree to
	// ~1e-9 relative and the NNSE/MSE metrics to ~5e-8 absolute, i.e. a
	// float32 ulp or two. 1e-5 (relative, absolute below 1) leaves two
	// orders of margin yet catches a wrong gradient or optimizer step: on
	// the CPU, changing only the learning rate by 1e-4 relative moves the
	// epoch-2 loss and the weighted MSE by 1.5e-5..2.5e-5 relative, by 3%
	// moves them by ~4e-3.
	const tol = 1e-5
	near := func(what string, c, d float64) {
		t.Helper()
		if math.IsNaN(c) && math.IsNaN(d) {
			return
		}
		if !(math.Abs(c-d) <= tol*math.Max(1, math.Abs(c))) {
			t.Errorf("%s: gpu %v, cpu %v", what, d, c)
		}
	}
	if len(cpu.Epochs) != len(dev.Epochs) || len(cpu.Epochs) == 0 {
		t.Fatalf("epochs: gpu %d, cpu %d", len(dev.Epochs), len(cpu.Epochs))
	}
	for i := range cpu.Epochs {
		near(fmt.Sprintf("epoch %d train loss", i+1), float64(cpu.Epochs[i].TrainLoss), float64(dev.Epochs[i].TrainLoss))
	}
	n := 0
	for k, c := range cpu.Metrics {
		d, ok := dev.Metrics[k]
		if !ok {
			t.Errorf("gpu run lacks metric %s", k)
			continue
		}
		near(k, float64(c), float64(d))
		n++
	}
	if n < minMetrics {
		t.Fatalf("compared %d metrics", n)
	}
	var worst string
	var wd float64
	for k, c := range cpu.Metrics {
		if d := math.Abs(float64(c - dev.Metrics[k])); d > wd {
			worst, wd = k, d
		}
	}
	t.Logf("largest metric difference: %s %.3g (loss gpu %v cpu %v)", worst, wd, dev.Epochs[0].TrainLoss, cpu.Epochs[0].TrainLoss)
}

// TestRunGPUMissingDriver points SCIBENCH_LIBCUDA at a file that does not
// exist: --device gpu is a usage error (exit 2) naming the library, with
// rank 0's failed result.json; --device auto trains on the CPU.
func TestRunGPUMissingDriver(t *testing.T) {
	bin := buildBinary(t)
	tmp := t.TempDir()
	data := filepath.Join(tmp, "cache")
	missing := filepath.Join(tmp, "no-such", "libcuda.so.1")
	env := []string{gpu.LibEnv + "=" + missing}
	for _, nproc := range []int{1, 2} {
		t.Run(fmt.Sprintf("gpu nproc %d", nproc), func(t *testing.T) {
			dir := filepath.Join(tmp, fmt.Sprintf("gpu%d", nproc))
			code, out := runBinaryEnv(t, bin, 2*time.Minute, env, runArgs("gpu", nproc, dir, data)...)
			if code != 2 || !strings.Contains(out, "--device gpu") || !strings.Contains(out, "no GPU") || !strings.Contains(out, missing) {
				t.Fatalf("exit %d, want 2 naming --device gpu, no GPU and %s:\n%s", code, missing, out)
			}
			// Open's "no GPU: using the CPU engine" is for --device auto only
			if strings.Contains(out, "using the CPU engine") {
				t.Fatalf("--device gpu claims to use the CPU engine:\n%s", out)
			}
			r := readResult(t, dir)
			if r.Status != metrics.StatusFailed || !strings.Contains(r.Error, missing) || len(r.Epochs) != 0 {
				t.Fatalf("result.json: status %q, error %q, %d epochs", r.Status, r.Error, len(r.Epochs))
			}
		})
	}
	t.Run("auto", func(t *testing.T) {
		dir := filepath.Join(tmp, "auto")
		code, out := runBinaryEnv(t, bin, 2*time.Minute, env, runArgs("auto", 1, dir, data)...)
		if code != 0 || !strings.Contains(out, "no GPU: using the CPU engine") || !strings.Contains(out, missing) {
			t.Fatalf("exit %d, want 0 and a line saying why the CPU engine:\n%s", code, out)
		}
		r := readResult(t, dir)
		if r.Status != metrics.StatusSuccess || len(r.Epochs) != 2 {
			t.Fatalf("result.json: status %q, %d epochs", r.Status, len(r.Epochs))
		}
		checkDevices(t, r, []string{"cpu"})
	})
}

// TestRunDeviceBogus: an unknown --device is a usage error before anything
// is written.
func TestRunDeviceBogus(t *testing.T) {
	var stdout, stderr bytes.Buffer
	dir := filepath.Join(t.TempDir(), "out")
	code := run(context.Background(), []string{"run", "earthquake", "--device", "bogus", "--out", dir}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), `--device "bogus"`) {
		t.Fatalf("exit %d, want %d naming --device \"bogus\"; stderr:\n%s", code, exitUsage, stderr.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("run directory %s: %v, want none", dir, err)
	}
}

// TestTrainBenchGPU runs train-bench on the emulated GPU: the JSON row
// names the device; a bad --device is a usage error.
func TestTrainBenchGPU(t *testing.T) {
	for _, kv := range emulatedDriverEnv(t) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := cmdTrainBench(context.Background(), []string{"--device", "gpu", "--model", "lstm-small", "--batch", "2", "--steps", "1", "--json"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r trainBenchResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if r.Device != "cuda:0 Fake H200" || r.Model != "lstm-small" || r.Batch != 2 || !(r.SamplesPerS > 0) {
		t.Fatalf("train-bench on the GPU: %+v", r)
	}
	errb.Reset()
	if code := cmdTrainBench(context.Background(), []string{"--device", "tpu"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), `--device "tpu"`) {
		t.Fatalf("--device tpu: exit %d, %s", code, errb.String())
	}
}

// TestDevicesGPUEngine: on the emulated device, `scibench devices` opens
// the GPU engine and says it is ready.
func TestDevicesGPUEngine(t *testing.T) {
	for _, kv := range emulatedDriverEnv(t) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	out, _ := runDevices(t)
	if !strings.Contains(out, "\nGPU engine: ready on cuda:0 Fake H200 (kernels compiled with NVRTC, cuBLAS loaded)\n") {
		t.Fatalf("devices on the emulated GPU:\n%s", out)
	}
}

// TestRunGPUUno runs candle-uno (two towers, their concatenation, keyed
// dropout, MC-dropout inference) with 2 workers on the emulated GPU and on
// the CPU, on small generated data, and compares the two.
func TestRunGPUUno(t *testing.T) {
	env := emulatedDriverEnv(t)
	bin := hdf5Binary(t, "candle-uno reads HDF5")
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	code, out := runBinaryEnv(t, bin, time.Minute, env, "data", "generate", "uno", "--out", data, "--rows", "64,16,16",
		"--cell-features", "40", "--drug-features", "60", "--name", "uno-small.h5")
	if code != 0 {
		t.Fatalf("data generate: exit %d\n%s", code, out)
	}
	args := func(device, out string) []string {
		return []string{"run", "uno", "--device", device, "--nproc", "2", "--out", out, "--data", data,
			"--config", filepath.Join("configs", "uno-smoke.yaml"), "--set", "file=uno-small.h5", "--set", "epochs=2",
			"--set", "dropout=0.1", "--set", "mc_passes=2", "--set", "cell_features=40", "--set", "drug_features=60",
			// the emulator's cost grows with the elements each kernel touches
			"--set", "hidden=8", "--set", "batch_size=8", "--set", "eval_batch=16"}
	}
	res := map[string]*metrics.Result{}
	for _, dev := range []string{"cpu", "gpu"} {
		dir := filepath.Join(tmp, dev)
		start := time.Now()
		code, out := runBinaryEnv(t, bin, 3*time.Minute, env, args(dev, dir)...)
		if code != 0 {
			t.Fatalf("--device %s: exit %d\n%s", dev, code, out)
		}
		t.Logf("%s: %v", dev, time.Since(start))
		res[dev] = readResult(t, dir)
	}
	checkDevices(t, res["gpu"], fakeDevices[:2])
	if _, ok := res["gpu"].Metrics["mc_val_mse_mean"]; !ok {
		t.Fatalf("no MC-dropout metrics: %v", res["gpu"].Metrics)
	}
	compareRuns(t, res["cpu"], res["gpu"], 25)
}
