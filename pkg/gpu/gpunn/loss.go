package gpunn

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/scibench/scibench/pkg/gpu"
)

// MSE is the device twin of nn.MSE{Reduction: nn.ReduceSum} without
// weights: per sample the mean over outputs of (pred − target)², summed
// over the batch; NaN targets are masked out.
type MSE struct {
	e     *Engine
	terms *devBuf // per-element terms in float64
	sum   *devBuf // the float64 sum
	grad  *devBuf
	cap   int
}

// NewMSE returns the loss; its buffers grow with the batch.
func (e *Engine) NewMSE() *MSE { return &MSE{e: e} }

// Loss computes the loss of pred against target (same shape [N, ..., k])
// and writes dL/dpred into the returned tensor (valid until the next call
// with more elements). It waits for the stream to read the sum back.
func (l *MSE) Loss(ctx context.Context, pred, target Tensor) (float64, Tensor, error) {
	e := l.e
	if err := e.fits("MSE", "prediction", pred); err != nil {
		return 0, Tensor{}, err
	}
	if err := e.fits("MSE", "target", target); err != nil {
		return 0, Tensor{}, err
	}
	if len(pred.Shape) < 2 || !slices.Equal(pred.Shape, target.Shape) {
		return 0, Tensor{}, fmt.Errorf("gpunn: %s: MSE: prediction %v and target %v differ or have no batch axis", e.where(), pred.Shape, target.Shape)
	}
	n, k := pred.Len(), pred.Shape[len(pred.Shape)-1]
	if n > l.cap {
		var err error
		if l.terms, err = e.alloc("MSE terms", n, 8, true); err != nil {
			return 0, Tensor{}, err
		}
		if l.grad, err = e.alloc("MSE gradient", n, 4, false); err != nil {
			return 0, Tensor{}, err
		}
		if l.sum == nil {
			if l.sum, err = e.alloc("MSE sum", 1, 8, false); err != nil {
				return 0, Tensor{}, err
			}
		}
		l.cap = n
	}
	if err := e.launch("mse_masked_f32", n, l.terms.at(0), l.grad.at(0), pred.P, target.P, gpu.Null,
		n, k, 1/float64(k), float64(1)); err != nil {
		return 0, Tensor{}, fmt.Errorf("gpunn: MSE: %w", err)
	}
	lc := gpu.LaunchConfig{Grid: gpu.Dim3{X: 1}, Block: gpu.Dim3{X: e.block}}
	if err := e.s.Launch(e.fn["sum_f64"], lc, l.sum.at(0), l.terms.at(0), n); err != nil {
		return 0, Tensor{}, fmt.Errorf("gpunn: MSE sum: %w", err)
	}
	if err := e.Synchronize(ctx); err != nil {
		return 0, Tensor{}, fmt.Errorf("gpunn: MSE: %w", err)
	}
	var raw [8]byte
	if err := e.c.CopyDtoH(raw[:], l.sum.buf); err != nil {
		return 0, Tensor{}, fmt.Errorf("gpunn: MSE: %w", err)
	}
	bits := uint64(0)
	for i := 7; i >= 0; i-- {
		bits = bits<<8 | uint64(raw[i])
	}
	return math.Float64frombits(bits), l.grad.tensor(pred.Shape...), nil
}
