package stemdl

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/nn/models"
	"github.com/scibench/scibench/pkg/tensor"
	"github.com/scibench/scibench/pkg/train"
)

// Task is the stemdl classification benchmark as a train.Task: a ResNet
// on (3, S, S) CBED images, 231 classes, the loss summed over the batch
// (cross-entropy, or MSE of the logits against one-hot targets averaged
// over the 231 outputs per sample), evaluation on the validation folder
// (and the inference folder) with top-1 and dataset-level macro F1.
type Task struct {
	cfg   Config
	data  *Data
	model *models.ResNet

	ce     nn.SoftmaxCrossEntropy
	mse    nn.MSE
	x      tensor.Tensor
	in     []*tensor.Tensor
	labels []int
	onehot tensor.Tensor
	grad   tensor.Tensor

	// evaluation scratch
	ex      tensor.Tensor
	ein     []*tensor.Tensor
	elabels []int
	preds   []int
	egrad   tensor.Tensor
	scratch []float64
}

// NewTask builds the model (seeded by cfg.Seed, identical on every rank)
// over the loaded data.
func NewTask(d *Data, cfg Config) (*Task, error) {
	if d == nil || d.Train == nil || d.Val == nil {
		return nil, fmt.Errorf("%w: training and validation data are required", ErrConfig)
	}
	seed := uint64(cfg.Seed)
	if seed == 0 {
		seed = 1234
	}
	m, err := models.NewResNet(models.ResNetConfig{Depth: cfg.Depth(), InChannels: Channels, Classes: NumClasses, Width: cfg.Width, Seed: seed})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t := &Task{cfg: cfg, data: d, model: m,
		ce:      nn.SoftmaxCrossEntropy{Reduction: nn.ReduceSum},
		mse:     nn.MSE{Reduction: nn.ReduceSum},
		scratch: make([]float64, 3*NumClasses+1)}
	t.in = []*tensor.Tensor{&t.x}
	t.ein = []*tensor.Tensor{&t.ex}
	return t, nil
}

// Model returns the ResNet.
func (t *Task) Model() *models.ResNet { return t.model }

// DeviceModel is the model as the GPU engine sees it (bench.UseDevice).
func (t *Task) DeviceModel() models.DeviceModel { return t.model }

// Data returns the loaded dataset.
func (t *Task) Data() *Data { return t.data }

// Arena implements train.Task.
func (t *Task) Arena() *nn.Arena { return t.model.Arena() }

// NumTrain is the number of training samples.
func (t *Task) NumTrain() int { return t.data.Train.Len() }

// NumEval is the number of validation samples.
func (t *Task) NumEval() int { return t.data.Val.Len() }

// Load copies the samples idx into the input batch.
func (t *Task) Load(ctx context.Context, idx []int) error {
	s := t.data.Train
	n := s.Len()
	per := Channels * s.Size * s.Size
	t.x.Ensure(len(idx), Channels, s.Size, s.Size)
	t.labels = t.labels[:0]
	for j, i := range idx {
		if i < 0 || i >= n {
			return fmt.Errorf("%w: sample %d outside %d training samples", ErrShape, i, n)
		}
		copy(t.x.Data[j*per:(j+1)*per], s.Sample(i))
		t.labels = append(t.labels, s.Y[i])
	}
	return ctx.Err()
}

// loss computes the configured loss sum of out against labels and writes
// its gradient into grad.
func (t *Task) loss(grad, out *tensor.Tensor, labels []int) (float64, error) {
	if t.cfg.Loss == LossMSEOneHot {
		b := len(labels)
		t.onehot.Ensure(b, NumClasses)
		clear(t.onehot.Data)
		for i, l := range labels {
			if l < 0 || l >= NumClasses {
				return 0, fmt.Errorf("%w: label %d", ErrLabel, l)
			}
			t.onehot.Data[i*NumClasses+l] = 1
		}
		return t.mse.Loss(grad, out, &t.onehot)
	}
	return t.ce.Loss(grad, out, labels)
}

// Forward runs the model in training mode and returns the loss summed
// over the batch, with dL/dlogits kept for Backward. The model has no
// dropout, so the step's mask key is not needed.
func (t *Task) Forward(ctx context.Context, info train.StepInfo) (float64, error) {
	out, err := t.model.Forward(t.in, true)
	if err != nil {
		return 0, err
	}
	return t.loss(&t.grad, out, t.labels)
}

// Backward accumulates the gradient of the loss sum.
func (t *Task) Backward(ctx context.Context) error { return t.model.Backward(&t.grad) }

// Layout of the evaluation sums.
const k3 = 3*NumClasses + 1

var (
	offVal      = 0
	offValLoss  = k3
	offBatchF1  = k3 + 1
	offBatchN   = k3 + 2
	offInf      = k3 + 3
	offInfWall  = 2*k3 + 3
	offRanks    = 2*k3 + 4
	evalSumsLen = 2*k3 + 5
)

// evalSplit predicts this rank's contiguous block of s in batches of
// EvalBatch, adding to counts; it returns the loss sum, the sum of the
// per-batch macro F1 and the number of batches.
func (t *Task) evalSplit(ctx context.Context, s *Split, rank, size int, counts *Counts) (loss, f1Sum, batches float64, err error) {
	lo, hi := train.RankBlock(s.Len(), size, rank)
	per := Channels * s.Size * s.Size
	bs := t.cfg.EvalBatch
	for b0 := lo; b0 < hi; b0 += bs {
		if err := ctx.Err(); err != nil {
			return 0, 0, 0, err
		}
		b1 := min(b0+bs, hi)
		t.ex.Ensure(b1-b0, Channels, s.Size, s.Size)
		copy(t.ex.Data, s.X[b0*per:b1*per])
		t.elabels = append(t.elabels[:0], s.Y[b0:b1]...)
		out, err := t.model.Forward(t.ein, false)
		if err != nil {
			return 0, 0, 0, err
		}
		l, err := t.loss(&t.egrad, out, t.elabels)
		if err != nil {
			return 0, 0, 0, err
		}
		loss += l
		t.preds = t.preds[:0]
		for i, y := range t.elabels {
			p := Argmax(out.Data[i*NumClasses : (i+1)*NumClasses])
			t.preds = append(t.preds, p)
			counts.Add(y, p)
		}
		f1Sum += BatchMacroF1(t.elabels, t.preds, NumClasses, t.scratch)
		batches++
	}
	return loss, f1Sum, batches, nil
}

// EvalSums evaluates this rank's block of the validation folder (and of
// the inference folder when configured) and returns the sums the metrics
// are derived from: per-class TP/FP/FN and counts, the loss sum, the
// per-batch F1 sum and batch count, the inference counts, the inference
// wall time and 1 (the rank count).
func (t *Task) EvalSums(ctx context.Context, rank, size int) ([]float64, error) {
	sums := make([]float64, evalSumsLen)
	vc := CountsFrom(NumClasses, sums[offVal:offVal+k3])
	l, f1, nb, err := t.evalSplit(ctx, t.data.Val, rank, size, vc)
	if err != nil {
		return nil, err
	}
	sums[offValLoss], sums[offBatchF1], sums[offBatchN] = l, f1, nb
	if s := t.data.Inference; s != nil && t.cfg.Inference {
		ic := CountsFrom(NumClasses, sums[offInf:offInf+k3])
		t0 := time.Now()
		if _, _, _, err := t.evalSplit(ctx, s, rank, size, ic); err != nil {
			return nil, err
		}
		sums[offInfWall] = time.Since(t0).Seconds()
	}
	sums[offRanks] = 1
	return sums, nil
}

// Metrics derives the metrics from the sums over all ranks: top1
// (eval_accuracy), macro_f1 (f1_score, dataset level), f1_batchavg (the
// ORNL per-batch average ×100), eval_loss, and for the inference folder
// inference_top1, inference_macro_f1 and time_per_inference (mean rank
// wall time / samples).
func (t *Task) Metrics(sums []float64) ([]train.Metric, error) {
	if len(sums) != evalSumsLen {
		return nil, fmt.Errorf("%w: %d evaluation sums, want %d", ErrShape, len(sums), evalSumsLen)
	}
	vc := CountsFrom(NumClasses, sums[offVal:offVal+k3])
	f1, nc := vc.MacroF1()
	div := func(a, b float64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return a / b
	}
	ms := []train.Metric{
		{Name: "top1", Key: "eval_accuracy", Value: vc.Top1()},
		{Name: "macro_f1", Key: "f1_score", Value: f1, Meta: map[string]string{"level": "dataset", "classes": fmt.Sprint(nc)}},
		{Name: "f1_batchavg", Key: "f1_batchavg", Value: 100 * div(sums[offBatchF1], sums[offBatchN]),
			Meta: map[string]string{"level": "per-batch average x100 (ORNL)", "batch": fmt.Sprint(t.cfg.EvalBatch)}},
		{Name: "eval_loss", Key: "eval_loss", Value: div(sums[offValLoss], vc.N()), Meta: map[string]string{"loss": t.cfg.Loss}},
	}
	ic := CountsFrom(NumClasses, sums[offInf:offInf+k3])
	if ic.N() > 0 {
		if1, _ := ic.MacroF1()
		ranks := max(sums[offRanks], 1)
		ms = append(ms,
			train.Metric{Name: "inference_top1", Key: "inference_accuracy", Value: ic.Top1()},
			train.Metric{Name: "inference_macro_f1", Key: "inference_f1_score", Value: if1},
			train.Metric{Name: "time_per_inference", Key: "time_per_inference", Value: sums[offInfWall] / ranks / ic.N(),
				Meta: map[string]string{"unit": "s/sample"}})
	}
	return ms, nil
}

// SaveState writes the BatchNorm running statistics (model state outside
// the arena) for checkpoints.
func (t *Task) SaveState(w io.Writer) error {
	var buf []byte
	for _, bn := range t.model.BatchNorms() {
		for _, v := range [][]float32{bn.RunningMean, bn.RunningVar} {
			for _, f := range v {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
			}
		}
	}
	var hdr [8]byte
	binary.LittleEndian.PutUint64(hdr[:], uint64(len(buf)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(buf)
	return err
}

// LoadState restores what SaveState wrote.
func (t *Task) LoadState(r io.Reader) error {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("%w: batch-norm state: %w", ErrFormat, err)
	}
	want := 0
	for _, bn := range t.model.BatchNorms() {
		want += 4 * (len(bn.RunningMean) + len(bn.RunningVar))
	}
	if n := binary.LittleEndian.Uint64(hdr[:]); n != uint64(want) {
		return fmt.Errorf("%w: batch-norm state of %d bytes, want %d", ErrFormat, n, want)
	}
	buf := make([]byte, want)
	if _, err := io.ReadFull(r, buf); err != nil {
		return fmt.Errorf("%w: batch-norm state: %w", ErrFormat, err)
	}
	o := 0
	for _, bn := range t.model.BatchNorms() {
		for _, v := range [][]float32{bn.RunningMean, bn.RunningVar} {
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[o:]))
				o += 4
			}
		}
	}
	return nil
}
