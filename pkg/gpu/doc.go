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
// # Kernels, NVRTC and cuBLAS
//
// LoadKernels opens libnvrtc ($SCIBENCH_LIBNVRTC, else libnvrtc.so.12,
// .so.11.2, .so.11.1, .so.11.0, .so) and compiles each file of package
// kernels as one program: for sm_XY of the device when NVRTC lists that
// architecture and has nvrtcGetCUBIN (a CUBIN, nothing left for the driver
// to compile), otherwise for the newest compute_XY not newer than the
// device (PTX, compiled by the driver at load). KernelConfig.Arch and
// Options override the choice and add NVRTC options. Each image is loaded
// with cuModuleLoadDataEx and every kernel of kernels.Table is looked up
// with cuModuleGetFunction. A rejected source is a *CompileError
// (ErrCompile) naming the file, its kernels, the architecture and options,
// and carrying the NVRTC log; a kernel missing from its image is an error
// naming it and the file; no libnvrtc wraps ErrNoNVRTC.
//
// Stream.Launch queues a kernel with cuLaunchKernel. Arguments are checked
// against the kernel's parameter kinds before the driver is called
// (pointer: a *Buffer of this context or a Ptr from Buffer.At or Null;
// int: int or int32 in range; float: float32; double: float64), as is the
// geometry (CUDA's limits; the reduction kernels need a power-of-two block,
// and their dynamic shared memory is filled in). Each argument is written
// into its own 8-byte slot, the value in the low bytes, and kernelParams
// points at the slots (pinned during the call). Linear(n, block) covers n
// elements with at most MaxGridX blocks; the kernels loop (grid-stride).
// A launch the driver refuses names the kernel, its file and the
// geometry; a fault inside a kernel (illegal address, launch failure) is
// sticky and comes back from the next Synchronize, or any later call, as
// ErrDeviceLost.
//
// NewBlas opens libcublas ($SCIBENCH_LIBCUBLAS, else libcublas.so.12,
// .so.11, .so), creates a handle in the context, binds it to a stream and
// sets CUBLAS_DEFAULT_MATH, or CUBLAS_TF32_TENSOR_OP_MATH when
// BlasConfig.TF32 is set (off by default: TF32 results are not within
// float32 tolerance of the CPU engine). Blas.Sgemm takes the row-major
// arguments of blas.Sgemm; since a row-major matrix is its transpose in
// column-major order, it calls cublasSgemm_v2 with A and B (and m and n)
// swapped: Cᵀ = op(B)ᵀ·op(A)ᵀ, nothing copied. Shapes, strides and buffer
// sizes are checked first; a failing call is a *CUBLASError (ErrCUBLAS)
// naming the status and the shapes. Handles are freed by Destroy or Close.
//
//	m, err := c.LoadKernels(gpu.KernelConfig{})
//	relu, err := m.Function("relu_fwd_f32")
//	err = s.Launch(relu, gpu.Linear(n, 256), y, x, n)
//	bl, err := c.NewBlas(s, gpu.BlasConfig{})
//	err = bl.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, out, n)
//
// # Not done yet
//
// Done of issue 8: point 1 (discovery, per-worker context, device and
// pinned memory, synchronous and asynchronous copies, streams, events, with
// OOM and lost-device errors), point 2 (kernels/*.cu for the four models,
// NVRTC compilation, module loading, launches, cuBLAS SGEMM with optional
// TF32), the test part of point 4 that runs without a GPU (a host emulator
// checks every kernel against its CPU twin), the kernel part of point 7
// (compile errors with the NVRTC log, missing kernels, argument and
// geometry checks, launch failures and kernel faults reported as
// ErrDriver/ErrDeviceLost naming the kernel), and point 6 (in package
// energy). Not done: the GPU engine for pkg/nn with a device arena and
// overlapped gradient copies for the all-reduce (point 3), measurements on
// a GPU (point 5), and falling back to the CPU in the middle of a run
// (point 7: errors are reported, nothing switches engines yet). Nothing is
// wired into `scibench run` yet: no worker opens a Context. Nothing here
// has run against a real driver, NVRTC or cuBLAS: the kernels have been
// compiled only by the host C++ compiler (no CUDA compiler here), and the
// plumbing is tested with fake libcuda, libnvrtc and libcublas built with
// cc in the tests (testdata/*.c). TestKernelsMatchCPUTwinsGPU runs the
// kernel suite on a real device and skips without one. Launch allocates
// its argument slots on every call (not yet allocation-free).
package gpu
