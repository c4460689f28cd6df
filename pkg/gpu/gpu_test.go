package gpu

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// fakeDriver is a Go implementation of driverAPI with configurable devices
// and failures.
type fakeDriver struct {
	names   []string
	mem     []uint64
	cc      [][2]int32
	initRC  int32
	countRC int32
	failAt  string // call name that returns failRC
	failRC  int32
}

func (f *fakeDriver) api() *driverAPI {
	rc := func(call string) int32 {
		if f.failAt == call {
			return f.failRC
		}
		return 0
	}
	return &driverAPI{
		init:          func(uint32) int32 { return f.initRC },
		driverVersion: func(v *int32) int32 { *v = 12040; return rc("cuDriverGetVersion") },
		deviceCount: func(n *int32) int32 {
			*n = int32(len(f.names))
			return f.countRC
		},
		deviceGet: func(d *int32, i int32) int32 { *d = i; return rc("cuDeviceGet") },
		deviceName: func(p *byte, n int32, d int32) int32 {
			b := unsafe.Slice(p, n)
			copy(b[:n-1], f.names[d])
			return rc("cuDeviceGetName")
		},
		totalMem: func(m *uint64, d int32) int32 { *m = f.mem[d]; return rc("cuDeviceTotalMem_v2") },
		attribute: func(v *int32, a int32, d int32) int32 {
			switch a {
			case attrComputeCapabilityMajor:
				*v = f.cc[d][0]
			case attrComputeCapabilityMinor:
				*v = f.cc[d][1]
			default:
				return 1
			}
			return rc("cuDeviceGetAttribute")
		},
	}
}

func TestProbeAPIRandomDevices(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		n := 1 + r.IntN(8)
		f := &fakeDriver{}
		for i := range n {
			f.names = append(f.names, strings.Repeat("G", 1+r.IntN(40))+string(rune('A'+i)))
			f.mem = append(f.mem, r.Uint64())
			f.cc = append(f.cc, [2]int32{int32(r.IntN(12)), int32(r.IntN(10))})
		}
		info, err := probeAPI(f.api(), "fake")
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if info.DriverVersion != 12040 || info.DriverVersionString() != "12.4" || len(info.Devices) != n {
			t.Fatalf("trial %d: info %+v", trial, info)
		}
		for i, d := range info.Devices {
			want := Device{Index: i, Name: f.names[i], MemoryBytes: f.mem[i], Major: int(f.cc[i][0]), Minor: int(f.cc[i][1])}
			if d != want {
				t.Fatalf("trial %d device %d: got %+v want %+v", trial, i, d, want)
			}
		}
	}
}

func TestProbeAPIErrors(t *testing.T) {
	one := fakeDriver{names: []string{"X"}, mem: []uint64{1}, cc: [][2]int32{{8, 0}}}
	cases := []struct {
		name   string
		mod    func(f *fakeDriver)
		noGPU  bool
		substr string
	}{
		{"init no device", func(f *fakeDriver) { f.initRC = 100 }, true, "cuInit: CUDA_ERROR_NO_DEVICE (100)"},
		{"init stub", func(f *fakeDriver) { f.initRC = 34 }, true, "cuInit: CUDA_ERROR_STUB_LIBRARY"},
		{"count no device", func(f *fakeDriver) { f.countRC = 100 }, true, "cuDeviceGetCount: CUDA_ERROR_NO_DEVICE"},
		{"zero devices", func(f *fakeDriver) { f.names = nil }, true, "0 devices"},
		{"count fails", func(f *fakeDriver) { f.countRC = 3 }, false, "cuDeviceGetCount: CUDA_ERROR_NOT_INITIALIZED"},
		{"version fails", func(f *fakeDriver) { f.failAt, f.failRC = "cuDriverGetVersion", 999 }, false, "cuDriverGetVersion: CUDA_ERROR_UNKNOWN"},
		{"name fails", func(f *fakeDriver) { f.failAt, f.failRC = "cuDeviceGetName", 101 }, false, "device 0: cuDeviceGetName: CUDA_ERROR_INVALID_DEVICE"},
		{"mem fails", func(f *fakeDriver) { f.failAt, f.failRC = "cuDeviceTotalMem_v2", 7777 }, false, "cuDeviceTotalMem_v2: CUDA_ERROR_7777 (7777)"},
		{"attr fails", func(f *fakeDriver) { f.failAt, f.failRC = "cuDeviceGetAttribute", 1 }, false, "COMPUTE_CAPABILITY_MAJOR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := one
			c.mod(&f)
			_, err := probeAPI(f.api(), "fake")
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrNoGPU) != c.noGPU || errors.Is(err, ErrDriver) == c.noGPU {
				t.Fatalf("ErrNoGPU=%v ErrDriver=%v, want noGPU %v: %v", errors.Is(err, ErrNoGPU), errors.Is(err, ErrDriver), c.noGPU, err)
			}
			var ce *CUDAError
			if c.substr != "0 devices" && !errors.As(err, &ce) {
				t.Fatalf("no *CUDAError in %v", err)
			}
			if !strings.Contains(err.Error(), c.substr) {
				t.Fatalf("error %q lacks %q", err, c.substr)
			}
		})
	}
}

func TestSelectFrom(t *testing.T) {
	devs := []Device{{Index: 0}, {Index: 1}, {Index: 2}}
	for rank := range 10 {
		d, err := selectFrom(devs, rank)
		if err != nil || d.Index != rank%3 {
			t.Fatalf("rank %d: %+v %v", rank, d, err)
		}
	}
	if _, err := selectFrom(devs, -1); err == nil {
		t.Fatal("negative rank accepted")
	}
	if _, err := selectFrom(nil, 0); !errors.Is(err, ErrNoGPU) {
		t.Fatalf("no devices: %v", err)
	}
	if _, err := Select(-1); err == nil || !strings.Contains(err.Error(), "-1") {
		t.Fatalf("Select(-1): %v", err)
	}
}

func TestCString(t *testing.T) {
	b := append([]byte(" NVIDIA H200 \x00"), "junk"...)
	if got := cString(b); got != "NVIDIA H200" {
		t.Fatalf("got %q", got)
	}
	if got := cString([]byte("abc")); got != "abc" {
		t.Fatalf("got %q", got)
	}
}

// TestProbeThisMachine: on a machine without the driver, Probe must return
// ErrNoGPU naming libcuda; with a driver it must list at least one device.
func TestProbeThisMachine(t *testing.T) {
	t.Setenv(LibEnv, "")
	info, err := Probe()
	if err == nil {
		if len(info.Devices) == 0 {
			t.Fatal("Probe succeeded with 0 devices")
		}
		t.Logf("driver %s: %+v", info.DriverVersionString(), info.Devices)
		return
	}
	if !errors.Is(err, ErrNoGPU) {
		t.Fatalf("error does not wrap ErrNoGPU: %v", err)
	}
	if !strings.Contains(err.Error(), "libcuda") {
		t.Fatalf("reason does not name libcuda: %v", err)
	}
	if _, err := Select(0); !errors.Is(err, ErrNoGPU) {
		t.Fatalf("Select(0): %v", err)
	}
	t.Logf("no GPU here, as expected on CPU-only machines: %v", err)
}

func TestProbeBadLibrary(t *testing.T) {
	dir := t.TempDir()
	notLib := filepath.Join(dir, "libcuda.so.1")
	if err := os.WriteFile(notLib, []byte("this is not an ELF file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{
		"text file": notLib,
		"missing":   filepath.Join(dir, "nope.so"),
	}
	for name, p := range paths {
		t.Run(name, func(t *testing.T) {
			t.Setenv(LibEnv, p)
			_, err := Probe()
			if !errors.Is(err, ErrNoGPU) {
				t.Fatalf("want ErrNoGPU, got %v", err)
			}
			if runtime.GOOS == "linux" && !strings.Contains(err.Error(), LibEnv+"="+p) {
				t.Fatalf("error does not name the path: %v", err)
			}
		})
	}
}

// buildFake compiles testdata/fakecuda.c into a shared library with cc.
func buildFake(t *testing.T, defs ...string) string {
	t.Helper()
	if runtime.GOOS != "linux" || !(runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
		t.Skipf("run-time loading is not built on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build the fake libcuda: skipping the dlopen round trip")
	}
	out := filepath.Join(t.TempDir(), "libfakecuda.so")
	args := append([]string{"-shared", "-fPIC", "-O1", "-o", out, "testdata/fakecuda.c"}, defs...)
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("cc %v: %v\n%s", args, err, b)
	}
	return out
}

func TestProbeFakeLibrary(t *testing.T) {
	t.Setenv(LibEnv, buildFake(t))
	info, err := Probe()
	if err != nil {
		t.Fatal(err)
	}
	want := []Device{
		{Index: 0, Name: "Fake H200", MemoryBytes: 40<<30 + 1, Major: 9, Minor: 0},
		{Index: 1, Name: "Fake A100-SXM4-40GB", MemoryBytes: 80<<30 + 1, Major: 8, Minor: 0},
	}
	if info.DriverVersion != 12040 || len(info.Devices) != 2 || info.Devices[0] != want[0] || info.Devices[1] != want[1] {
		t.Fatalf("got %+v", info)
	}
	for rank := range 5 {
		d, err := Select(rank)
		if err != nil || d != want[rank%2] {
			t.Fatalf("Select(%d) = %+v, %v", rank, d, err)
		}
	}
}

func TestProbeFakeLibraryFailures(t *testing.T) {
	t.Run("init no device", func(t *testing.T) {
		t.Setenv(LibEnv, buildFake(t, "-DINIT_RC=100"))
		_, err := Probe()
		if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), "cuInit: CUDA_ERROR_NO_DEVICE") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("zero devices", func(t *testing.T) {
		t.Setenv(LibEnv, buildFake(t, "-DNDEV=0"))
		_, err := Probe()
		if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), "0 devices") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("library without cuInit", func(t *testing.T) {
		// libm is a real shared library that lacks the driver symbols.
		if runtime.GOOS != "linux" {
			t.Skip("libm.so.6 path is Linux-specific")
		}
		t.Setenv(LibEnv, "libm.so.6")
		_, err := Probe()
		if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), "symbol cuInit") {
			t.Fatalf("got %v", err)
		}
	})
}
