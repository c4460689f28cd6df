package kernels

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTableMatchesSources: every kernel of Table is defined, extern "C"
// __global__, in its file with the parameter kinds the table gives, has a
// comment naming its CPU twin, and every kernel of the sources is in Table.
func TestTableMatchesSources(t *testing.T) {
	inSrc := map[string]Decl{}
	fileOf := map[string]string{}
	files := Files()
	if len(files) < 5 {
		t.Fatalf("only %d source files embedded: %v", len(files), files)
	}
	for _, f := range files {
		src, err := Source(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range Parse(src) {
			if prev, dup := fileOf[d.Name]; dup {
				t.Errorf("kernel %s defined in %s and %s", d.Name, prev, f)
			}
			inSrc[d.Name], fileOf[d.Name] = d, f
		}
	}
	for i := 1; i < len(Table); i++ {
		a, b := Table[i-1], Table[i]
		if a.File > b.File || a.File == b.File && a.Name >= b.Name {
			t.Errorf("Table not sorted by file then name at %s (%s), %s (%s)", a.Name, a.File, b.Name, b.File)
		}
	}
	seen := map[string]bool{}
	for _, k := range Table {
		if seen[k.Name] {
			t.Errorf("%s listed twice in Table", k.Name)
		}
		seen[k.Name] = true
		d, ok := inSrc[k.Name]
		if !ok {
			t.Errorf("%s (Table, file %s) is not defined in any source", k.Name, k.File)
			continue
		}
		if fileOf[k.Name] != k.File {
			t.Errorf("%s: Table says %s, defined in %s", k.Name, k.File, fileOf[k.Name])
		}
		if d.Kinds() != k.Params {
			t.Errorf("%s: Table kinds %q, source %q (%v)", k.Name, k.Params, d.Kinds(), d.Params)
		}
		twin := strings.FieldsFunc(k.Twin, func(r rune) bool { return r == ',' || r == ' ' })
		if len(twin) == 0 || !strings.Contains(d.Comment, "CPU twin:") || !strings.Contains(d.Comment, twin[0]) {
			t.Errorf("%s: the comment above it must say \"CPU twin:\" and name %q; it is %q", k.Name, k.Twin, d.Comment)
		}
		if k.SharedDoubles > 0 && !strings.Contains(src(t, k.File), "extern __shared__ double") {
			t.Errorf("%s: SharedDoubles set but %s declares no dynamic shared memory", k.Name, k.File)
		}
	}
	for name, f := range fileOf {
		if !seen[name] {
			t.Errorf("%s (in %s) is missing from Table", name, f)
		}
	}
	if _, ok := Lookup("relu_fwd_f32"); !ok {
		t.Error("Lookup(relu_fwd_f32) failed")
	}
	if _, ok := Lookup("no_such_kernel"); ok {
		t.Error("Lookup found a kernel that does not exist")
	}
	if _, err := Source("missing.cu"); err == nil || !strings.Contains(err.Error(), "missing.cu") {
		t.Errorf("Source(missing.cu): %v", err)
	}
}

func src(t *testing.T, f string) string {
	t.Helper()
	s, err := Source(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// twinRE matches a Go twin name: pkg.Func or pkg.Type.Method.
var twinRE = regexp.MustCompile(`^(nn|optim|tensor)\.(\w+)(?:\.(\w+))?$`)

// TestTwinsExist checks that each CPU twin named in Table exists in the Go
// sources (a text search of ../pkg/<package>), so a renamed twin is caught.
func TestTwinsExist(t *testing.T) {
	for _, k := range Table {
		for _, name := range strings.Split(k.Twin, ",") {
			name = strings.TrimSpace(name)
			if i := strings.Index(name, " ("); i >= 0 {
				name = name[:i]
			}
			m := twinRE.FindStringSubmatch(name)
			if m == nil {
				t.Errorf("%s: twin %q is not pkg.Func or pkg.Type.Method", k.Name, name)
				continue
			}
			dir := filepath.Join("..", "pkg", m[1])
			var re *regexp.Regexp
			if m[3] == "" {
				re = regexp.MustCompile(`(?m)^func ` + m[2] + `\(`)
			} else {
				re = regexp.MustCompile(`(?m)^func \(\w+ \*?` + m[2] + `\) ` + m[3] + `\(`)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
			if len(files) == 0 {
				t.Skipf("no Go sources in %s", dir)
			}
			found := false
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if re.Match(b) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: twin %s not found in %s", k.Name, name, dir)
			}
		}
	}
}

func TestParse(t *testing.T) {
	ds := Parse(`// one
// CPU twin: x.Y
extern "C" __global__ void k1(float *y, const float *x,
	int n, float a, double d)
{}
extern "C" __global__ void k2(void) {}
__global__ void hidden(int n) {}
`)
	if len(ds) != 2 || ds[0].Name != "k1" || ds[1].Name != "k2" {
		t.Fatalf("got %+v", ds)
	}
	if ds[0].Kinds() != "ppifd" || ds[0].Params[1].Type != "const float *" || ds[0].Params[1].Name != "x" {
		t.Fatalf("params %+v kinds %q", ds[0].Params, ds[0].Kinds())
	}
	if ds[0].Comment != "one\nCPU twin: x.Y" || len(ds[1].Params) != 0 {
		t.Fatalf("comment %q, k2 %+v", ds[0].Comment, ds[1])
	}
}

// clangPrelude declares what NVRTC gives a program without any include:
// the CUDA qualifiers, the builtin variables and clang's own declarations
// of the device math and intrinsic functions (it needs no CUDA
// installation with -nocudainc), and the atomics the kernels use.
const clangPrelude = `#define CUDA_VERSION 12000
#define __device__ __attribute__((device))
#define __global__ __attribute__((global))
#define __host__ __attribute__((host))
#define __shared__ __attribute__((shared))
#define __constant__ __attribute__((constant))
#define __forceinline__ __inline__ __attribute__((always_inline))
typedef __SIZE_TYPE__ size_t;
#define INT_MAX __INT_MAX__
#define INT_MIN (-__INT_MAX__ - 1)
#define HUGE_VAL __builtin_huge_val()
#define HUGE_VALF __builtin_huge_valf()
#include <__clang_cuda_builtin_vars.h>
#include <__clang_cuda_libdevice_declares.h>
#include <__clang_cuda_device_functions.h>
#include <__clang_cuda_math.h>
__device__ int atomicCAS(int *address, int compare, int val);
`

// TestSyntaxClang checks every source with clang's CUDA front end for
// sm_80 (device code only, no CUDA installation needed: see clangPrelude),
// which rejects what NVRTC would: undeclared or host-only functions in
// device code, wrong qualifiers, C++ errors. It runs when clang (or
// clang-16, which `make deps` installs) is found and skips otherwise;
// pkg/gpu's emulator tests compile the same sources with the host C++
// compiler, which is more lenient.
func TestSyntaxClang(t *testing.T) {
	var clang string
	for _, name := range []string{"clang", "clang-16", "clang-17", "clang-15", "clang-14"} {
		if p, err := exec.LookPath(name); err == nil {
			clang = p
			break
		}
	}
	if clang == "" {
		t.Skip("no clang: CUDA syntax check skipped (pkg/gpu compiles the kernels for the host emulator instead)")
	}
	dir := t.TempDir()
	prelude := filepath.Join(dir, "nvrtc_prelude.h")
	if err := os.WriteFile(prelude, []byte(clangPrelude), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(name, text string) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(clang, "-x", "cuda", "--cuda-device-only", "--cuda-gpu-arch=sm_80", "-nocudainc", "-nocudalib",
			"-fsyntax-only", "-Werror", "-include", prelude, p).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s -fsyntax-only %s: %v\n%s", filepath.Base(clang), name, err, out)
		}
		return nil
	}
	// the check must be able to fail: a host function in device code
	if err := check("host_call.cu", "extern \"C\" __global__ void k(float *x) { x[0] = (float)printf(\"x\"); }\n"); err == nil {
		t.Fatal("clang accepted a kernel calling printf without a declaration: the check checks nothing")
	}
	for _, f := range Files() {
		if err := check(f, src(t, f)); err != nil {
			t.Error(err)
		}
	}
}
