package gpu

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"
)

// ErrNoGPU is returned (wrapped with the reason) when no usable GPU is found:
// the driver library cannot be loaded, cuInit fails, or it reports 0 devices.
// Callers fall back to the CPU engine.
var ErrNoGPU = errors.New("gpu: no GPU")

// ErrDriver wraps a CUDA driver call that failed after cuInit succeeded.
var ErrDriver = errors.New("gpu: driver call failed")

// ErrOutOfMemory is wrapped (by *OutOfMemoryError) when cuMemAlloc_v2 or
// cuMemHostAlloc fails with CUDA_ERROR_OUT_OF_MEMORY.
var ErrOutOfMemory = errors.New("gpu: out of memory")

// ErrDeviceLost is wrapped when a driver call reports that the device or
// its context is unusable (CUDA_ERROR_DEVICE_UNAVAILABLE, ECC errors, a
// failed or timed-out launch, an illegal address, ...). These errors are
// sticky: once one is seen, every later call on the Context fails with
// ErrDeviceLost without calling the driver. The process must fall back to
// the CPU engine or exit; the context cannot be repaired.
var ErrDeviceLost = errors.New("gpu: device lost")

// ErrClosed is returned by calls on a Context after Close.
var ErrClosed = errors.New("gpu: context closed")

// LibEnv names the environment variable that, when set, replaces the default
// library search ("libcuda.so.1", then "libcuda.so") with one path.
const LibEnv = "SCIBENCH_LIBCUDA"

// CUDA driver API constants used by Probe.
const (
	cudaSuccess     = 0
	cudaOutOfMemory = 2
	cudaNoDevice    = 100
	cudaNotReady    = 600

	attrComputeCapabilityMajor = 75 // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	attrComputeCapabilityMinor = 76 // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

	nameLen = 256 // bytes given to cuDeviceGetName
)

// Device is one GPU as the driver reports it. Index is the ordinal seen by
// this process, i.e. after CUDA_VISIBLE_DEVICES renumbering.
type Device struct {
	Index       int    `json:"index"`
	Name        string `json:"name"`
	MemoryBytes uint64 `json:"memory_bytes"`
	Major       int    `json:"cc_major"`
	Minor       int    `json:"cc_minor"`
}

// Info is the result of Probe.
type Info struct {
	// Library is the path that was loaded ("libcuda.so.1" or $SCIBENCH_LIBCUDA).
	Library string
	// DriverVersion is cuDriverGetVersion's value, e.g. 12040 for CUDA 12.4.
	DriverVersion int
	Devices       []Device
}

// DriverVersionString formats DriverVersion as "major.minor" (12040 -> "12.4").
func (in Info) DriverVersionString() string {
	return fmt.Sprintf("%d.%d", in.DriverVersion/1000, in.DriverVersion%1000/10)
}

// CUDAError is a failed driver call: the call name and its CUresult code.
type CUDAError struct {
	Call string
	Code int
}

func (e *CUDAError) Error() string {
	return fmt.Sprintf("%s: %s (%d)", e.Call, ResultName(e.Code), e.Code)
}

// resultNames maps the CUresult codes Probe can meet to their names.
var resultNames = map[int]string{
	0:   "CUDA_SUCCESS",
	1:   "CUDA_ERROR_INVALID_VALUE",
	2:   "CUDA_ERROR_OUT_OF_MEMORY",
	3:   "CUDA_ERROR_NOT_INITIALIZED",
	4:   "CUDA_ERROR_DEINITIALIZED",
	34:  "CUDA_ERROR_STUB_LIBRARY",
	35:  "CUDA_ERROR_INSUFFICIENT_DRIVER",
	46:  "CUDA_ERROR_DEVICE_UNAVAILABLE",
	100: "CUDA_ERROR_NO_DEVICE",
	101: "CUDA_ERROR_INVALID_DEVICE",
	200: "CUDA_ERROR_INVALID_IMAGE",
	201: "CUDA_ERROR_INVALID_CONTEXT",
	209: "CUDA_ERROR_NO_BINARY_FOR_GPU",
	214: "CUDA_ERROR_ECC_UNCORRECTABLE",
	304: "CUDA_ERROR_OPERATING_SYSTEM",
	218: "CUDA_ERROR_INVALID_PTX",
	222: "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
	400: "CUDA_ERROR_INVALID_HANDLE",
	500: "CUDA_ERROR_NOT_FOUND",
	600: "CUDA_ERROR_NOT_READY",
	700: "CUDA_ERROR_ILLEGAL_ADDRESS",
	701: "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
	702: "CUDA_ERROR_LAUNCH_TIMEOUT",
	709: "CUDA_ERROR_CONTEXT_IS_DESTROYED",
	714: "CUDA_ERROR_HARDWARE_STACK_ERROR",
	715: "CUDA_ERROR_ILLEGAL_INSTRUCTION",
	716: "CUDA_ERROR_MISALIGNED_ADDRESS",
	717: "CUDA_ERROR_INVALID_ADDRESS_SPACE",
	718: "CUDA_ERROR_INVALID_PC",
	719: "CUDA_ERROR_LAUNCH_FAILED",
	803: "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
	804: "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
	999: "CUDA_ERROR_UNKNOWN",
}

// ResultName returns the CUresult name of code, or "CUDA_ERROR_<code>" when
// the code is not in the table.
func ResultName(code int) string {
	if n, ok := resultNames[code]; ok {
		return n
	}
	return fmt.Sprintf("CUDA_ERROR_%d", code)
}

// driverAPI is the subset of the CUDA driver API this package uses. The
// loader fills it from libcuda; tests fill the discovery part with fakes.
// The fields after attribute are the compute entry points Open needs
// (context.go); a driver that lacks one of them still serves Probe, and
// missing names them.
type driverAPI struct {
	init          func(flags uint32) int32
	driverVersion func(v *int32) int32
	deviceCount   func(n *int32) int32
	deviceGet     func(dev *int32, ordinal int32) int32
	deviceName    func(name *byte, n int32, dev int32) int32
	totalMem      func(bytes *uint64, dev int32) int32
	attribute     func(v *int32, attr int32, dev int32) int32

	primaryCtxRetain  func(ctx *uintptr, dev int32) int32
	primaryCtxRelease func(dev int32) int32
	ctxSetCurrent     func(ctx uintptr) int32
	memGetInfo        func(free, total *uintptr) int32
	memAlloc          func(p *uint64, n uintptr) int32
	memFree           func(p uint64) int32
	memHostAlloc      func(pp *unsafe.Pointer, n uintptr, flags uint32) int32
	memFreeHost       func(p unsafe.Pointer) int32
	memcpyHtoD        func(dst uint64, src unsafe.Pointer, n uintptr) int32
	memcpyDtoH        func(dst unsafe.Pointer, src uint64, n uintptr) int32
	memcpyHtoDAsync   func(dst uint64, src unsafe.Pointer, n uintptr, stream uintptr) int32
	memcpyDtoHAsync   func(dst unsafe.Pointer, src uint64, n uintptr, stream uintptr) int32
	streamCreate      func(s *uintptr, flags uint32) int32
	streamQuery       func(s uintptr) int32
	streamDestroy     func(s uintptr) int32
	eventCreate       func(e *uintptr, flags uint32) int32
	eventRecord       func(e, s uintptr) int32
	eventQuery        func(e uintptr) int32
	eventElapsed      func(ms *float32, start, end uintptr) int32
	eventDestroy      func(e uintptr) int32
	streamWaitEvent   func(s, e uintptr, flags uint32) int32

	// kernel entry points (module.go); a driver without them still opens
	// a Context, and LoadModule names what is missing.
	moduleLoadData    func(m *uintptr, image unsafe.Pointer, nopts uint32, opts *int32, vals *unsafe.Pointer) int32
	moduleGetFunction func(f *uintptr, m uintptr, name *byte) int32
	moduleUnload      func(m uintptr) int32
	launchKernel      func(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params *unsafe.Pointer, extra *unsafe.Pointer) int32

	// missing lists the compute entry points the library lacks.
	missing []string
	// kernelMissing lists the kernel entry points the library lacks.
	kernelMissing []string
}

// probeAPI enumerates devices through api. Failures of cuInit, NO_DEVICE and
// a count of 0 wrap ErrNoGPU; later failures wrap ErrDriver.
func probeAPI(api *driverAPI, lib string) (Info, error) {
	info := Info{Library: lib}
	if r := api.init(0); r != cudaSuccess {
		return info, fmt.Errorf("%w: %w", ErrNoGPU, &CUDAError{Call: "cuInit", Code: int(r)})
	}
	var v int32
	if r := api.driverVersion(&v); r != cudaSuccess {
		return info, fmt.Errorf("%w: %w", ErrDriver, &CUDAError{Call: "cuDriverGetVersion", Code: int(r)})
	}
	info.DriverVersion = int(v)
	var n int32
	if r := api.deviceCount(&n); r != cudaSuccess {
		if r == cudaNoDevice {
			return info, fmt.Errorf("%w: %w", ErrNoGPU, &CUDAError{Call: "cuDeviceGetCount", Code: int(r)})
		}
		return info, fmt.Errorf("%w: %w", ErrDriver, &CUDAError{Call: "cuDeviceGetCount", Code: int(r)})
	}
	if n <= 0 {
		return info, fmt.Errorf("%w: 0 devices (CUDA_VISIBLE_DEVICES=%q)", ErrNoGPU, os.Getenv("CUDA_VISIBLE_DEVICES"))
	}
	name := make([]byte, nameLen)
	for i := range n {
		fail := func(call string, r int32) error {
			return fmt.Errorf("%w: device %d: %w", ErrDriver, i, &CUDAError{Call: call, Code: int(r)})
		}
		var dev int32
		if r := api.deviceGet(&dev, i); r != cudaSuccess {
			return info, fail("cuDeviceGet", r)
		}
		clear(name)
		if r := api.deviceName(&name[0], int32(len(name)), dev); r != cudaSuccess {
			return info, fail("cuDeviceGetName", r)
		}
		var mem uint64
		if r := api.totalMem(&mem, dev); r != cudaSuccess {
			return info, fail("cuDeviceTotalMem_v2", r)
		}
		var major, minor int32
		if r := api.attribute(&major, attrComputeCapabilityMajor, dev); r != cudaSuccess {
			return info, fail("cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)", r)
		}
		if r := api.attribute(&minor, attrComputeCapabilityMinor, dev); r != cudaSuccess {
			return info, fail("cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)", r)
		}
		info.Devices = append(info.Devices, Device{
			Index:       int(i),
			Name:        cString(name),
			MemoryBytes: mem,
			Major:       int(major),
			Minor:       int(minor),
		})
	}
	return info, nil
}

// cString returns b up to its first NUL byte, trimmed of spaces.
func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// libCandidates returns the library paths to try, in order.
func libCandidates() (paths []string, fromEnv bool) {
	if p := os.Getenv(LibEnv); p != "" {
		return []string{p}, true
	}
	return []string{"libcuda.so.1", "libcuda.so"}, false
}

// Probe loads the CUDA driver library (if not already loaded), initialises
// it and lists the devices visible to this process. With no usable GPU the
// error wraps ErrNoGPU and names the reason.
func Probe() (Info, error) {
	api, lib, err := load()
	if err != nil {
		return Info{}, err
	}
	return probeAPI(api, lib)
}

// Select probes the devices and returns the one a worker with the given
// local rank should use: device localRank mod count. When the launcher sets
// CUDA_VISIBLE_DEVICES to one device per worker (launch.Config.DeviceEnv),
// each worker sees a single device and Select returns it for any rank.
func Select(localRank int) (Device, error) {
	if localRank < 0 {
		return Device{}, fmt.Errorf("gpu: select: local rank %d is negative", localRank)
	}
	info, err := Probe()
	if err != nil {
		return Device{}, fmt.Errorf("gpu: select for local rank %d: %w", localRank, err)
	}
	return selectFrom(info.Devices, localRank)
}

func selectFrom(devs []Device, localRank int) (Device, error) {
	if localRank < 0 {
		return Device{}, fmt.Errorf("gpu: select: local rank %d is negative", localRank)
	}
	if len(devs) == 0 {
		return Device{}, fmt.Errorf("%w: 0 devices for local rank %d", ErrNoGPU, localRank)
	}
	return devs[localRank%len(devs)], nil
}

// VisibleDevices splits a CUDA_VISIBLE_DEVICES value into its entries
// (ordinals or UUIDs, spaces trimmed, empty entries dropped); nil when it
// is unset or empty.
func VisibleDevices(value string) []string {
	var ids []string
	for _, id := range strings.Split(value, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}
