//go:build linux && (amd64 || arm64)

package gpu

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ebitengine/purego"

	"github.com/scibench/scibench/internal/testutil"
	"github.com/scibench/scibench/kernels"
)

// This file builds the fake libraries the kernel, NVRTC and cuBLAS tests
// load: testdata/fakecuda.c (optionally linked with the host emulator of
// the kernels), testdata/fakenvrtc.c and testdata/fakecublas.c.

// probeSource is a test-only kernel that writes its arguments back, to
// check the argument packing end to end on the emulator (and on a GPU).
const probeSource = `// CPU twin: none (test only).
extern "C" __global__ void probe_args(double *out, int i, float f, double d, const float *p, int j)
{
	if (blockIdx.x == 0 && threadIdx.x == 0) {
		out[0] = i; out[1] = f; out[2] = d; out[3] = p[0]; out[4] = j;
		out[5] = gridDim.x; out[6] = blockDim.x;
	}
}
`

// probeKernel is probeSource's table entry.
var probeKernel = kernels.Kernel{Name: "probe_args", File: "probe.cu", Params: "pifdpi", Twin: "none"}

var emu struct {
	once    sync.Once
	dir     string
	cc, cxx string
	objs    []string
	err     error
	skip    string
}

// emuObjects compiles the emulator runtime and the kernels (with
// probeSource) for the host once per test binary (testutil's GPU kit).
func emuObjects(t testing.TB) []string {
	t.Helper()
	emu.once.Do(func() {
		if emu.cc, emu.cxx, emu.skip = testutil.Compilers(); emu.skip != "" {
			return
		}
		if emu.dir, emu.err = os.MkdirTemp("", "scibench-gpu-emu-"); emu.err != nil {
			return
		}
		testdata, _ := filepath.Abs("testdata")
		emu.objs, emu.err = testutil.EmulatorObjects(emu.cxx, emu.dir, testdata, testutil.EmuSource{Name: "probe.cu", Src: probeSource})
	})
	if emu.skip != "" {
		t.Skip(emu.skip)
	}
	if emu.err != nil {
		t.Fatalf("building the kernel emulator: %v", emu.err)
	}
	return emu.objs
}

func TestMain(m *testing.M) {
	code := m.Run()
	if emu.dir != "" {
		os.RemoveAll(emu.dir)
	}
	os.Exit(code)
}

// buildEmuCuda builds a fresh fake libcuda whose launches run the kernels
// on the host.
func buildEmuCuda(t *testing.T, defs ...string) string {
	t.Helper()
	objs := emuObjects(t)
	lib, err := testutil.LinkEmulatedCuda(emu.cc, emu.cxx, t.TempDir(), "testdata", objs, defs...)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

// buildC builds testdata/<src> into a fresh shared library.
func buildC(t *testing.T, src string, defs ...string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build the fake libraries")
	}
	lib, err := testutil.BuildCLib(cc, t.TempDir(), "testdata", src, defs...)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

// kit is a fake driver, NVRTC and cuBLAS with their test controls.
type kit struct {
	*fakeCtl
	launchStats func(out *[2]int64, name *byte, dims *[7]uint32, stream *uintptr)
	nvrtcLast   func(out *byte, n int32) int64
	cublasLast  func(args *[12]int64, ab *[2]float32, ptrs *[4]uintptr) int64
	cublasFail  func(status int32)
}

// kitOptions chooses the fakes openKit builds.
type kitOptions struct {
	emulate   bool     // link the host emulator into the fake libcuda
	nvrtcDefs []string // -D flags for fakenvrtc.c (-DNO_CUBIN, -DNO_ARCHS)
}

// openKit builds fresh fakes, points LibEnv, NVRTCLibEnv and CUBLASLibEnv
// at them and returns their controls.
func openKit(t *testing.T, o kitOptions) *kit {
	t.Helper()
	var cuda string
	if o.emulate {
		cuda = buildEmuCuda(t)
	} else {
		cuda = buildFake(t)
	}
	nvrtc := buildC(t, "fakenvrtc.c", o.nvrtcDefs...)
	cublas := buildC(t, "fakecublas.c")
	t.Setenv(LibEnv, cuda)
	t.Setenv(NVRTCLibEnv, nvrtc)
	t.Setenv(CUBLASLibEnv, cublas)
	k := &kit{fakeCtl: &fakeCtl{}}
	h, err := purego.Dlopen(cuda, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	purego.RegisterLibFunc(&k.setMemLimit, h, "fake_set_mem_limit")
	purego.RegisterLibFunc(&k.setStreamPolls, h, "fake_set_stream_polls")
	purego.RegisterLibFunc(&k.fail, h, "fake_fail")
	purego.RegisterLibFunc(&k.stats, h, "fake_stats")
	purego.RegisterLibFunc(&k.launchStats, h, "fake_launch_stats")
	hn, err := purego.Dlopen(nvrtc, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	purego.RegisterLibFunc(&k.nvrtcLast, hn, "fake_nvrtc_last")
	hb, err := purego.Dlopen(cublas, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	purego.RegisterLibFunc(&k.cublasLast, hb, "fake_cublas_last")
	purego.RegisterLibFunc(&k.cublasFail, hb, "fake_cublas_fail")
	return k
}

// lastOptions returns the options of the last fake compilation.
func (k *kit) lastOptions() string {
	buf := make([]byte, 4096)
	k.nvrtcLast(&buf[0], int32(len(buf)))
	return cString(buf)
}

// lastLaunch returns the last launch the fake saw.
type launchInfo struct {
	modules, launches int64
	name              string
	dims              [7]uint32
	stream            uintptr
}

func (k *kit) lastLaunch() launchInfo {
	var out [2]int64
	name := make([]byte, 64)
	var li launchInfo
	k.launchStats(&out, &name[0], &li.dims, &li.stream)
	li.modules, li.launches, li.name = out[0], out[1], cString(name)
	return li
}

// EmulatedForTest opens a Context on a fake driver that runs the kernels
// on the host (compiled with the host C++ compiler) and loads every kernel
// of package kernels, for the CPU-twin tests of package gpu_test. It skips
// when no C or C++ compiler is installed.
func EmulatedForTest(t *testing.T) (*Context, *Module) {
	t.Helper()
	openKit(t, kitOptions{emulate: true})
	c := mustOpen(t, Config{})
	m, err := c.LoadKernels(KernelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}
