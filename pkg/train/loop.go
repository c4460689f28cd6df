package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/scibench/scibench/pkg/nn"
)

// RangeStepper is an optional Optimizer capability (optim.Adam and
// optim.Adamax have it): the loop calls BeginStep once per step and then
// StepRange on each gradient bucket as soon as it is all-reduced and
// scaled, so the update runs while the bucket is in cache instead of in a
// separate pass over the whole arena. The result is bitwise that of Step.
type RangeStepper interface {
	BeginStep()
	StepRange(w, g []float32, lo, hi int)
}

// Optimizer is the fused in-place optimizer the loop drives; every
// pkg/optim optimizer satisfies it.
type Optimizer interface {
	Step(w, g []float32)
	SetLR(lr float64)
	LR() float64
	Name() string
	SaveState(w io.Writer) error
	LoadState(r io.Reader) error
}

// StepInfo identifies a training step; tasks derive their per-step random
// streams (dropout) from it so that a resumed run repeats them.
type StepInfo struct {
	Epoch, Step, Rank int
	Seed              uint64
	// First is the index of this rank's first sample within the step's
	// global batch; per-sample random masks keyed by (MaskKey, First+j)
	// do not depend on how the batch is split across ranks.
	First int
}

// MaskKey is the dropout mask key of the step: a function of the seed,
// epoch and step only, so every rank and a resumed run agree on it.
func (s StepInfo) MaskKey() uint64 {
	return nn.MixKey(s.Seed, uint64(s.Epoch), uint64(s.Step))
}

// Task is what a benchmark supplies to the loop.
//
// Samples are numbered 0..NumTrain()-1 globally. Each step the loop hands
// every rank its contiguous sub-block of the global batch (possibly empty;
// then Load/Forward/Backward are not called). Forward returns the SUM of the
// per-sample losses of the loaded samples and Backward accumulates the
// gradient of that sum into the arena (calling MarkReady as layers finish);
// the loop all-reduces and divides by the global batch.
type Task interface {
	Arena() *nn.Arena
	NumTrain() int
	Load(ctx context.Context, idx []int) error
	Forward(ctx context.Context, info StepInfo) (lossSum float64, err error)
	Backward(ctx context.Context) error
	// EvalSums evaluates this rank's share of the evaluation items and
	// returns sums and counts; the vector has the same length on every rank.
	EvalSums(ctx context.Context, rank, size int) ([]float64, error)
	// Metrics derives the metrics from the sums over all ranks.
	Metrics(sums []float64) ([]Metric, error)
}

// EarlyStopper is an optional Task capability: after each evaluation the
// loop asks EarlyStop (e.g. candle-uno's patience on the validation loss,
// decided in Metrics from the all-reduced sums) and stops training when it
// says so.
type EarlyStopper interface {
	EarlyStop() bool
}

// Inferrer is an optional Task capability: an inference phase after
// training (and after the best-fit restore and the final evaluation), such
// as candle-uno's Monte Carlo dropout predictions. InferSums runs this
// rank's share and returns a vector of the same length on every rank; the
// loop sums it over the ranks and InferMetrics derives the metrics, which
// are appended to Result.Metrics. The phase is timed as "inference".
type Inferrer interface {
	InferSums(ctx context.Context, rank, size int) ([]float64, error)
	InferMetrics(sums []float64) ([]Metric, error)
}

// StatefulTask is an optional Task capability: state saved in checkpoints.
type StatefulTask interface {
	SaveState(w io.Writer) error
	LoadState(r io.Reader) error
}

// Metric is one named result. Key is the mllog key (e.g. "nnse",
// "eval_loss") and Meta its extra metadata; Name is unique.
type Metric struct {
	Name  string            `json:"name"`
	Key   string            `json:"key"`
	Value float64           `json:"value"`
	Meta  map[string]string `json:"meta,omitempty"`
}

// Target is an optional science target: training stops when Metric reaches
// Value (below it for mode "min", above it for "max").
type Target struct {
	Metric string  `json:"metric" yaml:"metric"`
	Value  float64 `json:"value" yaml:"value"`
	Mode   string  `json:"mode" yaml:"mode"` // min|max; empty: min for loss/mse/mae names, else max
}

func (t *Target) reached(ms []Metric) (bool, error) {
	for _, m := range ms {
		if m.Name != t.Metric {
			continue
		}
		mode := t.Mode
		if mode == "" {
			mode = "max"
			for _, s := range []string{"loss", "mse", "mae"} {
				if strings.Contains(t.Metric, s) {
					mode = "min"
				}
			}
		}
		if math.IsNaN(m.Value) {
			return false, nil
		}
		if mode == "min" {
			return m.Value <= t.Value, nil
		}
		return m.Value >= t.Value, nil
	}
	return false, fmt.Errorf("%w: target metric %q is not produced by this benchmark", ErrConfig, t.Metric)
}

// Config configures a Trainer. Zero values mean defaults.
type Config struct {
	Seed        uint64
	Epochs      int
	GlobalBatch int // samples per step over all ranks
	BucketElems int // gradient elements per all-reduce bucket; default 1<<18
	BestFit     bool
	// BestMetric, when set with BestFit, makes the best fit the evaluated
	// epoch with the best value of this metric (lowest; highest when
	// BestMax) instead of the epoch with the lowest training loss, as
	// Keras' ModelCheckpoint(save_best_only) on val_loss does.
	BestMetric string
	BestMax    bool
	EvalEvery  int // evaluate every n epochs; 0: every epoch; <0: only at the end
	Target     *Target
	// LR, when set, gives the learning rate of each epoch (1-based).
	LR func(epoch int) float64
	// CheckpointDir, when set, receives a checkpoint after every epoch
	// (written by rank 0); Resume restarts from the latest one there.
	CheckpointDir string
	Resume        bool
	Logger        *slog.Logger
	// Observe is called on every rank at phase boundaries.
	Observe func(Event)
	// Progress is called on every rank after every step.
	Progress func(epoch, step, steps int)
	// AfterStep is called on every rank after every optimizer step
	// (metrics; tests hash weights).
	AfterStep func(StepReport)
	// MaxTraceEvents bounds the trace buffer of each rank; default 200000.
	MaxTraceEvents int
	// Energy, when set, is read at the start and end of every epoch's
	// training phase and of the Run; the loop sums the differences over
	// the ranks that have one (EpochRecord.Energy, Result.Energy). Give
	// one meter per node (local rank 0) so nothing is counted twice. A
	// failed read never fails the run: the energy is then reported as not
	// available.
	Energy EnergyMeter
	// EnergyUnavailable, when Energy is nil, is why this rank has no meter
	// ("not available: rapl: ..."); Result.Energy reports it.
	EnergyUnavailable string
	// Device, when set, is the accelerator holding the task's model (see
	// Device); the optimizer must then be its device optimizer.
	Device Device
}

// StepReport describes one finished step on one rank.
type StepReport struct {
	Epoch, Step  int
	LocalSamples int     // this rank's share of the global batch
	LossSum      float64 // this rank's loss sum
	Seconds      float64 // wall time of the step
	WaitSeconds  float64 // time blocked on the gradient all-reduce after backward
}

// Event is a phase boundary reported to Config.Observe.
type Event struct {
	Kind    string // epoch_start, epoch_stop, eval_start, eval_stop, restore_best, checkpoint, infer_start, infer_stop
	Epoch   int
	Record  *EpochRecord
	Metrics []Metric
}

// EpochRecord is the history of one epoch (result.json "epochs").
type EpochRecord struct {
	Epoch       int                `json:"epoch"`
	TrainTimeS  float64            `json:"train_time_s"`
	SamplesPerS float64            `json:"samples_per_s"`
	TrainLoss   float64            `json:"train_loss"`
	EvalTimeS   float64            `json:"eval_time_s,omitempty"`
	Eval        map[string]float64 `json:"eval,omitempty"`
	// Energy is nil when no rank measures or a meter failed this epoch.
	Energy *EpochEnergy `json:"energy,omitempty"`
}

// RankComm is the communication account of one rank. WaitS is the time the
// rank's training loop blocked on the gradient all-reduce after its backward
// pass: the rank with the least wait is the straggler the others wait for.
type RankComm struct {
	Rank       int     `json:"rank"`
	AllReduceS float64 `json:"allreduce_s"`
	WaitS      float64 `json:"wait_s"`
	Bytes      float64 `json:"bytes"`
	// PeerWaitS is the communicator's own time blocked on the ring
	// predecessor, when it reports one.
	PeerWaitS float64 `json:"peer_wait_s"`
}

// TraceEvent is one phase of one rank (Chrome trace "X" event); StartUS
// is in µs since the Unix epoch (each rank's own clock).
type TraceEvent struct {
	Rank    int     `json:"rank"`
	Phase   string  `json:"phase"`
	StartUS float64 `json:"start_us"`
	DurUS   float64 `json:"dur_us"`
}

// Result is what Run returns, identical on every rank.
type Result struct {
	Epochs          []EpochRecord      `json:"epochs"`
	Metrics         []Metric           `json:"metrics"`
	TargetReached   bool               `json:"target_reached"`
	EarlyStopEpoch  int                `json:"early_stop_epoch,omitempty"` // epoch after which EarlyStopper fired
	TimeToSolutionS float64            `json:"time_to_solution_s,omitempty"`
	TotalS          float64            `json:"total_s"`
	Steps           int                `json:"steps"`
	StepsPerEpoch   int                `json:"steps_per_epoch"`
	GlobalBatch     int                `json:"global_batch"`
	TrainSamples    int                `json:"train_samples"`
	ResumedFrom     int                `json:"resumed_from,omitempty"`
	Comm            []RankComm         `json:"comm"`
	Timers          map[string]float64 `json:"timers"`
	Trace           []TraceEvent       `json:"-"`
	Straggler       int                `json:"straggler"`
	// Energy is nil when no rank has a meter or a reason for lacking one.
	Energy *EnergyResult `json:"energy,omitempty"`
}

// phases of the trace
const (
	phData uint8 = iota
	phForward
	phBackward
	phWait
	phOptimizer
	phEval
	phCheckpoint
	phAllReduce
	nPhases
)

var phaseNames = [nPhases]string{"data", "forward", "backward", "wait", "optimizer", "eval", "checkpoint", "allreduce"}

type rawEvent struct {
	phase      uint8
	start, dur int64
}

// Trainer runs the data-parallel loop for one Task on one rank.
type Trainer struct {
	cfg  Config
	task Task
	opt  Optimizer
	comm Comm
	log  *slog.Logger

	t0     time.Time
	events []rawEvent
	waitS  float64
}

// New checks cfg and returns a Trainer.
func New(cfg Config, task Task, opt Optimizer, comm Comm) (*Trainer, error) {
	if task == nil || opt == nil || comm == nil {
		return nil, fmt.Errorf("%w: task, optimizer and communicator are required", ErrConfig)
	}
	if cfg.Epochs < 0 {
		return nil, fmt.Errorf("%w: epochs %d < 0", ErrConfig, cfg.Epochs)
	}
	if cfg.GlobalBatch <= 0 {
		return nil, fmt.Errorf("%w: global batch %d must be positive", ErrConfig, cfg.GlobalBatch)
	}
	if cfg.Resume && cfg.CheckpointDir == "" {
		return nil, fmt.Errorf("%w: resume needs a checkpoint directory", ErrConfig)
	}
	if cfg.MaxTraceEvents <= 0 {
		cfg.MaxTraceEvents = 200000
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Trainer{cfg: cfg, task: task, opt: opt, comm: comm, log: lg.With("rank", comm.Rank())}, nil
}

func (t *Trainer) now() int64 { return int64(time.Since(t.t0)) }

func (t *Trainer) record(ph uint8, start int64) {
	if len(t.events) < cap(t.events) {
		t.events = append(t.events, rawEvent{ph, start, t.now() - start})
	}
}

func (t *Trainer) observe(e Event) {
	if t.cfg.Observe != nil {
		t.cfg.Observe(e)
	}
}

// Run trains for the configured epochs (or until the target is reached) and
// returns the result, identical on every rank.
func (t *Trainer) Run(ctx context.Context) (*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg := t.cfg
	a := t.task.Arena()
	if a == nil || len(a.Data) != a.Size() || len(a.Grad) != a.Size() {
		return nil, fmt.Errorf("%w: the task's arena is not built", ErrConfig)
	}
	world, rank := t.comm.Size(), t.comm.Rank()
	nTrain := t.task.NumTrain()
	steps := StepsPerEpoch(nTrain, cfg.GlobalBatch)
	if steps == 0 {
		return nil, fmt.Errorf("%w: global batch %d is larger than the %d training samples", ErrConfig, cfg.GlobalBatch, nTrain)
	}
	t.t0 = time.Now()
	t.events = make([]rawEvent, 0, cfg.MaxTraceEvents)
	res := &Result{StepsPerEpoch: steps, GlobalBatch: cfg.GlobalBatch, TrainSamples: steps * cfg.GlobalBatch,
		Timers: map[string]float64{}}

	var best []float32
	bestLoss := math.Inf(1)
	hasBest := false
	startEpoch, bestEpoch := 0, -1 // bestEpoch -1: unknown (resumed), restore to be safe
	elapsed0 := 0.0
	if cfg.Resume {
		path, err := LatestCheckpoint(cfg.CheckpointDir)
		if err != nil {
			return nil, err
		}
		if path == "" {
			t.log.Info("no checkpoint to resume from; starting fresh", "dir", cfg.CheckpointDir)
		} else {
			ck, err := ReadCheckpoint(path)
			if err != nil {
				return nil, err
			}
			if err := t.restore(ck, path); err != nil {
				return nil, err
			}
			startEpoch, res.ResumedFrom = ck.Epoch, ck.Epoch
			res.Epochs = ck.History
			res.Steps = ck.Steps
			elapsed0 = ck.ElapsedS
			if ck.HasBest {
				best, bestLoss, hasBest = ck.Best, ck.BestLoss, true
			}
			t.log.Info("resumed", "checkpoint", path, "epoch", ck.Epoch)
		}
	}
	if cfg.BestFit && best == nil {
		best = make([]float32, len(a.Data))
	}
	if cfg.Device != nil {
		if err := cfg.Device.PushWeights(ctx); err != nil {
			return nil, fmt.Errorf("%w: rank %d: weights to the device: %w", ErrTask, rank, err)
		}
	}
	if err := t.checkSync(ctx, "start"); err != nil {
		return nil, err
	}
	ep := &energyProbe{m: cfg.Energy}
	runJ0, runOK0 := ep.read()
	var newEpochs []EpochRecord // this invocation's, for Result.Energy

	red := newReducer(t.comm, a.Grad, cfg.BucketElems, t.t0)
	// with one worker a device keeps its gradients: nothing to reduce
	red.idle = cfg.Device != nil && world == 1
	if rs, ok := t.opt.(RangeStepper); ok {
		red.opt, red.w = rs, a.Data
	}
	defer red.close()
	a.SetGradHook(red.hook)
	defer a.SetGradHook(nil)

	perm := make([]int, nTrain)
	scale := float32(1 / float64(cfg.GlobalBatch))
	lo, hi := RankBlock(cfg.GlobalBatch, world, rank)
	var lastMetrics []Metric
	lastEvalEpoch := -1
	trainS := 0.0
	for e := startEpoch + 1; e <= cfg.Epochs; e++ {
		if cfg.LR != nil {
			t.opt.SetLR(cfg.LR(e))
		}
		t.observe(Event{Kind: "epoch_start", Epoch: e})
		if err := t.comm.Barrier(ctx); err != nil {
			return nil, fmt.Errorf("%w: barrier before epoch %d on rank %d: %w", ErrComm, e, rank, err)
		}
		ej0, eok0 := ep.read()
		te := time.Now()
		Permutation(perm, cfg.Seed, e)
		lossSum := 0.0
		for s := 0; s < steps; s++ {
			ts, w0 := t.now(), t.waitS
			l, err := t.step(ctx, red, perm[s*cfg.GlobalBatch+lo:s*cfg.GlobalBatch+hi], StepInfo{Epoch: e, Step: s, Rank: rank, Seed: cfg.Seed, First: lo}, scale)
			if err != nil {
				return nil, fmt.Errorf("epoch %d step %d: %w", e, s, err)
			}
			lossSum += l
			res.Steps++
			if cfg.AfterStep != nil {
				cfg.AfterStep(StepReport{Epoch: e, Step: s, LocalSamples: hi - lo, LossSum: l,
					Seconds: float64(t.now()-ts) / 1e9, WaitSeconds: t.waitS - w0})
			}
			if cfg.Progress != nil {
				cfg.Progress(e, s+1, steps)
			}
		}
		if cfg.Device != nil {
			if err := cfg.Device.PullWeights(ctx); err != nil {
				return nil, fmt.Errorf("%w: rank %d: weights from the device after epoch %d: %w", ErrTask, rank, e, err)
			}
		}
		if err := t.comm.Barrier(ctx); err != nil {
			return nil, fmt.Errorf("%w: barrier after epoch %d on rank %d: %w", ErrComm, e, rank, err)
		}
		rec := EpochRecord{Epoch: e, TrainTimeS: time.Since(te).Seconds()}
		trainS += rec.TrainTimeS
		rec.SamplesPerS = float64(res.TrainSamples) / rec.TrainTimeS
		ej1, eok1 := ep.read()
		ev := ep.epochVector(ej0, ej1, eok0, eok1)
		tot, err := SumFloat64(ctx, t.comm, []float64{lossSum, ev[0], ev[1], ev[2]})
		if err != nil {
			return nil, err
		}
		rec.TrainLoss = tot[0] / float64(res.TrainSamples)
		rec.Energy = epochEnergy(tot[1:], res.TrainSamples)
		if math.IsNaN(rec.TrainLoss) || math.IsInf(rec.TrainLoss, 0) {
			return nil, fmt.Errorf("%w: training loss is %v after epoch %d", ErrTask, rec.TrainLoss, e)
		}
		if err := t.checkSync(ctx, fmt.Sprintf("epoch %d", e)); err != nil {
			return nil, err
		}
		if cfg.BestFit && cfg.BestMetric == "" && rec.TrainLoss < bestLoss {
			bestLoss, hasBest, bestEpoch = rec.TrainLoss, true, e
			copy(best, a.Data)
		}
		t.observe(Event{Kind: "epoch_stop", Epoch: e, Record: &rec})
		if cfg.EvalEvery >= 0 && (cfg.EvalEvery == 0 || e%cfg.EvalEvery == 0 || e == cfg.Epochs) {
			tv := time.Now()
			t.observe(Event{Kind: "eval_start", Epoch: e})
			ms, err := t.evaluate(ctx)
			if err != nil {
				return nil, fmt.Errorf("eval after epoch %d: %w", e, err)
			}
			rec.EvalTimeS = time.Since(tv).Seconds()
			rec.Eval = make(map[string]float64, len(ms))
			for _, m := range ms {
				rec.Eval[m.Name] = m.Value
			}
			lastMetrics, lastEvalEpoch = ms, e
			t.observe(Event{Kind: "eval_stop", Epoch: e, Metrics: ms, Record: &rec})
			if cfg.BestFit && cfg.BestMetric != "" {
				v, ok := rec.Eval[cfg.BestMetric]
				if !ok {
					return nil, fmt.Errorf("%w: best-fit metric %q is not produced by this benchmark", ErrConfig, cfg.BestMetric)
				}
				if cfg.BestMax {
					v = -v
				}
				if v < bestLoss { // NaN never wins
					bestLoss, hasBest, bestEpoch = v, true, e
					copy(best, a.Data)
				}
			}
			if cfg.Target != nil {
				ok, err := cfg.Target.reached(ms)
				if err != nil {
					return nil, err
				}
				if ok && !res.TargetReached {
					res.TargetReached = true
					res.TimeToSolutionS = elapsed0 + time.Since(t.t0).Seconds()
				}
			}
		}
		res.Epochs = append(res.Epochs, rec)
		newEpochs = append(newEpochs, rec)
		if cfg.CheckpointDir != "" {
			if err := t.checkpoint(e, res, best, bestLoss, hasBest, elapsed0); err != nil {
				return nil, err
			}
		}
		if res.TargetReached {
			t.log.Info("target reached", "metric", cfg.Target.Metric, "epoch", e)
			break
		}
		if es, ok := t.task.(EarlyStopper); ok && es.EarlyStop() {
			// every rank derived the same metrics from the same sums, so
			// every rank stops after the same epoch
			res.EarlyStopEpoch = e
			t.log.Info("early stopping", "epoch", e)
			break
		}
	}
	restored := false
	if cfg.BestFit && hasBest && (len(res.Epochs) == 0 || bestEpoch != res.Epochs[len(res.Epochs)-1].Epoch) {
		copy(a.Data, best)
		restored = true
		if cfg.Device != nil {
			if err := cfg.Device.PushWeights(ctx); err != nil {
				return nil, fmt.Errorf("%w: rank %d: best-fit weights to the device: %w", ErrTask, rank, err)
			}
		}
		crit, v := "train_loss", bestLoss
		if cfg.BestMetric != "" {
			crit = cfg.BestMetric
			if cfg.BestMax {
				v = -v
			}
		}
		// Epoch is 0 when the best epoch is unknown (a resumed run).
		t.observe(Event{Kind: "restore_best", Epoch: max(bestEpoch, 0), Metrics: []Metric{{Name: crit, Key: crit, Value: v}}})
	}
	if restored || lastEvalEpoch < 0 || lastEvalEpoch != len(res.Epochs) {
		tv := time.Now()
		t.observe(Event{Kind: "eval_start", Epoch: 0})
		ms, err := t.evaluate(ctx)
		if err != nil {
			return nil, fmt.Errorf("final eval: %w", err)
		}
		res.Timers["final_eval"] = time.Since(tv).Seconds()
		lastMetrics = ms
		t.observe(Event{Kind: "eval_stop", Epoch: 0, Metrics: ms})
	}
	res.Metrics = lastMetrics
	if inf, ok := t.task.(Inferrer); ok {
		ti := time.Now()
		t.observe(Event{Kind: "infer_start"})
		ms, err := t.infer(ctx, inf)
		if err != nil {
			return nil, fmt.Errorf("inference: %w", err)
		}
		res.Timers["inference"] = time.Since(ti).Seconds()
		res.Metrics = append(slices.Clip(res.Metrics), ms...)
		t.observe(Event{Kind: "infer_stop", Metrics: ms})
	}
	res.Timers["train"] = trainS
	res.TotalS = elapsed0 + time.Since(t.t0).Seconds()
	if err := gatherEnergy(ctx, t.comm, ep, runJ0, runOK0, cfg.EnergyUnavailable, res, newEpochs); err != nil {
		return nil, err
	}
	if err := t.gatherStats(ctx, res, red); err != nil {
		return nil, err
	}
	return res, nil
}

// step runs one training step on this rank's sub-block idx.
func (t *Trainer) step(ctx context.Context, red *reducer, idx []int, info StepInfo, scale float32) (float64, error) {
	a := t.task.Arena()
	if d := t.cfg.Device; d != nil {
		if err := d.ZeroGrad(); err != nil {
			return 0, fmt.Errorf("%w: rank %d: %w", ErrTask, info.Rank, err)
		}
	}
	if !red.idle {
		a.ZeroGrad()
	}
	if red.opt != nil {
		red.opt.BeginStep() // before the reducer goroutine sees this step
	}
	if err := red.begin(ctx, scale); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrComm, err)
	}
	var loss float64
	var terr error
	if len(idx) > 0 {
		s := t.now()
		terr = t.task.Load(ctx, idx)
		t.record(phData, s)
		if terr == nil {
			s = t.now()
			loss, terr = t.task.Forward(ctx, info)
			t.record(phForward, s)
		}
		if terr == nil {
			s = t.now()
			terr = t.task.Backward(ctx)
			t.record(phBackward, s)
		}
	}
	if terr != nil {
		// the background all-reduce must not go on without us
		return 0, fmt.Errorf("%w: rank %d: %w", ErrTask, info.Rank, terr)
	}
	s := t.now()
	err := red.finish(ctx)
	t.record(phWait, s)
	t.waitS += float64(t.now()-s) / 1e9
	if err != nil {
		return 0, err
	}
	if red.opt == nil {
		s = t.now()
		if es, ok := t.opt.(ErrStepper); ok {
			err = es.StepErr(a.Data, a.Grad)
		} else {
			t.opt.Step(a.Data, a.Grad)
		}
		t.record(phOptimizer, s)
		if err != nil {
			return 0, fmt.Errorf("%w: rank %d: optimizer: %w", ErrTask, info.Rank, err)
		}
	}
	return loss, nil
}

func (t *Trainer) evaluate(ctx context.Context) ([]Metric, error) {
	return t.reduced(ctx, t.task.EvalSums, t.task.Metrics)
}

// infer runs the Inferrer phase.
func (t *Trainer) infer(ctx context.Context, inf Inferrer) ([]Metric, error) {
	return t.reduced(ctx, inf.InferSums, inf.InferMetrics)
}

// reduced computes this rank's sums, sums them over the ranks and derives
// the metrics on every rank (evaluation and inference).
func (t *Trainer) reduced(ctx context.Context, local func(context.Context, int, int) ([]float64, error),
	metrics func([]float64) ([]Metric, error)) ([]Metric, error) {
	s := t.now()
	defer t.record(phEval, s)
	mine, err := local(ctx, t.comm.Rank(), t.comm.Size())
	if err != nil {
		return nil, fmt.Errorf("%w: rank %d: %w", ErrTask, t.comm.Rank(), err)
	}
	sums, err := SumFloat64(ctx, t.comm, mine)
	if err != nil {
		return nil, err
	}
	ms, err := metrics(sums)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTask, err)
	}
	return ms, nil
}

// WeightsHash is the FNV-64a hash of the bits of w.
func WeightsHash(w []float32) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, x := range w {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		h.Write(b[:])
	}
	return h.Sum64()
}

// checkSync verifies that every rank holds the same weights.
func (t *Trainer) checkSync(ctx context.Context, when string) error {
	if t.comm.Size() == 1 {
		return nil
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], WeightsHash(t.task.Arena().Data))
	all, err := GatherBytes(ctx, t.comm, b[:])
	if err != nil {
		return err
	}
	for r, h := range all {
		if !bytes.Equal(h, b[:]) {
			return fmt.Errorf("%w: weights of rank %d differ from rank %d at %s", ErrDiverged, r, t.comm.Rank(), when)
		}
	}
	return nil
}

func (t *Trainer) checkpoint(e int, res *Result, best []float32, bestLoss float64, hasBest bool, elapsed0 float64) error {
	if t.comm.Rank() != 0 {
		return nil
	}
	s := t.now()
	defer t.record(phCheckpoint, s)
	a := t.task.Arena()
	ck := &Checkpoint{Epoch: e, Seed: t.cfg.Seed, WorldSize: t.comm.Size(), Optimizer: t.opt.Name(), LR: t.opt.LR(),
		History: res.Epochs, ElapsedS: elapsed0 + time.Since(t.t0).Seconds(), Steps: res.Steps, Weights: a.Data}
	if hasBest {
		ck.HasBest, ck.Best, ck.BestLoss = true, best, bestLoss
	}
	var ob bytes.Buffer
	if err := t.opt.SaveState(&ob); err != nil {
		return fmt.Errorf("%w: optimizer state: %w", ErrCheckpoint, err)
	}
	ck.OptState = ob.Bytes()
	if st, ok := t.task.(StatefulTask); ok {
		var tb bytes.Buffer
		if err := st.SaveState(&tb); err != nil {
			return fmt.Errorf("%w: task state: %w", ErrCheckpoint, err)
		}
		ck.TaskState = tb.Bytes()
	}
	p, err := ck.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(t.cfg.CheckpointDir, 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	path := CheckpointPath(t.cfg.CheckpointDir, e)
	if err := WriteFileAtomic(path, p); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrCheckpoint, path, err)
	}
	t.observe(Event{Kind: "checkpoint", Epoch: e})
	return nil
}

func (t *Trainer) restore(ck *Checkpoint, path string) error {
	a := t.task.Arena()
	if len(ck.Weights) != len(a.Data) {
		return fmt.Errorf("%w: %s holds %d parameters, the model has %d", ErrCheckpoint, path, len(ck.Weights), len(a.Data))
	}
	if ck.Seed != t.cfg.Seed {
		return fmt.Errorf("%w: %s was written with seed %d, this run has seed %d", ErrCheckpoint, path, ck.Seed, t.cfg.Seed)
	}
	if ck.Optimizer != t.opt.Name() {
		return fmt.Errorf("%w: %s holds %s optimizer state, this run uses %s", ErrCheckpoint, path, ck.Optimizer, t.opt.Name())
	}
	if err := t.opt.LoadState(bytes.NewReader(ck.OptState)); err != nil {
		return fmt.Errorf("%w: %s: optimizer state: %w", ErrCheckpoint, path, err)
	}
	if st, ok := t.task.(StatefulTask); ok {
		if err := st.LoadState(bytes.NewReader(ck.TaskState)); err != nil {
			return fmt.Errorf("%w: %s: task state: %w", ErrCheckpoint, path, err)
		}
	}
	copy(a.Data, ck.Weights)
	t.opt.SetLR(ck.LR)
	return nil
}

// gatherStats collects the per-rank communication account and trace events.
func (t *Trainer) gatherStats(ctx context.Context, res *Result, red *reducer) error {
	peer := 0.0
	if pw, ok := t.comm.(interface{ PeerWaitSeconds() float64 }); ok {
		peer = pw.PeerWaitSeconds()
	}
	mine := []float64{red.reduceS, t.waitS, float64(4 * len(t.task.Arena().Grad) * res.Steps), peer}
	all, err := GatherFloat64(ctx, t.comm, mine)
	if err != nil {
		return err
	}
	res.Comm = make([]RankComm, len(all))
	for r, v := range all {
		if len(v) != 4 {
			return fmt.Errorf("%w: stats of rank %d have %d values", ErrComm, r, len(v))
		}
		res.Comm[r] = RankComm{Rank: r, AllReduceS: v[0], WaitS: v[1], Bytes: v[2], PeerWaitS: v[3]}
		if v[1] < res.Comm[res.Straggler].WaitS {
			res.Straggler = r
		}
	}
	evs := t.events
	var buf bytes.Buffer
	var b [17]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(t.t0.UnixNano()))
	buf.Write(b[:8])
	for _, ev := range evs {
		b[0] = ev.phase
		binary.LittleEndian.PutUint64(b[1:], uint64(ev.start))
		binary.LittleEndian.PutUint64(b[9:], uint64(ev.dur))
		buf.Write(b[:])
	}
	for _, sp := range red.spans {
		b[0] = phAllReduce
		binary.LittleEndian.PutUint64(b[1:], uint64(sp.start))
		binary.LittleEndian.PutUint64(b[9:], uint64(sp.dur))
		buf.Write(b[:])
	}
	// rank 0's clock is the reference: ranks share t0 only up to the
	// barrier skew, which is below the trace's resolution of interest.
	parts, err := GatherBytes(ctx, t.comm, buf.Bytes())
	if err != nil {
		return err
	}
	for r, p := range parts {
		if len(p) < 8 || (len(p)-8)%17 != 0 {
			return errors.Join(ErrComm, fmt.Errorf("trace of rank %d has %d bytes", r, len(p)))
		}
		base := int64(binary.LittleEndian.Uint64(p))
		for i := 8; i < len(p); i += 17 {
			ph := p[i]
			if ph >= nPhases {
				continue
			}
			res.Trace = append(res.Trace, TraceEvent{Rank: r, Phase: phaseNames[ph],
				StartUS: float64(base+int64(binary.LittleEndian.Uint64(p[i+1:]))) / 1e3,
				DurUS:   float64(int64(binary.LittleEndian.Uint64(p[i+9:]))) / 1e3})
		}
	}
	return nil
}
