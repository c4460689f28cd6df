package gpunn

import (
	"context"
	"errors"
	"fmt"

	"github.com/scibench/scibench/pkg/gpu"
)

// ErrConfig reports an invalid Config or argument.
var ErrConfig = errors.New("gpunn: invalid configuration")

// kernelNames are the kernels of package kernels the engine uses.
var kernelNames = []string{
	"fill_f32", "scale_f32", "axpy_f32", "bias_add_rows_f32", "bias_grad_rows_f32",
	"relu_fwd_f32", "relu_bwd_f32", "mse_masked_f32", "sum_f64", "adamax_f32",
	"im2col_f32", "col2im_f32", "bias_add_channels_f32", "bias_grad_channels_f32", "maxpool_fwd_f32", "maxpool_bwd_f32", "upsample_nearest_fwd_f32", "upsample_nearest_bwd_f32", "gap_fwd_f32", "gap_bwd_f32",
	"adam_f32", "sgd_f32", "sgd_momentum_f32",
	"im2col_batch_f32", "col2im_batch_f32", "sum_samples_f32",
	"lstm_gates_fwd_f32", "lstm_gates_bwd_f32", "lstm_mask_f32", "lstm_mask_steps_f32",
	"batchnorm_stats_f32", "batchnorm_eval_stats_f32", "batchnorm_fwd_f32", "batchnorm_bwd_reduce_f32", "batchnorm_bwd_dx_f32", "selu_fwd_f32", "selu_bwd_f32", "sigmoid_fwd_f32", "sigmoid_bwd_f32", "tanh_fwd_f32", "tanh_bwd_f32", "add_f32", "dropout_apply_f32", "concat_fwd_f32", "concat_bwd_f32", "softmax_fwd_f32", "softmax_bwd_f32",
}

// Config names the device resources an Engine uses; the Engine owns none
// of them (the caller closes them).
type Config struct {
	// Context is the device context (required).
	Context *gpu.Context
	// Module holds the kernels of package kernels (Context.LoadKernels).
	Module *gpu.Module
	// Stream orders every launch and SGEMM of the engine.
	Stream *gpu.Stream
	// Blas is a cuBLAS handle bound to Stream (Context.NewBlas(Stream, ...)).
	Blas *gpu.Blas
	// Block is the threads per block of element-wise launches (0: 256). It
	// must be a power of two ≤ 1024 (the reduction kernels need one).
	Block int

	// guard elements of a known pattern around every allocation (tests).
	guard int
}

// Validate checks cfg.
func (c Config) Validate() error {
	switch {
	case c.Context == nil:
		return fmt.Errorf("%w: no Context", ErrConfig)
	case c.Module == nil:
		return fmt.Errorf("%w: no Module", ErrConfig)
	case c.Stream == nil:
		return fmt.Errorf("%w: no Stream", ErrConfig)
	case c.Blas == nil:
		return fmt.Errorf("%w: no Blas", ErrConfig)
	case c.Block < 0 || c.Block > 1024 || c.Block&(c.Block-1) != 0:
		return fmt.Errorf("%w: Block %d is not a power of two ≤ 1024", ErrConfig, c.Block)
	}
	return nil
}

// Engine runs layers, losses and optimizers on one device stream.
type Engine struct {
	c      *gpu.Context
	s      *gpu.Stream
	bl     *gpu.Blas
	block  int
	guard  int
	fn     map[string]*gpu.Function
	allocs []*devBuf
}

// New checks cfg and looks up the kernels the engine needs.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{c: cfg.Context, s: cfg.Stream, bl: cfg.Blas, block: cfg.Block, guard: cfg.guard,
		fn: make(map[string]*gpu.Function, len(kernelNames))}
	if e.block == 0 {
		e.block = 256
	}
	for _, name := range kernelNames {
		f, err := cfg.Module.Function(name)
		if err != nil {
			return nil, fmt.Errorf("gpunn: %s: %w", e.where(), err)
		}
		e.fn[name] = f
	}
	return e, nil
}

func (e *Engine) where() string {
	d := e.c.Device()
	return fmt.Sprintf("device %d (%s)", d.Index, d.Name)
}

// Synchronize waits for everything queued on the engine's stream.
func (e *Engine) Synchronize(ctx context.Context) error { return e.s.Synchronize(ctx) }

// launch queues kernel name over n elements.
func (e *Engine) launch(name string, n int, args ...any) error {
	return e.s.Launch(e.fn[name], gpu.Linear(n, e.block), args...)
}

// devBuf is a device allocation of n float32s (or n float64s when elem is
// 8) starting off bytes into buf; with a guard, buf has guard elements
// before (front only) and after the data.
type devBuf struct {
	buf   *gpu.Buffer
	off   int // bytes before the data
	n     int
	elem  int
	front bool
}

// at returns the address of element i.
func (d *devBuf) at(i int) gpu.Ptr { return d.buf.At(d.off + i*d.elem) }

// guardByte fills guard bands; 0xa5a5a5a5 as a float32 is a value no
// computation here produces by chance.
const guardByte = 0xa5

// alloc allocates n elements of elem bytes, zeroed. front puts a guard
// band before the data too: only for buffers that kernels alone touch,
// since SGEMM takes whole buffers.
func (e *Engine) alloc(what string, n, elem int, front bool) (*devBuf, error) {
	if n <= 0 {
		return nil, fmt.Errorf("gpunn: %s: %s: %d elements", e.where(), what, n)
	}
	d := &devBuf{n: n, elem: elem, front: front}
	total := n + e.guard
	if front {
		d.off = e.guard * elem
		total += e.guard
	}
	b, err := e.c.Alloc(total * elem)
	if err != nil {
		return nil, fmt.Errorf("gpunn: %s: %w", what, err)
	}
	d.buf = b
	raw := make([]byte, total*elem)
	if e.guard > 0 {
		for i := range raw {
			raw[i] = guardByte
		}
		clear(raw[d.off : d.off+n*elem])
	}
	if err := e.c.CopyHtoD(b, raw); err != nil {
		_ = b.Free()
		return nil, fmt.Errorf("gpunn: %s: %w", what, err)
	}
	e.allocs = append(e.allocs, d)
	return d, nil
}

// Free frees every device buffer the engine allocated (arenas, layer
// buffers, optimizer state). It does not free the Config's resources.
func (e *Engine) Free() error {
	var errs []error
	for _, d := range e.allocs {
		errs = append(errs, d.buf.Free())
	}
	e.allocs = nil
	return errors.Join(errs...)
}

// upload copies x into d (synchronously, on the default stream: the
// caller synchronizes the engine stream first when it may be using d).
func (e *Engine) upload(d *devBuf, x []float32) error {
	if len(x) != d.n {
		return fmt.Errorf("gpunn: %s: upload of %d values into %d", e.where(), len(x), d.n)
	}
	if d.off == 0 {
		return e.c.CopyHtoD(d.buf, gpu.Float32Bytes(x))
	}
	raw := make([]byte, d.buf.Size())
	if err := e.c.CopyDtoH(raw, d.buf); err != nil {
		return err
	}
	copy(raw[d.off:], gpu.Float32Bytes(x))
	return e.c.CopyHtoD(d.buf, raw)
}

// download copies d into dst.
func (e *Engine) download(dst []float32, d *devBuf) error {
	if len(dst) != d.n {
		return fmt.Errorf("gpunn: %s: download of %d values into %d", e.where(), d.n, len(dst))
	}
	if d.off == 0 {
		return e.c.CopyDtoH(gpu.Float32Bytes(dst), d.buf)
	}
	raw := make([]byte, d.buf.Size())
	if err := e.c.CopyDtoH(raw, d.buf); err != nil {
		return err
	}
	copy(gpu.Float32Bytes(dst), raw[d.off:d.off+4*d.n])
	return nil
}
