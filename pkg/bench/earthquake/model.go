package earthquake

import (
	"context"
	"fmt"
	"math"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/nn/models"
	"github.com/scibench/scibench/pkg/tensor"
	"github.com/scibench/scibench/pkg/train"
)

// Task is the earthquake LSTM benchmark as a train.Task: training samples
// are the (training location, s) pairs, the loss is the weighted,
// NaN-masked squared error summed over the batch (BENCHMARKS.md §5.3), and
// evaluation predicts every (location, s) of both splits for NNSE (§5.4).
type Task struct {
	ds       *Dataset
	cfg      Config
	model    *models.Earthquake
	TrainLoc []int // mapped training locations, ascending
	ValLoc   []int // mapped validation locations, ascending
	isTrain  []bool
	pairs    []Pair // training pairs (every PairStride-th s)
	evalS    []int  // window starts used by evaluation

	loss  nn.MSE
	in    []*tensor.Tensor
	x, y  tensor.Tensor
	grad  tensor.Tensor
	out   *tensor.Tensor
	batch []Pair
}

// NewTask builds the model and the location split (seeded by cfg.Seed,
// identical on every rank). rank only varies the dropout stream.
func NewTask(ds *Dataset, cfg Config, rank int) (*Task, error) {
	if ds == nil {
		return nil, fmt.Errorf("%w: no dataset", ErrConfig)
	}
	ns := ds.NumSeq(cfg.Tseq)
	if ns <= 0 {
		return nil, fmt.Errorf("%w: tseq %d leaves no window in %d steps", ErrConfig, cfg.Tseq, ds.Meta.T)
	}
	mc, err := models.EarthquakePreset(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	mc.Inputs, mc.Outputs = NumInputs, NumOutputs
	mc.Dropout, mc.RecurrentDropout = cfg.Dropout, cfg.RecurrentDropout
	if mc.Dropout == 0 {
		mc.Dropout = -1 // the model treats 0 as "default"
	}
	if mc.RecurrentDropout == 0 {
		mc.RecurrentDropout = -1
	}
	mc.Seed = uint64(cfg.Seed)
	mc.DropoutSeed = uint64(cfg.Seed)*7919 + uint64(rank) + 1
	m, err := models.NewEarthquake(mc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t := &Task{ds: ds, cfg: cfg, model: m}
	t.TrainLoc, t.ValLoc, err = SplitLocations(ds.Meta.Nloc, uint64(cfg.Seed))
	if err != nil {
		return nil, err
	}
	t.isTrain = make([]bool, ds.Meta.Nloc)
	for _, l := range t.TrainLoc {
		t.isTrain[l] = true
	}
	for _, l := range t.TrainLoc {
		for s := 0; s < ns; s += cfg.PairStride {
			t.pairs = append(t.pairs, Pair{Loc: int32(l), S: int32(s)})
		}
	}
	for s := 0; s < ns; s += cfg.EvalStride {
		t.evalS = append(t.evalS, s)
	}
	w := TargetWeights
	t.loss = nn.MSE{Weights: w[:], Reduction: nn.ReduceSum}
	t.in = []*tensor.Tensor{&t.x}
	return t, nil
}

// Model returns the LSTM.
func (t *Task) Model() *models.Earthquake { return t.model }

// DeviceModel is the model as the GPU engine sees it (bench.UseDevice).
func (t *Task) DeviceModel() models.DeviceModel { return t.model }

// Arena implements train.Task.
func (t *Task) Arena() *nn.Arena { return t.model.Arena() }

// NumTrain is the number of training (location, s) pairs.
func (t *Task) NumTrain() int { return len(t.pairs) }

// NumEval is the number of windows one evaluation predicts.
func (t *Task) NumEval() int { return len(t.evalS) * t.ds.Meta.Nloc }

// Load fills the input and target buffers with the windows of the pairs idx.
func (t *Task) Load(ctx context.Context, idx []int) error {
	t.batch = t.batch[:0]
	for _, i := range idx {
		if i < 0 || i >= len(t.pairs) {
			return fmt.Errorf("%w: sample %d outside %d training pairs", ErrShape, i, len(t.pairs))
		}
		t.batch = append(t.batch, t.pairs[i])
	}
	b := len(t.batch)
	t.x.Ensure(b, t.cfg.Tseq, NumInputs)
	t.y.Ensure(b, NumOutputs)
	return t.ds.FillBatch(t.x.Data, t.y.Data, t.batch, t.cfg.Tseq)
}

// Forward runs the model in training mode and returns the loss summed
// over the batch, with dL/dout kept for Backward.
func (t *Task) Forward(ctx context.Context, info train.StepInfo) (float64, error) {
	t.model.SetMaskKey(info.MaskKey(), info.First)
	out, err := t.model.Forward(t.in, true)
	if err != nil {
		return 0, err
	}
	t.out = out
	return t.loss.Loss(&t.grad, out, &t.y)
}

// Backward accumulates the gradient of the loss sum.
func (t *Task) Backward(ctx context.Context) error {
	return t.model.Backward(&t.grad)
}

// Horizons are short names of the NumTargets stored targets (Magnitude 2
// weeks, then Calc_0..8); the paper's table uses the first eight.
var Horizons = [NumTargets]string{"2w", "4w", "2m", "3m", "6m", "1y", "2y", "4y", "skip1y", "y3to4"}

// Aggregates are the six NNSE aggregates of §5.4.
var Aggregates = [6]string{"A", "AT", "AV", "S", "ST", "SV"}

// newAccumulator returns the NNSE accumulator of this task's evaluation:
// NumTargets targets, every location, one sequence position per eval start.
func (t *Task) newAccumulator() (*NNSE, error) {
	return NewNNSE(NumTargets, t.ds.Meta.Nloc, len(t.evalS), t.isTrain)
}

// EvalSums predicts every (location, s) of this rank's contiguous block of
// locations and returns the sums the NNSE aggregates (§5.4; NaN targets
// count as o := p) and the weighted MSE are derived from: the NNSE
// accumulator's sums, then Σw(y−ŷ)² and the window count for the training
// and the validation locations (masked NaN, all 24 outputs).
func (t *Task) EvalSums(ctx context.Context, rank, size int) ([]float64, error) {
	acc, err := t.newAccumulator()
	if err != nil {
		return nil, err
	}
	var mse [4]float64
	nloc := t.ds.Meta.Nloc
	lo, hi := train.RankBlock(nloc, size, rank)
	work := make([]Pair, 0, (hi-lo)*len(t.evalS))
	for l := lo; l < hi; l++ {
		for _, s := range t.evalS {
			work = append(work, Pair{Loc: int32(l), S: int32(s)})
		}
	}
	w := TargetWeights
	bs := t.cfg.EvalBatch
	var x, y tensor.Tensor
	in := []*tensor.Tensor{&x}
	for b0 := 0; b0 < len(work); b0 += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := work[b0:min(b0+bs, len(work))]
		x.Ensure(len(chunk), t.cfg.Tseq, NumInputs)
		y.Ensure(len(chunk), NumOutputs)
		if err := t.ds.FillBatch(x.Data, y.Data, chunk, t.cfg.Tseq); err != nil {
			return nil, err
		}
		out, err := t.model.Forward(in, false)
		if err != nil {
			return nil, err
		}
		for i, p := range chunk {
			pr := out.Data[i*NumOutputs : (i+1)*NumOutputs]
			ob := y.Data[i*NumOutputs : (i+1)*NumOutputs]
			var wsum float64
			for k := range NumOutputs {
				if o := ob[k]; o == o {
					d := float64(pr[k]) - float64(o)
					wsum += float64(w[k]) * d * d
				}
			}
			set := 2
			if t.isTrain[p.Loc] {
				set = 0
			}
			mse[set] += wsum
			mse[set+1]++
			j := (b0 + i) % len(t.evalS) // work is location-major over evalS
			for q := range NumTargets {
				acc.Add(q, int(p.Loc), j, float64(ob[q]), float64(pr[q]))
			}
		}
	}
	return append(acc.Sums(), mse[:]...), nil
}

// Metrics derives, per target, the six NNSE aggregates, plus the weighted
// MSE over all, training and validation windows and the number of
// locations whose NNSE is undefined (SST+SSE = 0, left out of the means).
func (t *Task) Metrics(sums []float64) ([]train.Metric, error) {
	acc, err := t.newAccumulator()
	if err != nil {
		return nil, err
	}
	n := len(acc.Sums())
	if len(sums) != n+4 {
		return nil, fmt.Errorf("%w: %d evaluation sums, want %d", ErrShape, len(sums), n+4)
	}
	copy(acc.Sums(), sums[:n])
	rep, err := acc.Report(nil)
	if err != nil {
		return nil, err
	}
	var ms []train.Metric
	nanCount := 0
	for q, a := range rep.Targets {
		nanCount += a.NaN
		for i, v := range [6]float64{a.A, a.AT, a.AV, a.S, a.ST, a.SV} {
			ms = append(ms, train.Metric{Name: "nnse_" + Aggregates[i] + "_" + Horizons[q], Key: "nnse", Value: v,
				Meta: map[string]string{"target": TargetNames[q], "horizon": Horizons[q], "aggregate": Aggregates[i]}})
		}
	}
	m := sums[n:]
	div := func(a, b float64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return a / b
	}
	ms = append(ms,
		train.Metric{Name: "mse", Key: "eval_mse", Value: div(m[0]+m[2], m[1]+m[3])},
		train.Metric{Name: "train_mse", Key: "eval_mse", Value: div(m[0], m[1])},
		train.Metric{Name: "val_mse", Key: "eval_loss", Value: div(m[2], m[3])},
		train.Metric{Name: "nnse_nan_count", Key: "nnse_nan_count", Value: float64(nanCount)},
	)
	return ms, nil
}
