//go:build linux && (amd64 || arm64)

package gpunn

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/scibench/scibench/kernels"
	"github.com/scibench/scibench/pkg/gpu"
)

// The emulated device: pkg/gpu's test fakes (a libcuda whose launches run
// the kernels of package kernels compiled for the host by g++, each CUDA
// thread a POSIX thread; a fake libnvrtc; a libcublas computing SGEMM
// with naive loops), rebuilt here from ../testdata since pkg/gpu's helper
// EmulatedForTest lives in its own test files.

var sharedRE = regexp.MustCompile(`extern __shared__ (\w+) (\w+)\[\];`)

// emuSource is the C++ translation unit of every kernel with one
// trampoline each (unpacking cuLaunchKernel's parameters) and emu_lookup.
func emuSource(t testing.TB) string {
	var b strings.Builder
	b.WriteString("#include \"emu_prelude.h\"\n")
	var decls []kernels.Decl
	for _, f := range kernels.Files() {
		src, err := kernels.Source(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "// ---- %s ----\n%s\n", f, sharedRE.ReplaceAllString(src, "$1 *$2 = ($1 *)emu_dyn_shared();"))
		decls = append(decls, kernels.Parse(src)...)
	}
	b.WriteString("typedef void (*emu_tramp)(void **);\n")
	for _, d := range decls {
		fmt.Fprintf(&b, "static void tramp_%s(void **a) { %s(", d.Name, d.Name)
		for i, p := range d.Params {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*(%s *)a[%d]", p.Type, i)
		}
		b.WriteString("); }\n")
	}
	b.WriteString("extern \"C\" emu_tramp emu_lookup(const char *n) {\n")
	for _, d := range decls {
		fmt.Fprintf(&b, "\tif (!strcmp(n, %q)) return tramp_%s;\n", d.Name, d.Name)
	}
	b.WriteString("\treturn 0;\n}\n")
	return b.String()
}

var emu struct {
	once                sync.Once
	dir                 string
	cuda, nvrtc, cublas string
	skip                string
	err                 error
}

func run(name string, args ...string) error {
	if out, err := exec.Command("nice", append([]string{"-n", "10", name}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
	}
	return nil
}

// buildEmu builds the three fake libraries once per test binary.
func buildEmu(t testing.TB) {
	emu.once.Do(func() {
		cxx, err := exec.LookPath("g++")
		if err != nil {
			if cxx, err = exec.LookPath("c++"); err != nil {
				emu.skip = "no C++ compiler (g++ or c++) to build the kernel emulator"
				return
			}
		}
		if _, err := exec.LookPath("cc"); err != nil {
			emu.skip = "no C compiler (cc) to build the fake libraries"
			return
		}
		if emu.dir, emu.err = os.MkdirTemp("", "scibench-gpunn-emu-"); emu.err != nil {
			return
		}
		td, _ := filepath.Abs(filepath.Join("..", "testdata"))
		dir := emu.dir
		gen := filepath.Join(dir, "emu_kernels.cpp")
		if emu.err = os.WriteFile(gen, []byte(emuSource(t)), 0o644); emu.err != nil {
			return
		}
		var objs []string
		for _, src := range []string{gen, filepath.Join(td, "emu_runtime.cpp")} {
			obj := strings.TrimSuffix(filepath.Join(dir, filepath.Base(src)), ".cpp") + ".o"
			if emu.err = run(cxx, "-std=c++17", "-O1", "-fPIC", "-w", "-I", td, "-c", "-o", obj, src); emu.err != nil {
				return
			}
			objs = append(objs, obj)
		}
		fo := filepath.Join(dir, "fakecuda.o")
		if emu.err = run("cc", "-fPIC", "-O1", "-c", "-o", fo, filepath.Join(td, "fakecuda.c")); emu.err != nil {
			return
		}
		emu.cuda = filepath.Join(dir, "libfakecuda-emu.so")
		if emu.err = run(cxx, append(append([]string{"-shared", "-o", emu.cuda, fo}, objs...), "-lpthread")...); emu.err != nil {
			return
		}
		emu.nvrtc = filepath.Join(dir, "libfakenvrtc.so")
		if emu.err = run("cc", "-shared", "-fPIC", "-O1", "-o", emu.nvrtc, filepath.Join(td, "fakenvrtc.c")); emu.err != nil {
			return
		}
		emu.cublas = filepath.Join(dir, "libfakecublas.so")
		emu.err = run("cc", "-shared", "-fPIC", "-O1", "-o", emu.cublas, filepath.Join(td, "fakecublas.c"))
	})
	if emu.skip != "" {
		t.Skip(emu.skip)
	}
	if emu.err != nil {
		t.Fatalf("building the kernel emulator: %v", emu.err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if emu.dir != "" {
		os.RemoveAll(emu.dir)
	}
	os.Exit(code)
}

// emulated opens a Context on the emulated device with the kernels loaded,
// a stream and a cuBLAS handle; everything is closed at the end of t.
func emulated(t *testing.T) Config {
	t.Helper()
	buildEmu(t)
	t.Setenv(gpu.LibEnv, emu.cuda)
	t.Setenv(gpu.NVRTCLibEnv, emu.nvrtc)
	t.Setenv(gpu.CUBLASLibEnv, emu.cublas)
	c, err := gpu.Open(gpu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return openOn(t, c)
}

// openOn loads the kernels, a stream and a cuBLAS handle on c.
func openOn(t *testing.T, c *gpu.Context) Config {
	t.Helper()
	m, err := c.LoadKernels(gpu.KernelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	bl, err := c.NewBlas(s, gpu.BlasConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return Config{Context: c, Module: m, Stream: s, Blas: bl}
}
