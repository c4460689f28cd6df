package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/energy"
	"github.com/scibench/scibench/pkg/gpu"
)

func runDevices(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), append([]string{"devices"}, args...), &out, &errb); code != exitOK {
		t.Fatalf("devices %v: exit %d, stderr %q", args, code, errb.String())
	}
	return out.String(), errb.String()
}

func TestDevicesThisMachine(t *testing.T) {
	t.Setenv(gpu.LibEnv, "")
	out, _ := runDevices(t)
	if strings.Contains(out, "gpu 0:") {
		t.Logf("GPU present: %s", out)
		return
	}
	if !strings.HasPrefix(out, "no GPU: ") || !strings.Contains(out, "libcuda") || !strings.Contains(out, "scibench uses the CPU engine\n") ||
		strings.Contains(out, "gpu: no GPU") || !strings.Contains(out, "\nenergy: ") || strings.Contains(out, "energy: energy") {
		t.Fatalf("output %q", out)
	}
	jout, _ := runDevices(t, "--json")
	var obj map[string]string
	if err := json.Unmarshal([]byte(jout), &obj); err != nil || !strings.Contains(obj["error"], "no GPU") || obj["engine"] != "cpu" {
		t.Fatalf("json %q: %v", jout, err)
	}
}

func TestDevicesBadLibrary(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "libcuda.so.1")
	if err := os.WriteFile(bad, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(gpu.LibEnv, bad)
	out, _ := runDevices(t)
	if !strings.HasPrefix(out, "no GPU: ") || !strings.Contains(out, bad) {
		t.Fatalf("output %q", out)
	}
}

func TestDevicesUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"devices", "extra"}, &out, &errb); code != exitUsage {
		t.Fatalf("exit %d", code)
	}
	if code := run(context.Background(), []string{"devices", "--bogus"}, &out, &errb); code != exitUsage {
		t.Fatalf("exit %d", code)
	}
}

// TestDevicesFakeDriver lists the two devices of the fake libcuda that
// pkg/gpu's tests use, built here with cc.
func TestDevicesFakeDriver(t *testing.T) {
	if runtime.GOOS != "linux" || !(runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
		t.Skipf("run-time loading is not built on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build the fake libcuda")
	}
	lib := filepath.Join(t.TempDir(), "libfakecuda.so")
	if b, err := exec.Command(cc, "-shared", "-fPIC", "-o", lib, "../../pkg/gpu/testdata/fakecuda.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, b)
	}
	t.Setenv(gpu.LibEnv, lib)
	nvml := filepath.Join(t.TempDir(), "libfakenvml.so")
	if b, err := exec.Command(cc, "-shared", "-fPIC", "-o", nvml, "../../pkg/energy/testdata/fakenvml.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, b)
	}
	t.Setenv(energy.NVMLLibEnv, nvml)
	out, _ := runDevices(t)
	want := "gpu 0: Fake H200, 40.0 GiB, compute capability 9.0\n" +
		"gpu 1: Fake A100-SXM4-40GB, 80.0 GiB, compute capability 8.0\n" +
		"CUDA driver 12.4 (" + lib + ")\n" +
		// no kernels in this fake driver: the engine cannot open
		"GPU engine: not usable: gpu: device 0 (Fake H200): "
	if !strings.HasPrefix(out, want) {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	// then RAPL's zones, or why not, depending on the machine
	if !strings.Contains(out, "(runs use the CPU engine)\nenergy: nvml:0 (counter), nvml:1 (counter)") {
		t.Fatalf("got\n%s\nwant the engine line, then the energy sources", out)
	}
	jout, _ := runDevices(t, "--json")
	lines := strings.Split(strings.TrimSpace(jout), "\n")
	if len(lines) != 2 {
		t.Fatalf("json lines %q", jout)
	}
	for i, l := range lines {
		var d devicesLine
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		if d.Index != i || d.DriverVersion != "12.4" || d.MemoryBytes != uint64(40*(i+1))<<30+1 || d.Compute != []string{"9.0", "8.0"}[i] {
			t.Fatalf("line %d: %+v", i, d)
		}
	}
}

func TestDeviceSummary(t *testing.T) {
	for _, c := range []struct {
		devs []string
		want string
	}{
		{[]string{"cpu"}, "cpu"},
		{[]string{"cpu", "cpu"}, "cpu"},
		{[]string{"cuda:0 H200", "cuda:1 H200", "cuda:0 H200"}, "2× cuda:0 H200, 1× cuda:1 H200"},
	} {
		if got := deviceSummary(c.devs); got != c.want {
			t.Errorf("deviceSummary(%q) = %q, want %q", c.devs, got, c.want)
		}
	}
}

func TestBindDevices(t *testing.T) {
	for _, c := range []struct {
		visible string
		n       int
		want    []string // workers 0..len-1
	}{
		{"", 2, []string{"0", "1", "0"}},
		{"2,3", 2, []string{"2", "3"}},
		{" GPU-aa , GPU-bb ", 2, []string{"GPU-aa", "GPU-bb"}},
	} {
		f := bindDevices(c.visible, c.n)
		for r, w := range c.want {
			if got := f(r); len(got) != 1 || got[0] != "CUDA_VISIBLE_DEVICES="+w {
				t.Errorf("bindDevices(%q, %d)(%d) = %q, want CUDA_VISIBLE_DEVICES=%s", c.visible, c.n, r, got, w)
			}
		}
	}
}
