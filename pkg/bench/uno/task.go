package uno

import (
	"context"
	"fmt"
	"math"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/nn/models"
	"github.com/scibench/scibench/pkg/optim"
	"github.com/scibench/scibench/pkg/tensor"
	"github.com/scibench/scibench/pkg/train"
)

// Task is candle-uno as a train.Task. Training samples are the rows of the
// train partition; in file order (the reference, Shuffle false) the step's
// global batch is rows [step·B, (step+1)·B) and this rank reads its
// contiguous sub-block, whatever order the loop hands out; with Shuffle
// the loop's seeded permutation picks the rows. The loss is the squared
// error summed over the rank's rows. Evaluation predicts the eval
// partition with (permanent) dropout active, masks keyed by row, so the
// metrics do not depend on the number of workers.
type Task struct {
	cfg      Config
	model    *models.Uno
	train    rowSource
	eval     rowSource
	nTrain   int
	nEval    int
	gb       int
	plateau  *optim.Plateau
	sched    optim.Schedule
	stopAt   int // epoch at which early stopping fired (0: not yet)
	observed int // evaluations seen by the plateau
	evals    uint64
	file     *File  // open in stream mode
	path     string // the data file (for the predictions' names)
	predPath string // where InferMetrics writes the predictions ("": nowhere)

	idx              []int
	cell, drug, y    tensor.Tensor
	grad             tensor.Tensor
	in               []*tensor.Tensor
	loss             nn.MSE
	ecell, edrug, ey tensor.Tensor
}

// newTask builds the model; the data sources come from Setup.
func newTask(cfg Config, cw, dw int, trainSrc, evalSrc rowSource, nTrain, nEval, gb int) (*Task, error) {
	mc := models.UnoConfig{CellFeatures: cw, DrugFeatures: dw, Hidden: cfg.Hidden, TowerLayers: cfg.TowerLayers,
		HeadLayers: cfg.HeadLayers, Dropout: cfg.Dropout, Seed: uint64(cfg.InitSeed), DropoutSeed: uint64(cfg.Seed)}
	if mc.Dropout == 0 {
		mc.Dropout = -1 // the model treats 0 as "default"
	}
	if cfg.TowerLayers == 0 || cfg.HeadLayers == 0 {
		return nil, fmt.Errorf("%w: tower_layers and head_layers must be >= 1 here", ErrConfig)
	}
	m, err := models.NewUno(mc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	p := optim.NewPlateau(optim.PlateauConfig{LR: cfg.LearningRate, Factor: cfg.PlateauFactor, Patience: cfg.PlateauPatience,
		MinLR: cfg.MinLR, MinDelta: cfg.PlateauMinDelta, StopPatience: cfg.EarlyStop})
	t := &Task{cfg: cfg, model: m, train: trainSrc, eval: evalSrc, nTrain: nTrain, nEval: nEval, gb: gb, plateau: p,
		sched: optim.Then{First: optim.Linear{Start: cfg.WarmupStart, End: cfg.LearningRate, Epochs: cfg.WarmupEpochs},
			Until: cfg.WarmupEpochs, After: p},
		idx: make([]int, 0, gb), loss: nn.MSE{Reduction: nn.ReduceSum}}
	t.in = []*tensor.Tensor{&t.cell, &t.drug}
	return t, nil
}

// Model returns the network.
func (t *Task) Model() *models.Uno { return t.model }

// DeviceModel is the model as the GPU engine sees it (bench.UseDevice).
func (t *Task) DeviceModel() models.DeviceModel { return t.model }

// Arena implements train.Task.
func (t *Task) Arena() *nn.Arena { return t.model.Arena() }

// NumTrain is the number of training rows.
func (t *Task) NumTrain() int { return t.nTrain }

// NumEval is the number of evaluation rows.
func (t *Task) NumEval() int { return t.nEval }

// LR is the learning rate of epoch e (1-based, as train.Config.LR): the
// warm-down for e−1 ≤ WarmupEpochs, then the plateau's rate.
func (t *Task) LR(e int) float64 { return t.sched.LR(e - 1) }

// StopEpoch returns the epoch after which early stopping (patience
// early_stop_patience on the validation loss) fired, 0 if it has not.
func (t *Task) StopEpoch() int { return t.stopAt }

// EarlyStop implements train.EarlyStopper: the loop stops after the epoch
// at which early stopping fired.
func (t *Task) EarlyStop() bool { return t.stopAt > 0 }

// Load records the step's sample numbers; the rows are read in Forward,
// which knows the step (file order).
func (t *Task) Load(ctx context.Context, idx []int) error {
	if len(idx) > t.gb {
		return fmt.Errorf("%w: %d samples in a step of global batch %d", ErrConfig, len(idx), t.gb)
	}
	t.idx = append(t.idx[:0], idx...)
	return ctx.Err()
}

// read fills the input buffers with this step's rows.
func (t *Task) read(info train.StepInfo) error {
	n := len(t.idx)
	t.cell.Ensure(n, t.model.Config().CellFeatures)
	t.drug.Ensure(n, t.model.Config().DrugFeatures)
	t.y.Ensure(n, 1)
	cw, dw := t.model.Config().CellFeatures, t.model.Config().DrugFeatures
	if !t.cfg.Shuffle {
		start := info.Step*t.gb + info.First
		return t.train.ReadRows(start, n, t.cell.Data, t.drug.Data, t.y.Data)
	}
	for j, r := range t.idx {
		if err := t.train.ReadRows(r, 1, t.cell.Data[j*cw:(j+1)*cw], t.drug.Data[j*dw:(j+1)*dw], t.y.Data[j:j+1]); err != nil {
			return err
		}
	}
	return nil
}

// Forward reads the rows, runs the model (dropout masks keyed by the step
// and the row's place in the global batch) and returns the squared error
// summed over them.
func (t *Task) Forward(ctx context.Context, info train.StepInfo) (float64, error) {
	if err := t.read(info); err != nil {
		return 0, err
	}
	t.model.SetMaskKey(info.MaskKey(), info.First)
	out, err := t.model.Forward(t.in, true)
	if err != nil {
		return 0, err
	}
	return t.loss.Loss(&t.grad, out, &t.y)
}

// Backward accumulates the gradient of the loss sum.
func (t *Task) Backward(ctx context.Context) error {
	return t.model.Backward(&t.grad)
}

// Evaluation sums, in order.
const (
	sumSE = iota // Σ(y−ŷ)²
	sumAE        // Σ|y−ŷ|
	sumY
	sumY2
	sumP
	sumP2
	sumYP
	sumN
	nSums
)

// r2BatchRows is the batch of the Keras per-batch R² (r2_batch): the
// reference validates in batches of its 32 rows, in file order.
const r2BatchRows = 32

// Per-batch slots of r2_batch after the nSums sums: Σ(y−ŷ)², Σy, Σy², n.
const (
	bSE = iota
	bY
	bY2
	bN
	nB
)

// evalLen is the length of the evaluation vector: the sums, then the
// per-batch slots of every r2_batch batch of the eval split.
func (t *Task) evalLen() int {
	return nSums + nB*((t.nEval+r2BatchRows-1)/r2BatchRows)
}

// r2Batch is the Keras metric: each batch's 1 − SS_res/(SS_tot + 1e-7),
// averaged over the batches weighted by their rows (as Keras 2 averages
// metrics in evaluate).
func r2Batch(slots []float64) float64 {
	num, den := 0.0, 0.0
	for b := 0; b+nB <= len(slots); b += nB {
		n := slots[b+bN]
		if n == 0 {
			continue
		}
		ssTot := slots[b+bY2] - slots[b+bY]*slots[b+bY]/n
		num += n * (1 - slots[b+bSE]/(ssTot+1e-7))
		den += n
	}
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// EvalSums predicts this rank's contiguous block of the eval partition
// and returns the sums the metrics derive from.
func (t *Task) EvalSums(ctx context.Context, rank, size int) ([]float64, error) {
	t.evals++
	key := nn.MixKey(uint64(t.cfg.Seed), 0x6576616c, t.evals) // "eval"
	lo, hi := train.RankBlock(t.nEval, size, rank)
	sums := make([]float64, t.evalLen())
	slots := sums[nSums:]
	cw, dw := t.model.Config().CellFeatures, t.model.Config().DrugFeatures
	in := []*tensor.Tensor{&t.ecell, &t.edrug}
	for b0 := lo; b0 < hi; b0 += t.cfg.EvalBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(t.cfg.EvalBatch, hi-b0)
		t.ecell.Ensure(n, cw)
		t.edrug.Ensure(n, dw)
		t.ey.Ensure(n, 1)
		if err := t.eval.ReadRows(b0, n, t.ecell.Data, t.edrug.Data, t.ey.Data); err != nil {
			return nil, err
		}
		t.model.SetMaskKey(key, b0)
		out, err := t.model.Forward(in, false)
		if err != nil {
			return nil, err
		}
		for i := range n {
			y, p := float64(t.ey.Data[i]), float64(out.Data[i])
			addPair(sums, y, p)
			b := slots[nB*((b0+i)/r2BatchRows):]
			b[bSE] += (y - p) * (y - p)
			b[bY] += y
			b[bY2] += y * y
			b[bN]++
		}
	}
	return sums, nil
}

// Metrics derives MSE (val_loss), MAE, R², Pearson r and the MSE of the
// mean predictor (the eval set's own variance) from the summed sums, feeds
// the validation loss to the plateau/early-stopping rule and reports the
// next epoch's rate and whether training would stop.
func (t *Task) Metrics(sums []float64) ([]train.Metric, error) {
	if len(sums) != t.evalLen() {
		return nil, fmt.Errorf("%w: %d evaluation sums, want %d", ErrConfig, len(sums), t.evalLen())
	}
	if sums[sumN] == 0 {
		return nil, fmt.Errorf("%w: no evaluation rows", ErrConfig)
	}
	m := regressionOf(sums)
	mse, mae, r2, r, vy := m.mse, m.mae, m.r2, m.r, m.meanMSE
	t.observed++
	next, stop := t.plateau.Observe(mse)
	if stop && t.stopAt == 0 {
		t.stopAt = t.observed
	}
	split := t.cfg.EvalSplit
	es := 0.0
	if t.stopAt > 0 {
		es = 1
	}
	return []train.Metric{
		{Name: split + "_loss", Key: "eval_loss", Value: mse},
		{Name: split + "_mae", Key: "eval_mae", Value: mae},
		{Name: split + "_r2", Key: "eval_r2", Value: r2},
		{Name: split + "_pearson", Key: "eval_pearson", Value: r},
		{Name: split + "_r2_batch", Key: "eval_r2_batch", Value: r2Batch(sums[nSums:]),
			Meta: map[string]string{"what": "Keras per-batch R² (batches of 32 rows), the reference's val_r2"}},
		{Name: split + "_mean_mse", Key: "eval_mean_mse", Value: vy,
			Meta: map[string]string{"what": "MSE of predicting the " + split + " mean AUC"}},
		{Name: "lr_next", Key: "lr", Value: next},
		{Name: "early_stopping", Key: "early_stopping", Value: es, Meta: map[string]string{"epoch": fmt.Sprint(t.stopAt)}},
	}, nil
}
