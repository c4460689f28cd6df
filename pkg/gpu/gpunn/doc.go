// Package gpunn is the first brick of the GPU engine for pkg/nn (issue 8
// point 3): a device arena, a Dense layer (with an optional ReLU), the MSE
// loss and the Adamax optimizer running on one device stream through
// package gpu (CUDA driver, NVRTC-compiled kernels of package kernels,
// cuBLAS SGEMM), each the twin of its CPU code.
//
// # Design
//
// An Arena mirrors a built nn.Arena: every parameter in one device
// allocation and every gradient in another, in the host layout, so the
// optimizer updates the whole model with one fused launch (adamax_f32)
// and a later all-reduce can move the gradients as one vector. Each
// parameter is a View (name, offset, length) of both. Upload and Download
// move the whole parameter vector between the host arena's Data and the
// device; ZeroGrad is a fill_f32 launch.
//
// Dense computes y = x·W + b as nn.Dense does (W is In×Out row-major) with
// Blas.Sgemm and bias_add_rows_f32, then relu_fwd_f32 when ReLU is set;
// Backward runs relu_bwd_f32, adds the bias gradient with
// bias_grad_rows_f32 and the weight gradient (SGEMM into a scratch buffer,
// then axpy_f32) into the arena's gradient views, accumulating as
// nn.Dense.Backward does, and returns the input gradient unless
// NoInputGrad. gpu.Blas.Sgemm takes whole *gpu.Buffer matrices, not
// addresses inside one, so each Dense copies W out of the arena into its
// own buffer at Forward (scale_f32 by 1, exact) and computes dW into a
// scratch buffer; an SGEMM on a gpu.Ptr would remove both copies.
//
// MSE is nn.MSE with ReduceSum and no weights (NaN targets masked):
// mse_masked_f32 writes float64 terms and the gradient, sum_f64 sums the
// terms, and Loss waits for the stream to read the sum back. Adamax is
// optim.Adamax over the whole arena, the per-step scalars computed on the
// host in float64 as optim.Adamax.StepRange does.
//
// Everything is queued on Config.Stream, the stream the cuBLAS handle is
// bound to, so launches and SGEMMs run in order; Upload, Download and
// Loss synchronize it first. Bad sizes, foreign parameters and calls out
// of order are errors naming the layer and the device, never panics. The
// engine owns the device buffers it allocates (Engine.Free), not the
// Config's context, module, stream or handle.
//
// # Usage
//
//	e, err := gpunn.New(gpunn.Config{Context: c, Module: m, Stream: s, Blas: bl})
//	a, err := e.NewArena(ctx, hostArena) // hostArena built
//	d1, err := e.NewDense(a, hostDense1, true)
//	d2, err := e.NewDense(a, hostDense2, false)
//	loss := e.NewMSE()
//	opt, err := e.NewAdamax(a, optim.AdamConfig{LR: 0.01})
//	for each step {
//		err = a.ZeroGrad()
//		h, err := d1.Forward(x, rows)
//		h, err = d2.Forward(h, rows)
//		l, g, err := loss.Loss(ctx, h, target, rows, k)
//		g, err = d2.Backward(g)
//		_, err = d1.Backward(g)
//		err = opt.Step()
//	}
//	err = a.Download(ctx, hostArena.Data)
//
// # Tests
//
// A 2–3 layer MLP of random small sizes (batch 5–17, one NaN target per
// step) is built identically on the CPU engine and here; after each of 3
// steps the losses and gradients agree, and so do the parameters at the
// end, within float32 tolerances, with guard bands around every device
// buffer checked untouched. The test runs on the host emulator of package
// gpu's test fakes (../testdata: the kernels compiled with g++, SGEMM in
// naive loops) and on a real GPU when gpu.Probe finds one (skipped with
// the reason otherwise).
//
// # Not done yet
//
// Other layers (Conv2D, BatchNorm, pooling, LSTM, ...) and losses; other
// optimizers; wiring into pkg/train (a device Sequential, gradient buckets
// copied to pinned host memory while backward goes on, for the
// all-reduce); SetLR for schedules; buffers outgrown by a larger batch are
// kept until Engine.Free. Nothing here has run on a real GPU yet.
package gpunn
