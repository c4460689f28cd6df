package nn

import "github.com/scibench/scibench/pkg/tensor"

// Layer is a single-input, single-output layer with an explicit backward.
//
// Forward reads x and returns the layer's own output tensor, which stays
// valid until the next Forward; the layer keeps what Backward needs.
// Backward takes dL/dy (same shape as the output), accumulates parameter
// gradients into its Params' G (calling MarkReady on each when done: after
// its last read of the parameter's values too, since the training loop may
// apply the optimizer to a parameter as soon as it is ready) and
// returns dL/dx in a buffer the layer owns. Neither allocates in steady state
// (same shapes as the previous call).
//
// Multi-input layers (Concat, Add) have their own two-input methods and are
// wired by the model code.
type Layer interface {
	Forward(x *tensor.Tensor, train bool) *tensor.Tensor
	Backward(dy *tensor.Tensor) *tensor.Tensor
}
