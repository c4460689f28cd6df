package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/scibench/scibench/pkg/tensor"
)

// Loss errors.
var (
	// ErrLossShape reports predictions, targets, weights or labels whose
	// shapes disagree.
	ErrLossShape = errors.New("nn: loss shape mismatch")
	// ErrLabel reports a class label outside [0, classes).
	ErrLabel = errors.New("nn: label out of range")
)

// Reduction selects what a loss returns. Every loss is a sum over the batch
// of a per-sample loss; ReduceMean (the zero value, Keras' meaning) divides
// it by the local batch size N, ReduceSum does not, so a data-parallel loop
// can all-reduce sums and divide by the global batch (BENCHMARKS.md §1.5).
// The gradient written matches the value returned.
type Reduction int

// Reductions.
const (
	ReduceMean Reduction = iota
	ReduceSum
)

// batchScale is 1/N for ReduceMean and 1 for ReduceSum.
func (r Reduction) batchScale(n int) float64 {
	if r == ReduceSum || n == 0 {
		return 1
	}
	return 1 / float64(n)
}

// checkPair checks that pred and target have the same shape and returns
// the batch size (first axis) and the elements per sample.
func checkPair(name string, pred, target *tensor.Tensor) (n, k int, err error) {
	if len(pred.Shape) == 0 || !sameShape(pred.Shape, target.Shape) ||
		len(pred.Data) != pred.Len() || len(target.Data) != target.Len() {
		return 0, 0, fmt.Errorf("%w: %s prediction %v, target %v", ErrLossShape, name, pred.Shape, target.Shape)
	}
	n = pred.Shape[0]
	if n > 0 {
		k = len(pred.Data) / n
	}
	return n, k, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// MSE is the mean squared error. Per sample it is
// Σ_k w_k·(y_k − ŷ_k)² over the outputs k whose target is not NaN.
// With Weights nil, w_k = 1/K (Keras' plain mean over outputs, as
// candle-uno uses); otherwise Weights has one entry per output (the last
// axis) and is used as given (earthquake: Σ w_k(y−ŷ)² / batch,
// BENCHMARKS.md §5.3). NaN targets contribute nothing to the loss or the
// gradient.
type MSE struct {
	Weights   []float32
	Reduction Reduction
}

// Loss returns the loss of pred against target and writes dL/dpred into
// grad (reshaped to pred's shape, reusing its capacity).
func (l *MSE) Loss(grad, pred, target *tensor.Tensor) (float64, error) {
	n, k, err := checkPair("MSE", pred, target)
	if err != nil {
		return 0, err
	}
	last := pred.Shape[len(pred.Shape)-1]
	if l.Weights != nil && len(l.Weights) != last {
		return 0, fmt.Errorf("%w: MSE has %d weights for %d outputs", ErrLossShape, len(l.Weights), last)
	}
	grad.Ensure(pred.Shape...)
	bs := l.Reduction.batchScale(n)
	uniform := 1.0
	if k > 0 {
		uniform = 1 / float64(k)
	}
	var sum float64
	for i, p := range pred.Data {
		y := target.Data[i]
		if y != y { // NaN target: masked out
			grad.Data[i] = 0
			continue
		}
		w := uniform
		if l.Weights != nil {
			w = float64(l.Weights[i%last])
		}
		d := float64(p) - float64(y)
		sum += w * d * d
		grad.Data[i] = float32(2 * w * d * bs)
	}
	return sum * bs, nil
}

// MAE is the mean absolute error: per sample the mean over outputs of
// |y − ŷ|. Its gradient at y = ŷ is 0.
type MAE struct {
	Reduction Reduction
}

// Loss returns the loss and writes dL/dpred into grad.
func (l *MAE) Loss(grad, pred, target *tensor.Tensor) (float64, error) {
	n, k, err := checkPair("MAE", pred, target)
	if err != nil {
		return 0, err
	}
	grad.Ensure(pred.Shape...)
	s := l.Reduction.batchScale(n)
	if k > 0 {
		s /= float64(k)
	}
	var sum float64
	for i, p := range pred.Data {
		d := float64(p) - float64(target.Data[i])
		sum += math.Abs(d)
		switch {
		case d > 0:
			grad.Data[i] = float32(s)
		case d < 0:
			grad.Data[i] = float32(-s)
		default:
			grad.Data[i] = 0
		}
	}
	return sum * s, nil
}

// BCEWithLogits is binary cross-entropy on logits z with targets y in
// [0, 1], computed stably as max(z,0) − z·y + log(1+e^−|z|). Per sample it
// is the mean over the sample's elements (so ReduceMean is the mean over
// all elements).
type BCEWithLogits struct {
	Reduction Reduction
}

// Loss returns the loss and writes dL/dz = (σ(z) − y)·scale into grad.
func (l *BCEWithLogits) Loss(grad, logits, target *tensor.Tensor) (float64, error) {
	n, k, err := checkPair("BCEWithLogits", logits, target)
	if err != nil {
		return 0, err
	}
	grad.Ensure(logits.Shape...)
	s := l.Reduction.batchScale(n)
	if k > 0 {
		s /= float64(k)
	}
	var sum float64
	for i, zf := range logits.Data {
		z, y := float64(zf), float64(target.Data[i])
		sum += math.Max(z, 0) - z*y + math.Log1p(math.Exp(-math.Abs(z)))
		grad.Data[i] = float32((float64(sigmoid(zf)) - y) * s)
	}
	return sum * s, nil
}

// SoftmaxCrossEntropy is −log softmax(z)[label] per sample, on logits
// [N, C] (or [..., C]: every leading position is a sample for the sum, the
// first axis is the batch for ReduceMean) with integer labels.
type SoftmaxCrossEntropy struct {
	Reduction Reduction
}

// Loss returns the loss and writes dL/dz = (softmax(z) − onehot)·scale into
// grad. labels has one entry per row of C logits.
func (l *SoftmaxCrossEntropy) Loss(grad, logits *tensor.Tensor, labels []int) (float64, error) {
	if len(logits.Shape) == 0 || len(logits.Data) != logits.Len() {
		return 0, fmt.Errorf("%w: SoftmaxCrossEntropy logits %v", ErrLossShape, logits.Shape)
	}
	c := logits.Shape[len(logits.Shape)-1]
	rows := 0
	if c > 0 {
		rows = len(logits.Data) / c
	}
	if rows != len(labels) {
		return 0, fmt.Errorf("%w: SoftmaxCrossEntropy %d rows of logits %v, %d labels", ErrLossShape, rows, logits.Shape, len(labels))
	}
	grad.Ensure(logits.Shape...)
	s := l.Reduction.batchScale(logits.Shape[0])
	var sum float64
	for r, lab := range labels {
		if lab < 0 || lab >= c {
			return 0, fmt.Errorf("%w: row %d label %d, %d classes", ErrLabel, r, lab, c)
		}
		zr := logits.Data[r*c : (r+1)*c]
		gr := grad.Data[r*c : (r+1)*c]
		m := zr[0]
		for _, v := range zr {
			m = max(m, v)
		}
		var se float64
		for _, v := range zr {
			se += math.Exp(float64(v - m))
		}
		lse := math.Log(se) + float64(m)
		sum += lse - float64(zr[lab])
		for i, v := range zr {
			gr[i] = float32(math.Exp(float64(v)-lse) * s)
		}
		gr[lab] -= float32(s)
	}
	return sum * s, nil
}
