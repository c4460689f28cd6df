package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/scibench/scibench/kernels"
)

// The GPU test kit (pkg/gpu and pkg/gpu/gpunn): fake CUDA libraries built
// from pkg/gpu/testdata with the host's C and C++ compilers, and the host
// emulator that runs the kernels of package kernels on the CPU (each CUDA
// thread a POSIX thread) behind the fake libcuda's cuLaunchKernel.

// EmuSource is an extra CUDA translation unit for the emulator (a
// test-only kernel).
type EmuSource struct{ Name, Src string }

// sharedRE matches a dynamic shared-memory declaration, which the emulator
// turns into a pointer to the block's shared memory.
var sharedRE = regexp.MustCompile(`extern __shared__ (\w+) (\w+)\[\];`)

// EmulatorSource returns the C++ translation unit that compiles every
// kernel of package kernels (and extra) for the host, with one trampoline
// per kernel unpacking cuLaunchKernel's parameter array, and emu_lookup.
func EmulatorSource(extra ...EmuSource) (string, error) {
	var b strings.Builder
	b.WriteString("#include \"emu_prelude.h\"\n")
	var decls []kernels.Decl
	add := func(name, src string) {
		fmt.Fprintf(&b, "// ---- %s ----\n", name)
		b.WriteString(sharedRE.ReplaceAllString(src, "$1 *$2 = ($1 *)emu_dyn_shared();"))
		b.WriteString("\n")
		decls = append(decls, kernels.Parse(src)...)
	}
	for _, f := range kernels.Files() {
		src, err := kernels.Source(f)
		if err != nil {
			return "", err
		}
		add(f, src)
	}
	for _, e := range extra {
		add(e.Name, e.Src)
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
	return b.String(), nil
}

// Compilers returns the C and C++ compilers the kit needs, or why they
// are missing (a reason to skip).
func Compilers() (cc, cxx, missing string) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return "", "", "no C compiler (cc) to build the fake CUDA libraries"
	}
	if cxx, err = exec.LookPath("g++"); err != nil {
		if cxx, err = exec.LookPath("c++"); err != nil {
			return cc, "", "no C++ compiler (g++ or c++) to build the kernel emulator"
		}
	}
	return cc, cxx, ""
}

// compile runs one compiler command with its output in the error.
func compile(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
	}
	return nil
}

// EmulatorObjects writes the emulator's kernel unit into dir and compiles
// it and testdata/emu_runtime.cpp with cxx; it returns the object files.
func EmulatorObjects(cxx, dir, testdata string, extra ...EmuSource) ([]string, error) {
	src, err := EmulatorSource(extra...)
	if err != nil {
		return nil, err
	}
	gen := filepath.Join(dir, "emu_kernels.cpp")
	if err := writeFile(gen, src); err != nil {
		return nil, err
	}
	var objs []string
	for _, s := range []string{gen, filepath.Join(testdata, "emu_runtime.cpp")} {
		obj := strings.TrimSuffix(filepath.Join(dir, filepath.Base(s)), ".cpp") + ".o"
		if err := compile(cxx, "-std=c++17", "-O1", "-fPIC", "-Wall", "-Wno-unused-function", "-I", testdata, "-c", "-o", obj, s); err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// LinkEmulatedCuda compiles testdata/fakecuda.c (with defs) and links it
// with the emulator objects into dir/libfakecuda-emu.so.
func LinkEmulatedCuda(cc, cxx, dir, testdata string, objs []string, defs ...string) (string, error) {
	fo := filepath.Join(dir, "fakecuda.o")
	if err := compile(cc, append([]string{"-fPIC", "-O1", "-c", "-o", fo, filepath.Join(testdata, "fakecuda.c")}, defs...)...); err != nil {
		return "", err
	}
	lib := filepath.Join(dir, "libfakecuda-emu.so")
	args := append(append([]string{"-shared", "-o", lib, fo}, objs...), "-lpthread")
	return lib, compile(cxx, args...)
}

// BuildCLib compiles testdata/<src> (with defs) into dir/lib<name>.so.
func BuildCLib(cc, dir, testdata, src string, defs ...string) (string, error) {
	lib := filepath.Join(dir, "lib"+strings.TrimSuffix(src, ".c")+".so")
	return lib, compile(cc, append([]string{"-shared", "-fPIC", "-O1", "-o", lib, filepath.Join(testdata, src)}, defs...)...)
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

// emuLibs caches the emulated driver of this test binary.
var emuLibs struct {
	once                sync.Once
	dir                 string
	cuda, nvrtc, cublas string
	skip                string
	err                 error
}

// EmulatedDriver builds, once per test binary, the three fake libraries
// of the emulated device from testdata (pkg/gpu/testdata): a libcuda whose
// launches run the kernels compiled for the host, a fake libnvrtc and a
// libcublas with naive SGEMM. It returns their paths, for gpu.LibEnv,
// gpu.NVRTCLibEnv and gpu.CUBLASLibEnv; skip says why they cannot be
// built here (no compiler). Call RemoveEmulator from TestMain.
func EmulatedDriver(testdata string) (cuda, nvrtc, cublas, skip string, err error) {
	e := &emuLibs
	e.once.Do(func() {
		cc, cxx, missing := Compilers()
		if missing != "" {
			e.skip = missing
			return
		}
		if e.dir, e.err = os.MkdirTemp("", "scibench-gpu-emu-"); e.err != nil {
			return
		}
		td, _ := filepath.Abs(testdata)
		objs, err := EmulatorObjects(cxx, e.dir, td)
		if err != nil {
			e.err = err
			return
		}
		if e.cuda, e.err = LinkEmulatedCuda(cc, cxx, e.dir, td, objs); e.err != nil {
			return
		}
		if e.nvrtc, e.err = BuildCLib(cc, e.dir, td, "fakenvrtc.c"); e.err != nil {
			return
		}
		e.cublas, e.err = BuildCLib(cc, e.dir, td, "fakecublas.c")
	})
	return e.cuda, e.nvrtc, e.cublas, e.skip, e.err
}

// RemoveEmulator deletes what EmulatedDriver built.
func RemoveEmulator() {
	if emuLibs.dir != "" {
		os.RemoveAll(emuLibs.dir)
	}
}
