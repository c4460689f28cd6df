// Package nn is scibench's float32 neural-network engine: layers with an
// explicit Forward and Backward, parameters and gradients in one contiguous
// Arena, losses and seeded initialisers.
//
// Layers own their output and dx buffers and reuse them (tensor.Ensure), so
// a steady-state training step allocates nothing. Backward accumulates (+=)
// parameter gradients into the arena and calls Param.MarkReady, which lets
// the training loop start the all-reduce of finished gradient buckets while
// the backward pass goes on. A Forward given a shape the layer cannot take
// is a wiring bug and panics with the layer's name; code that handles
// outside input checks it first (the models do, and Dense and LSTM have
// OutputShape for that). Layout: [N, F] for dense data, [N, T, F] for
// sequences, NCHW for images.
//
// Core layers: Dense (SGEMM), Act (ReLU, SELU, Sigmoid, Tanh), Softmax,
// Dropout (inverted; Permanent for MC dropout), Flatten, LSTM (Keras gate
// order i, f, c, o; configurable activations; dropout masks fixed across
// time) and Sequential. The convolution family (NCHW): Conv2D (im2col in
// cache-sized tiles + SGEMM, optional bias and fused activation; 1×1
// stride-1 convolutions skip im2col), MaxPool2D, nearest Upsample2D,
// ConvTranspose2D (kernel = stride), Concat and Add (two inputs:
// Forward2/Backward2), BatchNorm (train/eval, running statistics, PyTorch
// momentum convention) and GlobalAvgPool. Layers with random masks
// (Dropout, LSTM) implement MaskKeyed: masks keyed per sample by (key,
// global sample index), so a data-parallel run draws the same masks
// whatever the number of workers. Losses
// (MSE with per-output weights and a NaN mask, MAE, BCEWithLogits,
// SoftmaxCrossEntropy) return the loss and write dL/dprediction; with
// ReduceSum they return the batch sum so a data-parallel loop can divide by
// the global batch. Arena.Save and Arena.Load write and read a checksummed
// binary file of all parameters.
//
// # Usage
//
//	a := nn.NewArena()
//	rng := nn.NewRand(2018)
//	d1 := nn.NewDense(a, "d1", 942, 1000, nn.GlorotNormal, rng)
//	d2 := nn.NewDense(a, "d2", 1000, 1, nn.GlorotNormal, rng)
//	a.Build()
//	net := nn.NewSequential(d1, nn.NewReLU(), d2)
//	loss := &nn.MSE{Reduction: nn.ReduceSum}
//	var grad tensor.Tensor
//	for step := range steps {
//		a.ZeroGrad()
//		y := net.Forward(x, true)
//		sum, err := loss.Loss(&grad, y, target) // grad = d(sum)/dy
//		...
//		net.Backward(&grad)
//		// all-reduce a.Grad, divide by the global batch, optimizer step
//	}
package nn
