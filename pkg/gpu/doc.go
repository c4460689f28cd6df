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
// # Contexts, memory, streams and events
//
// Open(Config{LocalRank: r}) picks the device as Select does and retains
// its primary context (cuDevicePrimaryCtxRetain), the one cuBLAS and the
// runtime API would share; Close frees what is still allocated and
// releases it. CUDA contexts are current per OS thread, so every call
// locks the goroutine to its thread and calls cuCtxSetCurrent first: a
// Context may be used from any goroutine.
//
// Alloc/Buffer.Free are cuMemAlloc_v2/cuMemFree_v2; HostAlloc/HostBuffer
// are pinned host memory (cuMemHostAlloc/cuMemFreeHost), the only memory
// asynchronous copies accept, since the driver touches it after the call
// returns. CopyHtoD/CopyDtoH are cuMemcpyHtoD_v2/cuMemcpyDtoH_v2;
// Stream.CopyHtoDAsync/CopyDtoHAsync the _Async_v2 variants on a stream
// made with CU_STREAM_NON_BLOCKING (cuStreamCreate/cuStreamDestroy_v2).
// Events (cuEventCreate/Record/Destroy_v2, Elapsed = cuEventElapsedTime)
// order and time work on streams. Sizes are checked before the driver is
// called; a copy out of range is an error naming the sizes and device.
//
// Nothing waits forever. Stream.Synchronize and Event.Synchronize never
// call the blocking cuStreamSynchronize/cuEventSynchronize: they poll
// cuStreamQuery/cuEventQuery, sleeping 1 µs doubling up to Config.MaxPoll
// (200 µs) between polls, until done, a driver error, or the
// context.Context ends; a ctx without deadline gets Config.SyncTimeout
// (2 minutes). A timeout wraps context.DeadlineExceeded and names the
// device. The synchronous copies go on the legacy default stream, which
// does not wait for the non-blocking streams, so they wait only for their
// own transfer.
//
// Every CUresult is checked. Errors name the call, the device
// ("device 0 (NVIDIA H200)") and what was being done, and wrap:
// *OutOfMemoryError and ErrOutOfMemory for CUDA_ERROR_OUT_OF_MEMORY (bytes
// requested, free and total device memory); ErrDeviceLost for the sticky
// errors (CUDA_ERROR_DEVICE_UNAVAILABLE, ECC_UNCORRECTABLE,
// ILLEGAL_ADDRESS, LAUNCH_FAILED, LAUNCH_TIMEOUT and the other 7xx
// exceptions), after which every call on the Context fails fast with
// ErrDeviceLost; ErrDriver otherwise. All carry the *CUDAError.
//
// Open on a machine without a usable driver (no library, no device, or a
// driver lacking the entry points above, i.e. older than CUDA 11) logs one
// line, "no GPU: using the CPU engine" with the reason, on Config.Logger
// and returns an error wrapping ErrNoGPU; the caller goes on with the CPU
// engine without logging again.
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
//	c, err := gpu.Open(gpu.Config{LocalRank: localRank, Logger: lg})
//	if errors.Is(err, gpu.ErrNoGPU) {
//		// CPU engine; Open has logged why
//	} else if err != nil {
//		return err
//	}
//	defer c.Close()
//	buf, err := c.Alloc(4 * len(x))
//	err = c.CopyHtoD(buf, gpu.Float32Bytes(x))
//	pinned, err := c.HostAlloc(4 * len(x))
//	s, err := c.NewStream()
//	err = s.CopyDtoHAsync(pinned, buf, 4*len(x))
//	err = s.Synchronize(ctx) // bounded by ctx or Config.SyncTimeout
//
// `scibench devices` prints the same list (or "no GPU: <reason>").
//
// # Not done yet
//
// Done of issue 8: point 1 (discovery, per-worker context, device and
// pinned memory, synchronous and asynchronous copies, streams, events, with
// OOM and lost-device errors) and point 6 (in package energy). Not done:
// NVRTC compilation of embedded kernels/*.cu and kernel launches (point 2),
// cuBLAS SGEMM (point 2), the GPU engine for pkg/nn with a device arena and
// overlapped gradient copies for the all-reduce (point 3), kernel tests
// against CPU twins (point 4), measurements on a GPU (point 5), and the
// fault handling of kernels (point 7; OOM and lost devices are reported,
// but nothing yet falls back to the CPU in the middle of a run). Nothing
// is wired into `scibench run` yet: no worker opens a Context. Nothing here
// has run against a real driver: it is tested with Go fakes and a fake
// libcuda built with cc in the tests (testdata/fakecuda.c), which defers
// queued copies until a stream is polled idle, checks guard bands and the
// current context on every call, and can inject out-of-memory, lost-device
// and hung-stream failures.
package gpu
