package earthquake

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/tensor"
	"github.com/scibench/scibench/pkg/train"
)

// synthDataset is a small random dataset in the prepared layout, with NaN
// targets where a forward window would run past the end.
func synthDataset(tt, nloc int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 3))
	ds := &Dataset{Meta: Meta{Format: FormatVersion, T: tt, Nloc: nloc}}
	ds.Locations = make([]int32, nloc)
	for i := range ds.Locations {
		ds.Locations[i] = int32(i * 7)
	}
	ds.Dynamic = make([]float32, tt*nloc*NumDynamic)
	for i := range ds.Dynamic {
		ds.Dynamic[i] = float32(rng.Float64())
	}
	ds.Targets = make([]float32, tt*nloc*NumTargets)
	for i := range ds.Targets {
		ds.Targets[i] = float32(rng.Float64())
		t := i / (nloc * NumTargets)
		if q := i % NumTargets; q > 3 && t > tt-q {
			ds.Targets[i] = float32(math.NaN())
		}
	}
	ds.Encodings = encodings(tt)
	return ds
}

func smallTaskConfig() Config {
	c := DefaultConfig()
	c.Model, c.Tseq, c.Dropout, c.RecurrentDropout = "small", 5, 0, 0
	c.EvalBatch = 7
	c.Seed = 3
	return c
}

// TestLossIsWeightedMaskedSum compares Forward's loss with a naive
// Σ w_k (y−ŷ)² over non-NaN targets, and checks that it is a sum over the
// batch (one batch of n equals n batches of one).
func TestLossIsWeightedMaskedSum(t *testing.T) {
	ds := synthDataset(30, 6, 1)
	task, err := NewTask(ds, smallTaskConfig(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	idx := []int{0, 5, 17, len(task.pairs) - 1}
	if err := task.Load(ctx, idx); err != nil {
		t.Fatal(err)
	}
	got, err := task.Forward(ctx, train.StepInfo{})
	if err != nil {
		t.Fatal(err)
	}
	want, single := 0.0, 0.0
	w := TargetWeights
	for b := range idx {
		for k := range NumOutputs {
			y := task.y.Data[b*NumOutputs+k]
			if y != y {
				continue
			}
			d := float64(task.out.Data[b*NumOutputs+k]) - float64(y)
			want += float64(w[k]) * d * d
		}
	}
	for _, i := range idx {
		if err := task.Load(ctx, []int{i}); err != nil {
			t.Fatal(err)
		}
		l, err := task.Forward(ctx, train.StepInfo{})
		if err != nil {
			t.Fatal(err)
		}
		single += l
	}
	if math.Abs(got-want) > 1e-5*want || math.Abs(got-single) > 1e-4*want {
		t.Fatalf("loss %v, naive %v, sum of singles %v", got, want, single)
	}
	if err := task.Load(ctx, []int{len(task.pairs)}); err == nil {
		t.Fatal("out-of-range sample accepted")
	}
}

// naiveNNSE computes the six aggregates of target q from predictions of
// every (location, s), straight from the §5.4 definitions.
func naiveNNSE(task *Task, pred, obs [][][]float64, q int) [6]float64 {
	nnseOf := func(o, p []float64) float64 {
		var mean, sst, sse float64
		for _, v := range o {
			mean += v
		}
		mean /= float64(len(o))
		for i := range o {
			sst += (o[i] - mean) * (o[i] - mean)
			sse += (o[i] - p[i]) * (o[i] - p[i])
		}
		return sst / (sst + sse)
	}
	nloc, ns := len(pred), len(pred[0])
	var out [6]float64
	sets := [3]func(l int) bool{func(int) bool { return true }, func(l int) bool { return task.isTrain[l] }, func(l int) bool { return !task.isTrain[l] }}
	for si, in := range sets {
		var sum float64
		var n int
		r, p := make([]float64, ns), make([]float64, ns)
		for l := 0; l < nloc; l++ {
			if !in(l) {
				continue
			}
			o := make([]float64, ns)
			pp := make([]float64, ns)
			for s := 0; s < ns; s++ {
				o[s], pp[s] = obs[l][s][q], pred[l][s][q]
				if math.IsNaN(o[s]) {
					o[s] = pp[s]
				}
				r[s] += o[s]
				p[s] += pp[s]
			}
			sum += nnseOf(o, pp)
			n++
		}
		out[si] = sum / float64(n)
		out[3+si] = nnseOf(r, p)
	}
	return out
}

func TestEvalMatchesNaiveAndIsShardInvariant(t *testing.T) {
	ds := synthDataset(40, 7, 2)
	cfg := smallTaskConfig()
	cfg.EvalStride = 3
	task, err := NewTask(ds, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// naive: one window at a time
	nloc := ds.Meta.Nloc
	pred := make([][][]float64, nloc)
	obs := make([][][]float64, nloc)
	var x, y tensor.Tensor
	for l := 0; l < nloc; l++ {
		for _, s := range task.evalS {
			x.Ensure(1, cfg.Tseq, NumInputs)
			y.Ensure(1, NumOutputs)
			if err := ds.FillBatch(x.Data, y.Data, []Pair{{Loc: int32(l), S: int32(s)}}, cfg.Tseq); err != nil {
				t.Fatal(err)
			}
			out, err := task.model.Forward([]*tensor.Tensor{&x}, false)
			if err != nil {
				t.Fatal(err)
			}
			p, o := make([]float64, NumOutputs), make([]float64, NumOutputs)
			for k := range NumOutputs {
				p[k], o[k] = float64(out.Data[k]), float64(y.Data[k])
			}
			pred[l] = append(pred[l], p)
			obs[l] = append(obs[l], o)
		}
	}
	one, err := task.EvalSums(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := task.Metrics(one)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range ms {
		got[m.Name] = m.Value
	}
	for q := range NumTargets {
		want := naiveNNSE(task, pred, obs, q)
		for i, a := range Aggregates {
			g := got["nnse_"+a+"_"+Horizons[q]]
			if math.Abs(g-want[i]) > 1e-4 {
				t.Fatalf("target %d aggregate %s: %v, naive %v", q, a, g, want[i])
			}
		}
	}
	// sharded over 3 ranks and summed gives the same metrics
	var sum []float64
	for r := 0; r < 3; r++ {
		part, err := task.EvalSums(ctx, r, 3)
		if err != nil {
			t.Fatal(err)
		}
		if sum == nil {
			sum = make([]float64, len(part))
		}
		for i, v := range part {
			sum[i] += v
		}
	}
	ms3, err := task.Metrics(sum)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms3 {
		if d := math.Abs(m.Value - ms[i].Value); d > 1e-9 && !(math.IsNaN(m.Value) && math.IsNaN(ms[i].Value)) {
			t.Fatalf("%s: %v sharded vs %v", m.Name, m.Value, ms[i].Value)
		}
	}
	if _, err := task.Metrics(sum[:10]); err == nil {
		t.Fatal("short sums accepted")
	}
}

// TestTrainingLowersLoss runs the generic loop on the synthetic data.
func TestTrainingLowersLoss(t *testing.T) {
	ds := synthDataset(40, 6, 4)
	cfg := smallTaskConfig()
	cfg.LearningRate = 0.01
	task, err := NewTask(ds, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewOptimizer(cfg, task.Arena().Size())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(train.Config{Seed: 1, Epochs: 4, GlobalBatch: 16}, task, opt, train.Local{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first, last := res.Epochs[0].TrainLoss, res.Epochs[3].TrainLoss; !(last < first) {
		t.Fatalf("loss did not go down: %v → %v", first, last)
	}
}

func TestTrainStepAllocatesNothing(t *testing.T) {
	ds := synthDataset(40, 6, 6)
	cfg := smallTaskConfig()
	cfg.Dropout, cfg.RecurrentDropout = 0.2, 0.2
	task, err := NewTask(ds, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	idx := []int{3, 1, 4, 1, 5, 9, 2, 6}
	step := func() {
		task.Arena().ZeroGrad()
		if err := task.Load(ctx, idx); err != nil {
			t.Fatal(err)
		}
		if _, err := task.Forward(ctx, train.StepInfo{}); err != nil {
			t.Fatal(err)
		}
		if err := task.Backward(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Fatalf("a training step allocates %v times", n)
	}
}
