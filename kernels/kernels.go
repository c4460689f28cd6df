// Package kernels holds scibench's CUDA C sources (*.cu), embedded in the
// binary and compiled at run time by NVRTC for the GPU that is found
// (pkg/gpu), so no CUDA toolkit is needed to build scibench.
//
// Every kernel is extern "C" __global__, works on float32 buffers with a
// grid-stride loop (any grid size is correct) and has a CPU twin in pkg/nn,
// pkg/optim or pkg/tensor, named in the comment above it, that computes the
// same thing. Table lists every kernel with the file it lives in and the
// kinds of its parameters; a test checks it against the sources, and
// pkg/gpu checks launch arguments against it.
//
// # Usage
//
//	src, err := kernels.Source("activation.cu")
//	k, ok := kernels.Lookup("relu_fwd_f32") // k.Params == "ppi"
package kernels

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

// FS holds the CUDA C sources, one file per family of kernels.
//
//go:embed *.cu
var FS embed.FS

// Parameter kinds in Kernel.Params, one byte per parameter.
const (
	Ptr    = 'p' // a device pointer (float*, double*, int*)
	Int    = 'i' // int (32 bits)
	Float  = 'f' // float
	Double = 'd' // double
)

// Kernel describes one kernel of the sources.
type Kernel struct {
	// Name is the extern "C" symbol, the name cuModuleGetFunction looks up.
	Name string
	// File is the source file in FS that defines it.
	File string
	// Params has one kind (Ptr, Int, Float, Double) per parameter, in order.
	Params string
	// Twin names the Go function computing the same thing on the CPU
	// (pkg.Func or pkg.Type.Method, several separated by commas, each
	// optionally followed by a note in parentheses).
	Twin string
	// SharedDoubles is the dynamic shared memory the kernel needs, in
	// float64s per thread of the block (0: none). Such kernels need a
	// block size that is a power of two, at most 1024.
	SharedDoubles int
}

// Table is every kernel in the sources, sorted by file then name.
var Table = []Kernel{
	{"relu_bwd_f32", "activation.cu", "pppi", "nn.Activation.backward (ReLUAct)", 0},
	{"relu_fwd_f32", "activation.cu", "ppi", "nn.Activation.apply (ReLUAct)", 0},
	{"selu_bwd_f32", "activation.cu", "pppi", "nn.seluBackward", 0},
	{"selu_fwd_f32", "activation.cu", "ppi", "nn.Activation.apply (SELUAct)", 0},
	{"sigmoid_bwd_f32", "activation.cu", "pppi", "nn.Activation.backward (SigmoidAct)", 0},
	{"sigmoid_fwd_f32", "activation.cu", "ppi", "nn.Activation.apply (SigmoidAct)", 0},
	{"tanh_bwd_f32", "activation.cu", "pppi", "nn.Activation.backward (TanhAct)", 0},
	{"tanh_fwd_f32", "activation.cu", "ppi", "nn.Activation.apply (TanhAct)", 0},

	{"batchnorm_bwd_dx_f32", "conv.cu", "pppppppiiii", "nn.BatchNorm.Backward (input gradient)", 0},
	{"batchnorm_bwd_reduce_f32", "conv.cu", "ppppppiii", "nn.BatchNorm.Backward (sums and the gradients of γ and β)", 2},
	{"batchnorm_eval_stats_f32", "conv.cu", "ppppid", "nn.BatchNorm.Forward (eval statistics)", 0},
	{"batchnorm_fwd_f32", "conv.cu", "pppppppiiii", "nn.BatchNorm.Forward (normalisation)", 0},
	{"batchnorm_stats_f32", "conv.cu", "pppppiiidd", "nn.BatchNorm.Forward (train statistics)", 2},
	{"col2im_f32", "conv.cu", "ppiiiiiiiiiiii", "nn.col2im", 0},
	{"im2col_f32", "conv.cu", "ppiiiiiiiiiiii", "nn.im2col", 0},
	{"maxpool_bwd_f32", "conv.cu", "pppiiiiiiiiiii", "nn.MaxPool2D.Backward", 0},
	{"maxpool_fwd_f32", "conv.cu", "pppiiiiiiiiiii", "nn.MaxPool2D.Forward", 0},
	{"upsample_nearest_bwd_f32", "conv.cu", "ppiiii", "nn.Upsample2D.Backward", 0},
	{"upsample_nearest_fwd_f32", "conv.cu", "ppiiii", "nn.Upsample2D.Forward", 0},

	{"col2im_batch_f32", "conv_batch.cu", "ppiiiiiiiiiiii", "nn.col2im (whole rows of each sample; dx cleared first)", 0},
	{"im2col_batch_f32", "conv_batch.cu", "ppiiiiiiiiiiii", "nn.im2col (whole rows of each sample)", 0},
	{"sum_samples_f32", "conv_batch.cu", "ppii", "nn.Conv2D.Backward (weight gradient summed over samples)", 0},

	{"add_f32", "elementwise.cu", "pppi", "tensor.Add, nn.Add.Forward2", 0},
	{"axpy_f32", "elementwise.cu", "pfpi", "tensor.AXPY", 0},
	{"bias_add_channels_f32", "elementwise.cu", "ppiii", "nn.Conv2D.Forward (bias)", 0},
	{"bias_add_rows_f32", "elementwise.cu", "ppii", "nn.Dense.Forward (bias)", 0},
	{"bias_grad_channels_f32", "elementwise.cu", "ppiii", "nn.Conv2D.Backward (bias gradient)", 1},
	{"bias_grad_rows_f32", "elementwise.cu", "ppii", "nn.Dense.Backward (bias gradient)", 0},
	{"dropout_apply_f32", "elementwise.cu", "pppi", "nn.Dropout.Forward, nn.Dropout.Backward", 0},
	{"fill_f32", "elementwise.cu", "pfi", "tensor.Fill", 0},
	{"gap_bwd_f32", "elementwise.cu", "ppii", "nn.GlobalAvgPool.Backward", 0},
	{"gap_fwd_f32", "elementwise.cu", "ppii", "nn.GlobalAvgPool.Forward", 0},
	{"mul_f32", "elementwise.cu", "pppi", "tensor.Mul", 0},
	{"scale_f32", "elementwise.cu", "ppfi", "tensor.Scale", 0},
	{"sum_f64", "elementwise.cu", "ppi", "tensor.Sum (float64 loss sums)", 1},

	{"bce_logits_f32", "loss.cu", "ppppid", "nn.BCEWithLogits.Loss", 0},
	{"mse_masked_f32", "loss.cu", "pppppiidd", "nn.MSE.Loss", 0},
	{"softmax_xent_f32", "loss.cu", "pppppiid", "nn.SoftmaxCrossEntropy.Loss", 0},

	{"lstm_gates_bwd_f32", "lstm.cu", "ppppppppiiiiiiii", "nn.LSTM.Backward (gate gradients)", 0},
	{"lstm_gates_fwd_f32", "lstm.cu", "ppppppppiiiiiiii", "nn.LSTM.Forward (gates)", 0},
	{"lstm_mask_f32", "lstm.cu", "piiiiiif", "nn.maskKey.fill (keyed)", 0},
	{"lstm_mask_steps_f32", "lstm.cu", "pppiii", "nn.LSTM.Forward (input dropout), nn.LSTM.Backward (input gradient dropout)", 0},

	{"concat_bwd_f32", "merge.cu", "pppiii", "nn.Concat.Backward2", 0},
	{"concat_fwd_f32", "merge.cu", "pppiii", "nn.Concat.Forward2", 0},
	{"softmax_bwd_f32", "merge.cu", "pppii", "nn.Softmax.Backward", 0},
	{"softmax_fwd_f32", "merge.cu", "ppii", "nn.Softmax.Forward", 0},

	{"adam_f32", "optim.cu", "ppppiffffffff", "optim.Adam.StepRange", 0},
	{"adamax_f32", "optim.cu", "ppppifffffff", "optim.Adamax.StepRange", 0},
	{"sgd_f32", "optim.cu", "ppiff", "optim.SGD.Step (no momentum)", 0},
	{"sgd_momentum_f32", "optim.cu", "pppifffi", "optim.SGD.Step (momentum or Nesterov)", 0},
}

// Lookup returns the kernel called name.
func Lookup(name string) (Kernel, bool) {
	for _, k := range Table {
		if k.Name == name {
			return k, true
		}
	}
	return Kernel{}, false
}

// Files returns the names of the source files in FS, sorted.
func Files() []string {
	ents, err := fs.ReadDir(FS, ".")
	if err != nil { // cannot happen: FS is embedded
		return nil
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// Source returns the text of one source file, or an error naming it.
func Source(file string) (string, error) {
	b, err := FS.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("kernels: source %q: %w", file, err)
	}
	return string(b), nil
}

// InFile returns the kernels of Table defined in file, in Table order.
func InFile(file string) []Kernel {
	var ks []Kernel
	for _, k := range Table {
		if k.File == file {
			ks = append(ks, k)
		}
	}
	return ks
}
