package earthquake

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

// TestNNSEByHand: 1 target, loc 0 training, loc 1 validation, 3 sequences.
//
//	loc 0: o = 1 2 3, p = 1 2 4: SST = 14 − 36/3 = 2, SSE = 1, NNSE = 2/3
//	loc 1: o = NaN 1 1 → 5 1 1, p = 5 2 1: SST = 27 − 49/3 = 32/3, SSE = 1, NNSE = 32/35
//	summed: R = 6 3 4, P = 6 4 5: SST = 61 − 169/3 = 14/3, SSE = 2, NNSE = 0.7
func TestNNSEByHand(t *testing.T) {
	n, err := NewNNSE(1, 2, 3, []bool{true, false})
	if err != nil {
		t.Fatal(err)
	}
	obs := [2][3]float64{{1, 2, 3}, {math.NaN(), 1, 1}}
	pred := [2][3]float64{{1, 2, 4}, {5, 2, 1}}
	for l := range 2 {
		for s := range 3 {
			n.Add(0, l, s, obs[l][s], pred[l][s])
		}
	}
	rep, err := n.Report([]float32{0.5})
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Targets[0]
	want := NNSEAggregates{A: (2.0/3 + 32.0/35) / 2, AT: 2.0 / 3, AV: 32.0 / 35, S: 0.7, ST: 2.0 / 3, SV: 32.0 / 35, MSE: 2.0 / 6}
	for _, c := range [][3]any{{"A", a.A, want.A}, {"AT", a.AT, want.AT}, {"AV", a.AV, want.AV}, {"S", a.S, want.S},
		{"ST", a.ST, want.ST}, {"SV", a.SV, want.SV}, {"MSE", a.MSE, want.MSE}, {"weighted MSE", rep.WeightedMSE, 0.5 * 2.0 / 6}} {
		if !near(c[1].(float64), c[2].(float64)) {
			t.Errorf("%s = %.15g, want %.15g", c[0], c[1], c[2])
		}
	}
	if a.NaN != 0 {
		t.Errorf("NaN count %d", a.NaN)
	}
}

func TestNNSEDegenerate(t *testing.T) {
	// loc 0 constant and perfectly predicted: SST+SSE = 0 → NaN, excluded and counted.
	// loc 1: o = 0 2, p = 1 1: SST = 2, SSE = 2, NNSE = 0.5.
	n, _ := NewNNSE(1, 2, 2, []bool{false, true})
	n.Add(0, 0, 0, 3, 3)
	n.Add(0, 0, 1, 3, 3)
	n.Add(0, 1, 0, 0, 1)
	n.Add(0, 1, 1, 2, 1)
	rep, _ := n.Report(nil)
	a := rep.Targets[0]
	if a.NaN != 1 || a.NaNV != 1 || a.NaNT != 0 || !near(a.A, 0.5) || !near(a.AT, 0.5) || !math.IsNaN(a.AV) {
		t.Errorf("got %+v, want A = AT = 0.5, AV NaN, one NaN location (validation)", a)
	}
	if !math.IsNaN(a.SV) || !near(a.ST, 0.5) {
		t.Errorf("SV %g (want NaN), ST %g (want 0.5)", a.SV, a.ST)
	}
	if NNSEValue(0, 0, 0, 0) == NNSEValue(0, 0, 0, 0) {
		t.Error("NNSEValue with no samples is not NaN")
	}
	if _, err := NewNNSE(1, 2, 2, []bool{true}); !errors.Is(err, ErrShape) {
		t.Errorf("bad flags: %v", err)
	}
	if _, err := n.Report([]float32{1, 2}); !errors.Is(err, ErrShape) {
		t.Errorf("bad weights: %v", err)
	}
}

// TestNNSEShardedEqualsSingle: splitting the pairs over ranks and summing
// Sums() (an all-reduce) gives the single-rank result; also checks against a
// naive per-location computation on random data.
func TestNNSEShardedEqualsSingle(t *testing.T) {
	const nq, nloc, ns, ranks = 3, 7, 11, 3
	rng := rand.New(rand.NewPCG(5, 6))
	train := make([]bool, nloc)
	for i := range train {
		train[i] = i%3 != 0
	}
	obs := make([]float32, nloc*ns*nq)
	pred := make([]float32, nloc*ns*nq)
	for i := range obs {
		obs[i], pred[i] = rng.Float32(), rng.Float32()
		if rng.IntN(10) == 0 {
			obs[i] = float32(math.NaN())
		}
	}
	pairs := make([]Pair, 0, nloc*ns)
	for l := range nloc {
		for s := range ns {
			pairs = append(pairs, Pair{Loc: int32(l), S: int32(s)})
		}
	}
	single, _ := NewNNSE(nq, nloc, ns, train)
	if err := single.AddBatch(obs, pred, pairs); err != nil {
		t.Fatal(err)
	}
	var shards [ranks]*NNSE
	for r := range ranks {
		shards[r], _ = NewNNSE(nq, nloc, ns, train)
	}
	for i, p := range pairs {
		r := i % ranks
		if err := shards[r].AddBatch(obs[i*nq:(i+1)*nq], pred[i*nq:(i+1)*nq], []Pair{p}); err != nil {
			t.Fatal(err)
		}
	}
	for r := 1; r < ranks; r++ { // the all-reduce
		for i, v := range shards[r].Sums() {
			shards[0].Sums()[i] += v
		}
	}
	w := []float32{1, 0.25, 0.25}
	a, _ := single.Report(w)
	b, _ := shards[0].Report(w)
	for q := range nq {
		x, y := a.Targets[q], b.Targets[q]
		if !near(x.A, y.A) || !near(x.S, y.S) || !near(x.ST, y.ST) || !near(x.SV, y.SV) || !near(x.AV, y.AV) || x.NaN != y.NaN {
			t.Errorf("target %d: single %+v, sharded %+v", q, x, y)
		}
		// Naive per-location NNSE = 1/(2 − NSE), NSE = 1 − SSE/SST with mean-centred SST.
		var sum float64
		for l := range nloc {
			var mean float64
			o := make([]float64, ns)
			p := make([]float64, ns)
			for s := range ns {
				i := (l*ns+s)*nq + q
				o[s], p[s] = float64(obs[i]), float64(pred[i])
				if math.IsNaN(o[s]) {
					o[s] = p[s]
				}
				mean += o[s] / ns
			}
			var sst, sse float64
			for s := range ns {
				sst += (o[s] - mean) * (o[s] - mean)
				sse += (o[s] - p[s]) * (o[s] - p[s])
			}
			sum += 1 / (2 - (1 - sse/sst))
		}
		if !near(x.A, sum/nloc) && math.Abs(x.A-sum/nloc) > 1e-9 {
			t.Errorf("target %d: A = %.15g, naive %.15g", q, x.A, sum/nloc)
		}
	}
	if a := testing.AllocsPerRun(20, func() { _ = single.AddBatch(obs, pred, pairs) }); a != 0 {
		t.Errorf("AddBatch allocates %g per call", a)
	}
	if err := single.AddBatch(obs[:1], pred, pairs); !errors.Is(err, ErrShape) {
		t.Errorf("short batch: %v", err)
	}
}
