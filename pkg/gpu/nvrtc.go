package gpu

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
)

// ErrNoNVRTC is wrapped when libnvrtc cannot be loaded: kernels cannot be
// compiled, and the caller uses the CPU engine.
var ErrNoNVRTC = errors.New("gpu: NVRTC not available")

// ErrCompile is wrapped (by *CompileError) when NVRTC rejects a source.
var ErrCompile = errors.New("gpu: kernel compilation failed")

// NVRTCLibEnv names the environment variable that, when set, replaces the
// default search for libnvrtc with one path.
const NVRTCLibEnv = "SCIBENCH_LIBNVRTC"

// nvrtcCandidates returns the library paths to try, in order: CUDA 12,
// then the 11.x sonames (11.2 and later are ABI-compatible minor releases
// sharing libnvrtc.so.11.2).
func nvrtcCandidates() (paths []string, fromEnv bool) {
	if p := os.Getenv(NVRTCLibEnv); p != "" {
		return []string{p}, true
	}
	return []string{"libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so.11.1", "libnvrtc.so.11.0", "libnvrtc.so"}, false
}

// nvrtcSuccess is NVRTC_SUCCESS.
const nvrtcSuccess = 0

// nvrtcAPI is the part of NVRTC this package uses.
type nvrtcAPI struct {
	lib            string
	version        func(major, minor *int32) int32
	errorString    func(r int32) string
	createProgram  func(prog *uintptr, src, name *byte, nheaders int32, headers, includeNames **byte) int32
	compileProgram func(prog uintptr, nopts int32, opts **byte) int32
	logSize        func(prog uintptr, n *uintptr) int32
	log            func(prog uintptr, buf *byte) int32
	ptxSize        func(prog uintptr, n *uintptr) int32
	ptx            func(prog uintptr, buf *byte) int32
	cubinSize      func(prog uintptr, n *uintptr) int32
	cubin          func(prog uintptr, buf *byte) int32
	destroyProgram func(prog *uintptr) int32
	numArchs       func(n *int32) int32
	archs          func(a *int32) int32

	hasCUBIN, hasArchs bool
}

// NVRTCError is a failed NVRTC call: the call name and its nvrtcResult.
type NVRTCError struct {
	Call string
	Code int
	Text string // nvrtcGetErrorString
}

func (e *NVRTCError) Error() string {
	return fmt.Sprintf("%s: %s (%d)", e.Call, e.Text, e.Code)
}

// CompileError is a source NVRTC rejected. It wraps ErrCompile and the
// *NVRTCError; Log is NVRTC's program log (the compiler's messages, with
// file names and lines), Kernels the kernels the file defines.
type CompileError struct {
	File    string
	Kernels []string
	Arch    string
	Options []string
	Log     string
	Err     *NVRTCError
}

func (e *CompileError) Error() string {
	ks := ""
	if len(e.Kernels) > 0 {
		ks = " (kernels " + strings.Join(e.Kernels, ", ") + ")"
	}
	return fmt.Sprintf("%v: %s%s for %s, options %q: %v\n%s", ErrCompile, e.File, ks, e.Arch, e.Options, e.Err,
		strings.TrimRight(e.Log, "\x00\n "))
}

// Unwrap returns ErrCompile and the NVRTC error.
func (e *CompileError) Unwrap() []error { return []error{ErrCompile, e.Err} }

// cBytes returns s as a NUL-terminated byte slice.
func cBytes(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

func (api *nvrtcAPI) fail(call string, r int32) *NVRTCError {
	return &NVRTCError{Call: call, Code: int(r), Text: api.errorString(r)}
}

// versionString returns NVRTC's version as "major.minor".
func (api *nvrtcAPI) versionString() string {
	var major, minor int32
	if api.version(&major, &minor) != nvrtcSuccess {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", major, minor)
}

// chooseArch picks the --gpu-architecture for a device of compute
// capability major.minor: sm_XY (a CUBIN, no JIT by the driver) when NVRTC
// supports the device's own architecture and can return a CUBIN;
// otherwise compute_XY for the newest virtual architecture NVRTC supports
// that is not newer than the device (PTX, compiled by the driver at load).
func (api *nvrtcAPI) chooseArch(major, minor int) (arch string, cubin bool, err error) {
	want := int32(10*major + minor)
	if want <= 0 {
		return "", false, fmt.Errorf("gpu: compute capability %d.%d is not valid", major, minor)
	}
	if !api.hasArchs {
		if api.hasCUBIN {
			return fmt.Sprintf("sm_%d", want), true, nil
		}
		return fmt.Sprintf("compute_%d", want), false, nil
	}
	var n int32
	if r := api.numArchs(&n); r != nvrtcSuccess {
		return "", false, api.fail("nvrtcGetNumSupportedArchs", r)
	}
	if n <= 0 || n > 1024 {
		return "", false, fmt.Errorf("gpu: NVRTC %s reports %d supported architectures", api.versionString(), n)
	}
	archs := make([]int32, n)
	if r := api.archs(&archs[0]); r != nvrtcSuccess {
		return "", false, api.fail("nvrtcGetSupportedArchs", r)
	}
	if slices.Contains(archs, want) && api.hasCUBIN {
		return fmt.Sprintf("sm_%d", want), true, nil
	}
	best := int32(-1)
	for _, a := range archs {
		if a <= want && a > best {
			best = a
		}
	}
	if best < 0 {
		return "", false, fmt.Errorf("gpu: compute capability %d.%d is older than every architecture NVRTC %s (%s) supports %v",
			major, minor, api.versionString(), api.lib, archs)
	}
	return fmt.Sprintf("compute_%d", best), false, nil
}

// compile compiles one source file for arch and returns the CUBIN (cubin
// true) or the NUL-terminated PTX. A rejected source returns a
// *CompileError carrying the program log.
func (api *nvrtcAPI) compile(file, src, arch string, cubin bool, extra []string, kernelNames []string) ([]byte, error) {
	opts := append([]string{"--gpu-architecture=" + arch}, extra...)
	csrc, cname := cBytes(src), cBytes(file)
	var pin runtime.Pinner
	defer pin.Unpin()
	copts := make([][]byte, len(opts))
	ptrs := make([]*byte, len(opts)+1) // +1: never empty
	for i, o := range opts {
		copts[i] = cBytes(o)
		ptrs[i] = &copts[i][0]
		pin.Pin(ptrs[i])
	}
	pin.Pin(&ptrs[0])
	var prog uintptr
	if r := api.createProgram(&prog, &csrc[0], &cname[0], 0, nil, nil); r != nvrtcSuccess {
		return nil, fmt.Errorf("gpu: compile %s: %w", file, api.fail("nvrtcCreateProgram", r))
	}
	defer api.destroyProgram(&prog)
	if r := api.compileProgram(prog, int32(len(opts)), &ptrs[0]); r != nvrtcSuccess {
		return nil, &CompileError{File: file, Kernels: kernelNames, Arch: arch, Options: opts,
			Log: api.programLog(prog), Err: api.fail("nvrtcCompileProgram", r)}
	}
	sizeCall, getCall, size, get := "nvrtcGetPTXSize", "nvrtcGetPTX", api.ptxSize, api.ptx
	if cubin {
		sizeCall, getCall, size, get = "nvrtcGetCUBINSize", "nvrtcGetCUBIN", api.cubinSize, api.cubin
	}
	var n uintptr
	if r := size(prog, &n); r != nvrtcSuccess {
		return nil, fmt.Errorf("gpu: compile %s for %s: %w", file, arch, api.fail(sizeCall, r))
	}
	if n == 0 || n > 1<<30 {
		return nil, fmt.Errorf("gpu: compile %s for %s: %s returned %d bytes", file, arch, sizeCall, n)
	}
	img := make([]byte, n+1) // +1: PTX is loaded as a C string
	if r := get(prog, &img[0]); r != nvrtcSuccess {
		return nil, fmt.Errorf("gpu: compile %s for %s: %w", file, arch, api.fail(getCall, r))
	}
	return img, nil
}

// programLog returns the program log, or a note saying why it is missing.
func (api *nvrtcAPI) programLog(prog uintptr) string {
	var n uintptr
	if r := api.logSize(prog, &n); r != nvrtcSuccess {
		return fmt.Sprintf("(no log: %v)", api.fail("nvrtcGetProgramLogSize", r))
	}
	if n <= 1 {
		return "(empty log)"
	}
	if n > 16<<20 {
		n = 16 << 20
	}
	buf := make([]byte, n)
	if r := api.log(prog, &buf[0]); r != nvrtcSuccess {
		return fmt.Sprintf("(no log: %v)", api.fail("nvrtcGetProgramLog", r))
	}
	return cString(buf)
}
