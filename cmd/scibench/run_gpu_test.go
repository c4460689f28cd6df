//go:build linux && (amd64 || arm64)

package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scibench/scibench/kernels"
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
	if emu.dir != "" {
		os.RemoveAll(emu.dir)
	}
	os.Exit(code)
}

// emu is the emulated driver of this test binary, built once.
//
// pkg/internal/testutil.EmulatedDriver builds the same three libraries,
// but Go's internal-package rule keeps cmd/scibench from importing it, so
// this is a small builder of its own from the same sources (package
// kernels and pkg/gpu/testdata).
var emu struct {
	once sync.Once
	dir  string
	env  []string // LibEnv=..., NVRTCLibEnv=..., CUBLASLibEnv=...
	skip string
	err  error
}

// emuSharedRE matches a kernel's dynamic shared-memory declaration, which
// the emulator (emu_prelude.h) serves per block through emu_dyn_shared.
var emuSharedRE = regexp.MustCompile(`extern __shared__ (\w+) (\w+)\[\];`)

// emulatedDriverEnv returns the environment that points the binary at the
// emulated device; it skips t where no C/C++ compiler can build it.
func emulatedDriverEnv(t *testing.T) []string {
	t.Helper()
	emu.once.Do(func() { emu.env, emu.skip, emu.err = buildEmulator() })
	if emu.skip != "" {
		t.Skip(emu.skip)
	}
	if emu.err != nil {
		t.Fatalf("building the kernel emulator: %v", emu.err)
	}
	return emu.env
}

func buildEmulator() (env []string, skip string, err error) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return nil, "no C compiler (cc) to build the fake CUDA libraries", nil
	}
	cxx, err := exec.LookPath("g++")
	if err != nil {
		if cxx, err = exec.LookPath("c++"); err != nil {
			return nil, "no C++ compiler (g++ or c++) to build the kernel emulator", nil
		}
	}
	td, err := filepath.Abs(filepath.Join("..", "..", "pkg", "gpu", "testdata"))
	if err != nil {
		return nil, "", err
	}
	if emu.dir, err = os.MkdirTemp("", "scibench-run-gpu-emu-"); err != nil {
		return nil, "", err
	}
	dir := emu.dir
	// the kernels for the host, with one trampoline per kernel unpacking
	// cuLaunchKernel's parameter array, and emu_lookup
	var src strings.Builder
	src.WriteString("#include \"emu_prelude.h\"\n")
	var decls []kernels.Decl
	for _, f := range kernels.Files() {
		s, err := kernels.Source(f)
		if err != nil {
			return nil, "", err
		}
		src.WriteString(emuSharedRE.ReplaceAllString(s, "$1 *$2 = ($1 *)emu_dyn_shared();"))
		src.WriteString("\n")
		decls = append(decls, kernels.Parse(s)...)
	}
	src.WriteString("typedef void (*emu_tramp)(void **);\n")
	for _, d := range decls {
		args := make([]string, len(d.Params))
		for i, p := range d.Params {
			args[i] = fmt.Sprintf("*(%s *)a[%d]", p.Type, i)
		}
		fmt.Fprintf(&src, "static void tramp_%s(void **a) { %s(%s); }\n", d.Name, d.Name, strings.Join(args, ", "))
	}
	src.WriteString("extern \"C\" emu_tramp emu_lookup(const char *n) {\n")
	for _, d := range decls {
		fmt.Fprintf(&src, "\tif (!strcmp(n, %q)) return tramp_%s;\n", d.Name, d.Name)
	}
	src.WriteString("\treturn 0;\n}\n")
	gen := filepath.Join(dir, "emu_kernels.cpp")
	if err := os.WriteFile(gen, []byte(src.String()), 0o644); err != nil {
		return nil, "", err
	}
	compile := func(name string, args ...string) error {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
		}
		return nil
	}
	objs := []string{filepath.Join(dir, "emu_kernels.o"), filepath.Join(dir, "emu_runtime.o"), filepath.Join(dir, "fakecuda.o")}
	var errs [3]error
	var wg sync.WaitGroup
	for i, s := range []string{gen, filepath.Join(td, "emu_runtime.cpp")} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = compile(cxx, "-std=c++17", "-O1", "-fPIC", "-w", "-I", td, "-c", "-o", objs[i], s)
		}()
	}
	errs[2] = compile(cc, "-fPIC", "-O1", "-c", "-o", objs[2], filepath.Join(td, "fakecuda.c"))
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, "", err
		}
	}
	libs := map[string]string{gpu.LibEnv: filepath.Join(dir, "libfakecuda-emu.so"),
		gpu.NVRTCLibEnv: filepath.Join(dir, "libfakenvrtc.so"), gpu.CUBLASLibEnv: filepath.Join(dir, "libfakecublas.so")}
	if err := compile(cxx, append([]string{"-shared", "-o", libs[gpu.LibEnv]}, append(objs, "-lpthread")...)...); err != nil {
		return nil, "", err
	}
	for k, c := range map[string]string{gpu.NVRTCLibEnv: "fakenvrtc.c", gpu.CUBLASLibEnv: "fakecublas.c"} {
		if err := compile(cc, "-shared", "-fPIC", "-O1", "-o", libs[k], filepath.Join(td, c)); err != nil {
			return nil, "", err
		}
	}
	for k, p := range libs {
		env = append(env, k+"="+p)
	}
	return env, "", nil
}

// runBinaryEnv is runBinary with extra environment variables (KEY=value)
// after the scrubbed environment.
func runBinaryEnv(t *testing.T, bin string, timeout time.Duration, env []string, args ...string) (code int, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(scrubbedEnv(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("scibench %v: timed out after %v\n%s", args, timeout, buf.String())
	}
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // leave nothing behind
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), buf.String()
	} else if err != nil {
		t.Fatalf("scibench %v: %v", args, err)
	}
	return 0, buf.String()
}

// fakeDevices are the names `scibench run` reports for the fake libcuda's
// two devices (pkg/gpu/testdata/fakecuda.c, cuDeviceGetName); without
// CUDA_VISIBLE_DEVICES local rank r takes device r mod 2.
var fakeDevices = []string{"cuda:0 Fake H200", "cuda:1 Fake A100-SXM4-40GB"}

// gpuSmoke are the settings of every run here: the earthquake smoke
// config cut to what the emulator (one POSIX thread per CUDA thread) runs
// in seconds.
var gpuSmoke = []string{"--config", filepath.Join("configs", "earthquake-smoke.yaml"),
	"--set", "epochs=1", "--set", "pair_stride=512", "--set", "eval_stride=512"}

func runArgs(device string, nproc int, out, data string) []string {
	return append([]string{"run", "earthquake", "--device", device, "--nproc", fmt.Sprint(nproc), "--out", out, "--data", data}, gpuSmoke...)
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
	cpu := readResult(t, cpuDir)
	checkDevices(t, cpu, []string{"cpu"})

	for _, nproc := range []int{1, 2} {
		t.Run(fmt.Sprintf("gpu nproc %d", nproc), func(t *testing.T) {
			dir := filepath.Join(tmp, fmt.Sprintf("gpu%d", nproc))
			start := time.Now()
			code, out := runBinaryEnv(t, bin, 3*time.Minute, env, runArgs("gpu", nproc, dir, data)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, out)
			}
			t.Logf("gpu nproc %d: %v", nproc, time.Since(start))
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
			compareRuns(t, cpu, r)
		})
	}
}

// compareRuns checks the training loss of every epoch and every final
// metric of a GPU run against the CPU run.
func compareRuns(t *testing.T, cpu, dev *metrics.Result) {
	t.Helper()
	const tol = 1e-3
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
	if n < 60 {
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
