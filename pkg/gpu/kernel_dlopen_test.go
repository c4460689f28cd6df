//go:build linux && (amd64 || arm64)

package gpu

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/scibench/scibench/kernels"
)

// TestLoadKernelsArch: the architecture follows the device and what NVRTC
// offers, every kernel of the table is looked up, and Close unloads.
func TestLoadKernelsArch(t *testing.T) {
	cases := []struct {
		name      string
		defs      []string
		rank      int
		wantArch  string
		wantCubin bool
	}{
		{"H200 CUBIN", nil, 0, "sm_90", true},
		{"A100 CUBIN", nil, 1, "sm_80", true},
		{"no CUBIN: PTX", []string{"-DNO_CUBIN"}, 0, "compute_90", false},
		{"no arch list", []string{"-DNO_ARCHS"}, 0, "sm_90", true},
		{"NVRTC 11.0", []string{"-DNO_ARCHS", "-DNO_CUBIN"}, 1, "compute_80", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := openKit(t, kitOptions{nvrtcDefs: tc.defs})
			c := mustOpen(t, Config{LocalRank: tc.rank})
			m, err := c.LoadKernels(KernelConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Arch() != tc.wantArch {
				t.Fatalf("arch %s, want %s", m.Arch(), tc.wantArch)
			}
			if got := k.lastOptions(); got != "--gpu-architecture="+tc.wantArch {
				t.Fatalf("NVRTC options %q", got)
			}
			for _, kk := range kernels.Table {
				f, err := m.Function(kk.Name)
				if err != nil {
					t.Fatal(err)
				}
				if f.Name() != kk.Name || f.Kernel().Params != kk.Params {
					t.Fatalf("function %s: %+v", kk.Name, f.Kernel())
				}
			}
			if len(m.Names()) != len(kernels.Table) {
				t.Fatalf("%d functions, want %d", len(m.Names()), len(kernels.Table))
			}
			if li := k.lastLaunch(); li.modules != int64(len(kernels.Files())) {
				t.Fatalf("%d modules loaded, want one per file (%d)", li.modules, len(kernels.Files()))
			}
			if _, err := m.Function("no_such_kernel"); err == nil || !strings.Contains(err.Error(), `"no_such_kernel"`) ||
				!strings.Contains(err.Error(), "device") {
				t.Fatalf("missing function: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if li := k.lastLaunch(); li.modules != 0 {
				t.Fatalf("%d modules still loaded after Close", li.modules)
			}
			if err := m.Unload(); err != nil {
				t.Fatalf("Unload after Close: %v", err)
			}
		})
	}
}

func TestLoadKernelsOptionsAndUnload(t *testing.T) {
	k := openKit(t, kitOptions{})
	c := mustOpen(t, Config{})
	m, err := c.LoadKernels(KernelConfig{Arch: "compute_75", Options: []string{"--use_fast_math", "-lineinfo"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := k.lastOptions(); got != "--gpu-architecture=compute_75\n--use_fast_math\n-lineinfo" {
		t.Fatalf("options %q", got)
	}
	if err := m.Unload(); err != nil {
		t.Fatal(err)
	}
	if err := m.Unload(); err != nil {
		t.Fatalf("second Unload: %v", err)
	}
	if li := k.lastLaunch(); li.modules != 0 {
		t.Fatalf("%d modules after Unload", li.modules)
	}
	if _, err := m.Function("relu_fwd_f32"); err == nil || !strings.Contains(err.Error(), "unloaded") {
		t.Fatalf("Function after Unload: %v", err)
	}
	if _, err := c.LoadKernels(KernelConfig{Arch: "gfx90a"}); err == nil || !strings.Contains(err.Error(), "gfx90a") {
		t.Fatalf("bad arch: %v", err)
	}
}

// TestCompileErrors: NVRTC's log reaches the caller with the file, the
// kernels and the options named.
func TestCompileErrors(t *testing.T) {
	openKit(t, kitOptions{})
	c := mustOpen(t, Config{})
	src := Source{File: "broken.cu", Text: "extern \"C\" __global__ void k(int n) {}\n#error broken on purpose\n",
		Kernels: []kernels.Kernel{{Name: "k", Params: "i"}}}
	_, err := c.LoadModule([]Source{src}, KernelConfig{})
	var ce *CompileError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCompile) {
		t.Fatalf("got %v, want a *CompileError", err)
	}
	if ce.File != "broken.cu" || len(ce.Kernels) != 1 || ce.Kernels[0] != "k" || ce.Arch != "sm_90" ||
		!strings.Contains(ce.Log, "broken.cu(2): error: #error broken on purpose") || ce.Err.Code != 6 {
		t.Fatalf("compile error %+v", ce)
	}
	for _, want := range []string{"broken.cu", "(kernels k)", "NVRTC_ERROR_COMPILATION", "broken.cu(2): error", "device 0 (Fake H200)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// an option NVRTC rejects: its log too
	_, err = c.LoadKernels(KernelConfig{Options: []string{"--no-such-option"}})
	if !errors.As(err, &ce) || !strings.Contains(ce.Log, "unrecognized option --no-such-option") || ce.Err.Code != 5 {
		t.Fatalf("bad option: %v", err)
	}
	// an architecture NVRTC does not know
	_, err = c.LoadKernels(KernelConfig{Arch: "sm_35"})
	if !errors.As(err, &ce) || !strings.Contains(ce.Log, "sm_35") || ce.File != kernels.Files()[0] {
		t.Fatalf("old arch: %v", err)
	}
}

// TestMissingKernel: a kernel of the table that the image lacks is an
// error naming it and its file.
func TestMissingKernel(t *testing.T) {
	k := openKit(t, kitOptions{})
	c := mustOpen(t, Config{})
	src := Source{File: "part.cu", Text: "extern \"C\" __global__ void present(int n) {}\n",
		Kernels: []kernels.Kernel{{Name: "present", Params: "i"}, {Name: "absent", Params: "i"}}}
	_, err := c.LoadModule([]Source{src}, KernelConfig{})
	if err == nil || !strings.Contains(err.Error(), `kernel "absent" not found in part.cu`) {
		t.Fatalf("got %v", err)
	}
	if li := k.lastLaunch(); li.modules != 0 {
		t.Fatalf("%d modules left loaded after the failure", li.modules)
	}
	dup := Source{File: "dup.cu", Text: src.Text, Kernels: []kernels.Kernel{{Name: "present"}, {Name: "present"}}}
	if _, err := c.LoadModule([]Source{dup}, KernelConfig{}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := c.LoadModule(nil, KernelConfig{}); err == nil {
		t.Fatal("no sources: no error")
	}
}

func TestNoNVRTC(t *testing.T) {
	openKit(t, kitOptions{})
	t.Setenv(NVRTCLibEnv, "/nonexistent/libnvrtc.so.12")
	c := mustOpen(t, Config{})
	_, err := c.LoadKernels(KernelConfig{})
	if !errors.Is(err, ErrNoNVRTC) || !strings.Contains(err.Error(), "/nonexistent/libnvrtc.so.12") ||
		!strings.Contains(err.Error(), NVRTCLibEnv) {
		t.Fatalf("got %v", err)
	}
}

// TestLaunchChecks: bad arguments and geometry are errors naming the
// kernel and the device, found before the driver is called.
func TestLaunchChecks(t *testing.T) {
	k := openKit(t, kitOptions{})
	c := mustOpen(t, Config{})
	other := mustOpen(t, Config{LocalRank: 1})
	m, err := c.LoadKernels(KernelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	relu, _ := m.Function("relu_fwd_f32")
	axpy, _ := m.Function("axpy_f32")
	bgc, _ := m.Function("bias_grad_channels_f32")
	x, _ := c.Alloc(64)
	freed, _ := c.Alloc(64)
	_ = freed.Free()
	foreign, _ := other.Alloc(64)
	lin := Linear(16, 32)
	cases := []struct {
		name, want string
		err        error
	}{
		{"count", "2 arguments, want 3", s.Launch(relu, lin, x, x)},
		{"kind", "argument 1 (float64): is a double (float64), the kernel wants a float (float32)", s.Launch(axpy, lin, x, 2.0, x, 16)},
		{"int range", "does not fit the kernel's 32-bit int", s.Launch(relu, lin, x, x, 1<<40)},
		{"type", "unsupported type", s.Launch(relu, lin, x, x, "16")},
		{"nil buffer", "argument 0 (*gpu.Buffer): buffer is nil", s.Launch(relu, lin, (*Buffer)(nil), x, 16)},
		{"freed", "was freed", s.Launch(relu, lin, x, freed, 16)},
		{"foreign", "belongs to another context", s.Launch(relu, lin, foreign, x, 16)},
		{"offset", "offset 64 outside the buffer of 64 bytes", s.Launch(relu, lin, x.At(64), x, 16)},
		{"grid 0", "at least 1", s.Launch(relu, LaunchConfig{Block: Dim3{X: 32}}, x, x, 16)},
		{"block", "block too large", s.Launch(relu, LaunchConfig{Grid: Dim3{X: 1}, Block: Dim3{X: 2048}}, x, x, 16)},
		{"pow2", "power of two", s.Launch(bgc, LaunchConfig{Grid: Dim3{X: 1}, Block: Dim3{X: 48}}, x, x, 1, 1, 1)},
		{"shared", "needs 512 bytes of shared memory", s.Launch(bgc, LaunchConfig{Grid: Dim3{X: 1}, Block: Dim3{X: 64}, Shared: 8}, x, x, 1, 1, 1)},
		{"nil kernel", "kernel is nil", s.Launch(nil, lin)},
	}
	for _, tc := range cases {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || !strings.Contains(tc.err.Error(), "device 0 (Fake H200)") {
			t.Errorf("%s: got %v, want %q naming the device", tc.name, tc.err, tc.want)
		}
		if tc.err != nil && tc.name != "nil kernel" && !strings.Contains(tc.err.Error(), "kernel") {
			t.Errorf("%s: %v does not name the kernel", tc.name, tc.err)
		}
	}
	if li := k.lastLaunch(); li.launches != 0 {
		t.Fatalf("%d launches reached the driver", li.launches)
	}
	// good launches: geometry, default shared memory and stream reach the driver
	if err := s.Launch(relu, Linear(1000, 128), x, x.At(4), int32(15)); err != nil {
		t.Fatal(err)
	}
	if li := k.lastLaunch(); li.name != "relu_fwd_f32" || li.dims != [7]uint32{8, 1, 1, 128, 1, 1, 0} || li.stream != s.h {
		t.Fatalf("launch %+v", li)
	}
	if err := s.Launch(bgc, LaunchConfig{Grid: Dim3{X: 3}, Block: Dim3{X: 64}}, x, x, 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	if li := k.lastLaunch(); li.dims != [7]uint32{3, 1, 1, 64, 1, 1, 512} {
		t.Fatalf("shared memory default: %+v", li)
	}
	if err := s.Synchronize(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := Linear(1<<40, 256); got.Grid.X != MaxGridX || got.Block.X != 256 {
		t.Fatalf("Linear caps the grid: %+v", got)
	}
	if err := m.Unload(); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch(relu, lin, x, x, 16); err == nil || !strings.Contains(err.Error(), "unloaded") {
		t.Fatalf("launch after Unload: %v", err)
	}
}

// TestLaunchFaults: a failing launch names the kernel; a sticky error (a
// kernel fault) loses the device, at launch or at the next Synchronize.
func TestLaunchFaults(t *testing.T) {
	setup := func(t *testing.T) (*kit, *Context, *Stream, *Function, *Buffer) {
		k := openKit(t, kitOptions{})
		c := mustOpen(t, Config{})
		m, err := c.LoadKernels(KernelConfig{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		f, _ := m.Function("fill_f32")
		x, _ := c.Alloc(64)
		return k, c, s, f, x
	}
	t.Run("out of resources", func(t *testing.T) {
		k, _, s, f, x := setup(t)
		k.fail("cuLaunchKernel", 701, 0, 0)
		err := s.Launch(f, Linear(16, 32), x, float32(1), 16)
		if !errors.Is(err, ErrDriver) || errors.Is(err, ErrDeviceLost) ||
			!strings.Contains(err.Error(), "kernel fill_f32 (elementwise.cu) grid {1 1 1} block {32 1 1}") ||
			!strings.Contains(err.Error(), "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES") {
			t.Fatalf("got %v", err)
		}
		if err := s.Launch(f, Linear(16, 32), x, float32(1), 16); err != nil {
			t.Fatalf("after a non-sticky failure: %v", err)
		}
	})
	t.Run("launch failed", func(t *testing.T) {
		k, c, s, f, x := setup(t)
		k.fail("cuLaunchKernel", 719, 0, 1)
		err := s.Launch(f, Linear(16, 32), x, float32(1), 16)
		if !errors.Is(err, ErrDeviceLost) || !strings.Contains(err.Error(), "fill_f32") {
			t.Fatalf("got %v", err)
		}
		if _, err := c.Alloc(4); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("after a lost device: %v", err)
		}
	})
	t.Run("fault found by Synchronize", func(t *testing.T) {
		k, c, s, f, x := setup(t)
		if err := s.Launch(f, Linear(16, 32), x, float32(1), 16); err != nil {
			t.Fatal(err)
		}
		k.fail("cuStreamQuery", 700, 0, 1) // an illegal address inside the kernel
		err := s.Synchronize(context.Background())
		if !errors.Is(err, ErrDeviceLost) || !strings.Contains(err.Error(), "CUDA_ERROR_ILLEGAL_ADDRESS") {
			t.Fatalf("got %v", err)
		}
		if err := s.Launch(f, Linear(16, 32), x, float32(1), 16); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("launch after the fault: %v", err)
		}
		_ = c.Close()
	})
	t.Run("hung kernel", func(t *testing.T) {
		k, _, s, f, x := setup(t)
		k.setStreamPolls(-1) // the kernel never finishes
		if err := s.Launch(f, Linear(16, 32), x, float32(1), 16); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20e6)
		defer cancel()
		if err := s.Synchronize(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "Fake H200") {
			t.Fatalf("got %v", err)
		}
	})
}

// TestArgumentPacking runs the probe kernel on the emulator: each argument
// arrives with its type and value (ints and floats in 4 bytes, doubles and
// pointers in 8, pointer offsets applied).
func TestArgumentPacking(t *testing.T) {
	openKit(t, kitOptions{emulate: true})
	c := mustOpen(t, Config{})
	probe := Source{File: "probe.cu", Text: probeSource, Kernels: []kernels.Kernel{probeKernel}}
	m, err := c.LoadModule([]Source{probe}, KernelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Function("probe_args")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := c.Alloc(8 * 8)
	in, _ := c.Alloc(16)
	if err := c.CopyHtoD(in, Float32Bytes([]float32{1, 2, -3.25, 4})); err != nil {
		t.Fatal(err)
	}
	if err := s.Launch(f, LaunchConfig{Grid: Dim3{X: 2}, Block: Dim3{X: 3}}, out, -7, float32(2.5), 1e300, in.At(8), int32(math.MaxInt32)); err != nil {
		t.Fatal(err)
	}
	if err := s.Synchronize(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := make([]float64, 8)
	b := make([]byte, 64)
	if err := c.CopyDtoH(b, out); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = math.Float64frombits(uint64(b[8*i]) | uint64(b[8*i+1])<<8 | uint64(b[8*i+2])<<16 | uint64(b[8*i+3])<<24 |
			uint64(b[8*i+4])<<32 | uint64(b[8*i+5])<<40 | uint64(b[8*i+6])<<48 | uint64(b[8*i+7])<<56)
	}
	want := []float64{-7, 2.5, 1e300, -3.25, math.MaxInt32, 2, 3}
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("argument %d arrived as %v, want %v (all: %v)", i, got[i], w, got[:7])
		}
	}
	// without a table entry the kinds come from the Go types alone
	generic := &Function{m: f.m, h: f.h, k: kernels.Kernel{Name: "probe_args"}, file: "probe.cu"}
	if err := s.Launch(generic, Linear(1, 32), out, int32(5), float32(-1), 0.5, in.At(0), 9); err != nil {
		t.Fatal(err)
	}
	if err := s.Synchronize(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.CopyDtoH(b, out); err != nil {
		t.Fatal(err)
	}
	if v := math.Float64frombits(uint64(b[16]) | uint64(b[17])<<8 | uint64(b[18])<<16 | uint64(b[19])<<24 | uint64(b[20])<<32 |
		uint64(b[21])<<40 | uint64(b[22])<<48 | uint64(b[23])<<56); v != 0.5 {
		t.Fatalf("generic launch: double arrived as %v", v)
	}
}

// TestPackArgsLayout: each argument fills its own 8-byte slot, the value
// in the low bytes as the kernel reads it (little endian), pointers with
// their offsets applied, NULL as 0.
func TestPackArgsLayout(t *testing.T) {
	openKit(t, kitOptions{})
	c := mustOpen(t, Config{})
	b, err := c.Alloc(64)
	if err != nil {
		t.Fatal(err)
	}
	f := &Function{k: kernels.Kernel{Name: "layout", Params: "pppiifd"}}
	slots := make([]argSlot, 7)
	if err := c.packArgs(f, []any{b, b.At(12), Null, -2, int32(7), float32(-1.5), 0.25}, slots); err != nil {
		t.Fatal(err)
	}
	want := []uint64{b.ptr, b.ptr + 12, 0, 0xfffffffe, 7, uint64(math.Float32bits(-1.5)), math.Float64bits(0.25)}
	for i := range want {
		if slots[i] != want[i] {
			t.Fatalf("slot %d = %#x, want %#x", i, slots[i], want[i])
		}
	}
}

// TestDriverWithoutKernelEntryPoints: a driver lacking cuLaunchKernel and
// friends still opens a Context; loading kernels names what is missing.
func TestDriverWithoutKernelEntryPoints(t *testing.T) {
	openKit(t, kitOptions{})
	t.Setenv(LibEnv, buildFake(t, "-DNO_KERNELS"))
	c := mustOpen(t, Config{})
	_, err := c.LoadKernels(KernelConfig{})
	if !errors.Is(err, ErrDriver) || !strings.Contains(err.Error(), "cuModuleLoadDataEx, cuModuleGetFunction, cuModuleUnload, cuLaunchKernel") {
		t.Fatalf("got %v", err)
	}
}
