// Package gpu finds NVIDIA GPUs at run time through the CUDA driver API,
// without linking against CUDA at build time.
//
// # Design: GPU found at run time
//
// gorgonia.org/cu needs cuda.h to compile and its package init exits the
// process when cuInit fails, so a binary importing it cannot start on a
// CPU-only login or compute node (DESIGN.md "GPU found at run time").
// This package instead opens the driver library with dlopen through
// github.com/ebitengine/purego, which needs no C toolchain: the same
// binary, built with or without cgo (CGO_ENABLED=0 works), runs everywhere
// and uses a GPU where one is present.
//
// Probe tries "libcuda.so.1", then "libcuda.so" (or only the path in
// $SCIBENCH_LIBCUDA when that is set), resolves cuInit, cuDriverGetVersion,
// cuDeviceGetCount, cuDeviceGet, cuDeviceGetName, cuDeviceTotalMem_v2 and
// cuDeviceGetAttribute (compute capability, attributes 75 and 76), and
// checks every CUresult. A library that cannot be loaded, a missing symbol,
// a failing cuInit (CUDA_ERROR_NO_DEVICE, a stub library, an old driver) or
// a device count of 0 return an error wrapping ErrNoGPU that names the
// reason; a driver call failing after cuInit wraps ErrDriver and names the
// call, the device and the CUresult (*CUDAError). Either way callers fall
// back to the CPU engine. The library stays loaded for the life of the
// process (it is never closed: libcuda keeps threads of its own).
//
// Run-time loading is built on linux/amd64 and linux/arm64 only; on every
// other platform (darwin, windows, ...) Probe returns ErrNoGPU saying the
// platform is unsupported.
//
// CUDA_VISIBLE_DEVICES is honoured by the driver itself: Probe sees only
// the listed devices, renumbered from 0. The launcher
// (launch.Config.DeviceEnv) sets it to one device per worker, so each
// worker's Select(localRank) returns device 0, its own GPU; without the
// variable, Select picks device localRank mod count.
//
// # Usage
//
//	info, err := gpu.Probe()
//	if errors.Is(err, gpu.ErrNoGPU) {
//		log.Printf("no GPU (%v): using the CPU engine", err)
//	} else if err != nil {
//		return err
//	}
//	for _, d := range info.Devices {
//		fmt.Println(d.Index, d.Name, d.MemoryBytes, d.Major, d.Minor)
//	}
//	dev, err := gpu.Select(localRank) // the worker's device
//
// `scibench devices` prints the same list (or "no GPU: <reason>").
//
// # Not done yet
//
// Only device discovery exists (point 1 of issue 8, and of that only the
// discovery part: no CUDA contexts, device memory, copies, streams or
// events yet). Not done: NVRTC compilation of embedded kernels/*.cu
// (point 2), cuBLAS SGEMM (point 2), the GPU engine for pkg/nn with a device
// arena and overlapped gradient copies for the all-reduce (point 3), kernel
// tests against CPU twins (point 4), measurements on a GPU (point 5), NVML
// and RAPL energy (point 6), and the fault handling of kernels, OOM and lost
// devices (point 7). Nothing here has run against a real driver: it is
// tested with Go fakes and a fake libcuda built with cc in the tests.
package gpu
