package cloudmask

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/nn/models"
	"github.com/scibench/scibench/pkg/tensor"
	"github.com/scibench/scibench/pkg/train"
)

// Task is cloud-mask as a train.Task: samples are the training patches,
// the loss is BCE on logits averaged over each patch's pixels and summed
// over the batch, evaluation measures validation pixel accuracy and, after
// the last epoch, runs tiled inference over the inference scenes
// (BENCHMARKS.md §2.2-2.4).
type Task struct {
	cfg   Config
	data  *Data
	model *models.UNet
	cache *bandCache
	log   *slog.Logger
	// MaskDir receives the inference masks and previews; empty: none written.
	MaskDir string

	loss      nn.BCEWithLogits
	in        []*tensor.Tensor
	x, y      tensor.Tensor
	grad      tensor.Tensor
	evalGrad  tensor.Tensor
	lastEpoch int

	// training accuracy since the last evaluation
	trainCorrect, trainPixels float64

	scene Block
	prob  []float32
	tiles [][2]int
}

// NewTask builds the U-Net (Filters wide, 3 levels, he_normal from
// cfg.Seed) and the band cache.
func NewTask(d *Data, cfg Config, log *slog.Logger) (*Task, error) {
	if d == nil || len(d.TrainPatches) == 0 {
		return nil, fmt.Errorf("%w: no training patches", ErrConfig)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := models.NewUNet(models.UNetConfig{InChannels: InputChannels, Filters: cfg.Filters, Levels: 3, Seed: uint64(cfg.Seed)})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t := &Task{cfg: cfg, data: d, model: m, cache: newBandCache(d, cfg, log), log: log,
		loss: nn.BCEWithLogits{Reduction: nn.ReduceSum}}
	t.in = []*tensor.Tensor{&t.x}
	return t, nil
}

// Model returns the U-Net.
func (t *Task) Model() *models.UNet { return t.model }

// DeviceModel is the model as the GPU engine sees it (bench.UseDevice).
func (t *Task) DeviceModel() models.DeviceModel { return t.model }

// Arena implements train.Task.
func (t *Task) Arena() *nn.Arena { return t.model.Arena() }

// NumTrain is the number of training patches.
func (t *Task) NumTrain() int { return len(t.data.TrainPatches) }

// NumEval is the number of validation patches.
func (t *Task) NumEval() int { return len(t.data.ValPatches) }

// ensureBatch sizes t.x [n,9,P,P] and t.y [n,1,P,P].
func (t *Task) ensureBatch(n int) {
	p := t.cfg.PatchSize
	t.x.Ensure(n, InputChannels, p, p)
	t.y.Ensure(n, 1, p, p)
}

// loadPatch copies patch q into slot j of the batch.
func (t *Task) loadPatch(j int, q Patch) error {
	p := t.cfg.PatchSize
	b, err := t.cache.get(q)
	if err != nil {
		return err
	}
	copyPatch(t.x.Data[j*InputChannels*p*p:(j+1)*InputChannels*p*p], t.y.Data[j*p*p:(j+1)*p*p], b, int(q.Col), p)
	return nil
}

// Load fills the input and label buffers with the training patches idx.
func (t *Task) Load(ctx context.Context, idx []int) error {
	t.ensureBatch(len(idx))
	for j, i := range idx {
		if i < 0 || i >= len(t.data.TrainPatches) {
			return fmt.Errorf("%w: sample %d outside %d training patches", ErrShape, i, len(t.data.TrainPatches))
		}
		if err := t.loadPatch(j, t.data.TrainPatches[i]); err != nil {
			return err
		}
	}
	return nil
}

// countCorrect returns the pixels where (logit > 0) == (label > 0.5).
func countCorrect(logits, labels []float32) float64 {
	n := 0
	for i, z := range logits {
		if (z > 0) == (labels[i] > 0.5) {
			n++
		}
	}
	return float64(n)
}

// Forward runs the U-Net in training mode and returns the sum over the
// batch of each patch's mean pixel BCE.
func (t *Task) Forward(ctx context.Context, info train.StepInfo) (float64, error) {
	t.lastEpoch = max(t.lastEpoch, info.Epoch)
	out, err := t.model.Forward(t.in, true)
	if err != nil {
		return 0, err
	}
	t.trainCorrect += countCorrect(out.Data, t.y.Data)
	t.trainPixels += float64(len(out.Data))
	return t.loss.Loss(&t.grad, out, &t.y)
}

// Backward accumulates the gradient of the loss sum.
func (t *Task) Backward(ctx context.Context) error { return t.model.Backward(&t.grad) }

// Layout of the evaluation sums.
const (
	sValCorrect = iota
	sValPixels
	sValLoss
	sValSamples
	sTrainCorrect
	sTrainPixels
	sInferRanks
	sInferNonFinite
	sTP
	sFP
	sFN
	sSkipped
	nFixed
)

// evalLen is the length of the sums vector of a world of size ranks.
func (t *Task) evalLen(size int) int {
	return nFixed + 2*t.data.nBands + 2*len(t.data.Infer) + size
}

// inferenceDue reports whether this evaluation follows the last epoch.
func (t *Task) inferenceDue() bool {
	return t.cfg.Inference && len(t.data.Infer) > 0 && t.lastEpoch >= t.cfg.Epochs
}

// EvalSums evaluates this rank's block of validation patches and returns
// the sums the metrics derive from; after the last epoch it also runs
// inference on this rank's block of inference scenes.
func (t *Task) EvalSums(ctx context.Context, rank, size int) ([]float64, error) {
	d := t.data
	s := make([]float64, t.evalLen(size))
	lo, hi := train.RankBlock(len(d.ValPatches), size, rank)
	for b0 := lo; b0 < hi; b0 += t.cfg.EvalBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ps := d.ValPatches[b0:min(b0+t.cfg.EvalBatch, hi)]
		t.ensureBatch(len(ps))
		for j, q := range ps {
			if err := t.loadPatch(j, q); err != nil {
				return nil, err
			}
		}
		out, err := t.model.Forward(t.in, false)
		if err != nil {
			return nil, err
		}
		l, err := t.loss.Loss(&t.evalGrad, out, &t.y)
		if err != nil {
			return nil, err
		}
		s[sValCorrect] += countCorrect(out.Data, t.y.Data)
		s[sValPixels] += float64(len(out.Data))
		s[sValLoss] += l
		s[sValSamples] += float64(out.Shape[0])
	}
	s[sTrainCorrect], s[sTrainPixels] = t.trainCorrect, t.trainPixels
	t.trainCorrect, t.trainPixels = 0, 0
	if rank == 0 {
		s[sSkipped] = float64(len(d.Skipped))
	}
	copy(s[nFixed:], t.cache.nonFinite)
	copy(s[nFixed+d.nBands:], t.cache.loaded)
	if t.inferenceDue() {
		s[sInferRanks] = 1
		nInf := len(d.Infer)
		accs := s[nFixed+2*d.nBands : nFixed+2*d.nBands+nInf]
		times := s[nFixed+2*d.nBands+nInf : nFixed+2*d.nBands+2*nInf]
		ilo, ihi := train.RankBlock(nInf, size, rank)
		start := time.Now()
		for i := ilo; i < ihi; i++ {
			t0 := time.Now()
			r, err := t.InferScene(ctx, d.Infer[i], i < t.cfg.Previews)
			if err != nil {
				return nil, err
			}
			times[i] = time.Since(t0).Seconds()
			accs[i] = r.Accuracy
			s[sInferNonFinite] += float64(r.NonFinite)
			s[sTP] += r.TP
			s[sFP] += r.FP
			s[sFN] += r.FN
		}
		s[nFixed+2*d.nBands+2*nInf+rank] = time.Since(start).Seconds()
	}
	return s, nil
}

// Metrics derives val_accuracy, val_loss, accuracy (training, since the
// previous evaluation), the non-finite and skipped counts and, when
// inference ran, inference_accuracy (mean over files), the per-file
// accuracies, the cloud-class F1 and time_per_inference (inference wall
// time of the slowest rank over the number of files, §1.4).
func (t *Task) Metrics(sums []float64) ([]train.Metric, error) {
	d := t.data
	nInf := len(d.Infer)
	size := len(sums) - t.evalLen(0)
	if size < 1 {
		return nil, fmt.Errorf("%w: %d evaluation sums, want at least %d", ErrShape, len(sums), t.evalLen(1))
	}
	div := func(a, b float64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return a / b
	}
	nonFinite := sums[sInferNonFinite]
	for b := range d.nBands {
		if n := sums[nFixed+d.nBands+b]; n > 0 {
			nonFinite += sums[nFixed+b] / n
		}
	}
	ms := []train.Metric{
		{Name: "val_accuracy", Key: "eval_accuracy", Value: div(sums[sValCorrect], sums[sValPixels])},
		{Name: "val_loss", Key: "eval_loss", Value: div(sums[sValLoss], sums[sValSamples])},
	}
	if sums[sTrainPixels] > 0 {
		ms = append(ms, train.Metric{Name: "accuracy", Key: "train_accuracy", Value: sums[sTrainCorrect] / sums[sTrainPixels]})
	}
	ms = append(ms,
		train.Metric{Name: "nonfinite_values", Key: "nonfinite_values", Value: math.Round(nonFinite)},
		train.Metric{Name: "skipped_files", Key: "skipped_files", Value: sums[sSkipped]})
	if sums[sInferRanks] == 0 || nInf == 0 {
		return ms, nil
	}
	base := nFixed + 2*d.nBands
	var accSum, timeSum, wall float64
	for i := range nInf {
		accSum += sums[base+i]
		timeSum += sums[base+nInf+i]
	}
	for r := range size {
		wall = max(wall, sums[base+2*nInf+r])
	}
	tp, fp, fn := sums[sTP], sums[sFP], sums[sFN]
	ms = append(ms,
		train.Metric{Name: "inference_accuracy", Key: "inference_accuracy", Value: accSum / float64(nInf)},
		train.Metric{Name: "inference_f1_cloud", Key: "f1_score", Value: div(2*tp, 2*tp+fp+fn)},
		train.Metric{Name: "time_per_inference", Key: "time_per_inference", Value: wall / float64(nInf),
			Meta: map[string]string{"unit": "s/file", "files": fmt.Sprint(nInf)}},
		train.Metric{Name: "time_per_inference_file", Key: "time_per_inference_file", Value: timeSum / float64(nInf),
			Meta: map[string]string{"unit": "s/file", "what": "mean per-file latency (read, tile, predict, write)"}},
		train.Metric{Name: "inference_s", Key: "inference_s", Value: wall},
	)
	for i, si := range d.Infer {
		ms = append(ms, train.Metric{Name: fmt.Sprintf("inference_accuracy_%03d", i), Key: "inference_accuracy_file",
			Value: sums[base+i], Meta: map[string]string{"file": si.Name}})
	}
	return ms, nil
}
