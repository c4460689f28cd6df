// Package gpunn is the GPU engine: the device twin of every pkg/nn layer,
// loss and pkg/optim optimizer the four models use, running on one device
// stream through package gpu (CUDA driver, the NVRTC-compiled kernels of
// package kernels, cuBLAS SGEMM).
//
// # Design
//
// An Arena mirrors a built nn.Arena: every parameter in one device
// allocation and every gradient in another, in the host layout, so an
// optimizer updates the whole model with one fused launch and the
// gradients move to the host as contiguous ranges. Each parameter is a
// View (name, offset, length) of both.
//
// A Tensor is a view (gpu.Ptr, host shape) of device memory; a Layer has
// Forward(x, train) and Backward(dy) on Tensors with nn.Layer's contract:
// outputs live in the layer's own buffers (grown with the batch), Backward
// accumulates into the arena's gradients and returns dL/dx, or a nil Tensor
// for a layer without an input gradient. Builder.Layer makes the twin of a
// host layer: Dense, Conv2D (the batch per launch: batched im2col, one
// strided-batched SGEMM, per-sample weight gradients summed on the
// device, batched col2im; chunks under 64 Mi floats of columns; 1×1
// stride-1 convolutions straight from the input), ConvTranspose2D, BatchNorm
// (fused activation, running statistics on the device, HostSyncer), the
// element-wise activations and Softmax, Dropout (the host layer makes
// the mask, so the masks are the CPU's bit for bit), MaxPool2D, Upsample2D,
// GlobalAvgPool, Flatten, Sequential and LSTM (one SGEMM for the input
// projection of all steps, one SGEMM and one fused gate kernel per step,
// masks drawn on the device with the CPU's keyed generator); Concat and
// Add have two-input methods. Builder.Extra lets a model add its own
// composite layers (ResNet's residual block in package models).
//
// Model runs a Net (a model's wiring of device layers) behind the host
// model interface: Forward uploads the inputs through pinned buffers and
// downloads the output; Backward uploads the output gradient and runs the
// Net backward. With ModelConfig.StreamGrads (data parallelism over more
// than one worker) every layer reports each parameter it has finished
// (Arena ready hook); finished parameters adjacent in the arena gather
// into ranges of up to CopyElems elements, each copied to a pinned host
// buffer on a second stream once an event says the compute stream has
// produced it, and a watcher goroutine moves the range into the host
// arena's Grad and marks it ready there, so the training loop's bucketed
// all-reduce overlaps the rest of the backward pass as on the CPU.
// Without it (one worker) the gradients never leave the device.
//
// Optimizer runs optim.Adam, AdamW, Adamax or SGD (with or without
// momentum) on the arena with one fused kernel, the per-step scalars
// computed on the host in float64 as pkg/optim does; its state lives on
// the device and is saved and loaded in pkg/optim's format, so a GPU
// checkpoint resumes on the CPU and back. It is the training loop's
// optimizer (StepErr): with GradsOnHost it uploads the all-reduced host
// gradient, else it scales the device gradient by 1/global batch.
// PullWeights and PushWeights move the parameters and BatchNorm
// statistics between device and host where the loop needs them there.
//
// Everything is queued on Config.Stream, the stream the cuBLAS handle is
// bound to, so launches and SGEMMs run in order; waits are deadline-
// bounded synchronisations of package gpu. Bad sizes, foreign parameters
// and calls out of order are errors naming the layer and the device,
// never panics.
//
// # Usage
//
//	e, err := gpunn.New(gpunn.Config{Context: c, Module: m, Stream: s, Blas: bl})
//	dm, err := model.UseDevice(e, gpunn.ModelConfig{StreamGrads: world > 1}) // package models
//	opt, err := e.NewOptimizer(dm.DeviceArena(), hostOptimizer, gpunn.OptimizerConfig{...})
//	// the task keeps calling model.Forward/Backward; train.Config.Device = dm
//
// package bench's UseDevice does all of this for `scibench run --device`.
//
// # Tests
//
// Every layer is compared with its pkg/nn twin on random small shapes
// (forward output, input gradient, accumulated parameter gradients, the
// order of the ready reports) with guard bands around every device
// buffer, on the host emulator of package gpu's test fakes (the kernels
// compiled for the host by g++, SGEMM in naive loops); the four models
// are trained side by side on both engines in package models. The same
// tests run on a real GPU when gpu.Probe finds one (skipped with the
// reason otherwise). Nothing here has run on a real GPU yet.
package gpunn
