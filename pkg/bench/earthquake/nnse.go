package earthquake

import (
	"fmt"
	"math"
)

// NNSE accumulates the sums behind the NNSE metric of §5.4 for nq targets,
// nloc locations and ns sequence positions. Everything it holds is a plain
// sum, exposed as one []float64 by Sums, so ranks that each predict a shard
// of the (location, s) pairs can all-reduce (sum) that slice and then call
// Report on any rank: the result equals a single-rank computation.
//
// Layout of Sums (all float64):
//
//	per (q, loc):        n, Σo, Σo², Σ(o−p)²                  [nq][nloc][4]
//	per (q, set, s):     n, R_s = Σ_loc o, P_s = Σ_loc p     [nq][2][ns][3], set 0 = training, 1 = validation
//
// An observation o that is NaN is replaced by the prediction (zero error,
// still counted).
type NNSE struct {
	nq, nloc, ns int
	train        []bool
	sums         []float64
	locOff       int
}

// NewNNSE returns an empty accumulator. train[loc] marks training locations
// (len(train) must be nloc).
func NewNNSE(nq, nloc, ns int, train []bool) (*NNSE, error) {
	if nq <= 0 || nloc <= 0 || ns <= 0 || len(train) != nloc {
		return nil, fmt.Errorf("%w: NNSE with %d targets, %d locations (%d flags), %d sequences", ErrShape, nq, nloc, len(train), ns)
	}
	n := &NNSE{nq: nq, nloc: nloc, ns: ns, train: train}
	n.locOff = nq * nloc * 4
	n.sums = make([]float64, n.locOff+nq*2*ns*3)
	return n, nil
}

// Sums returns the accumulator's storage for an in-place all-reduce (sum).
func (n *NNSE) Sums() []float64 { return n.sums }

// Reset zeroes all sums.
func (n *NNSE) Reset() { clear(n.sums) }

// Add records observation o and prediction p of target q at (loc, s).
// Out-of-range indices are ignored and reported as false.
func (n *NNSE) Add(q, loc, s int, o, p float64) bool {
	if q < 0 || q >= n.nq || loc < 0 || loc >= n.nloc || s < 0 || s >= n.ns {
		return false
	}
	if math.IsNaN(o) {
		o = p
	}
	l := n.sums[(q*n.nloc+loc)*4:]
	d := o - p
	l[0]++
	l[1] += o
	l[2] += o * o
	l[3] += d * d
	set := 1
	if n.train[loc] {
		set = 0
	}
	r := n.sums[n.locOff+((q*2+set)*n.ns+s)*3:]
	r[0]++
	r[1] += o
	r[2] += p
	return true
}

// AddBatch records a batch: obs and pred are [len(pairs)][nq] (targets
// first); the sequence position of row i is pairs[i].S. It does not allocate.
func (n *NNSE) AddBatch(obs, pred []float32, pairs []Pair) error {
	if len(obs) < len(pairs)*n.nq || len(pred) < len(pairs)*n.nq {
		return fmt.Errorf("%w: NNSE batch of %d needs %d values, have obs %d pred %d", ErrShape, len(pairs), len(pairs)*n.nq, len(obs), len(pred))
	}
	for i, pr := range pairs {
		for q := range n.nq {
			if !n.Add(q, int(pr.Loc), int(pr.S), float64(obs[i*n.nq+q]), float64(pred[i*n.nq+q])) {
				return fmt.Errorf("%w: NNSE pair %d (loc %d, s %d) out of range", ErrShape, i, pr.Loc, pr.S)
			}
		}
	}
	return nil
}

// NNSEAggregates are the six aggregates of §5.4 for one target. A, AT, AV
// average per-location NNSE over all, training and validation locations,
// excluding NaN ones (counted in NaN, NaNT, NaNV); S, ST, SV apply the
// formula to the location-summed series.
type NNSEAggregates struct {
	A, AT, AV       float64
	S, ST, SV       float64
	NaN, NaNT, NaNV int
	// MSE is Σ(o−p)²/count over all (loc, s) of this target.
	MSE float64
}

// NNSEReport holds the aggregates per target and the weighted MSE
// Σ_q w_q Σ(o−p)² / (number of (loc, s) pairs).
type NNSEReport struct {
	Targets     []NNSEAggregates
	WeightedMSE float64
}

// NNSEValue is SST/(SST+SSE) for count cnt, Σo, Σo² and SSE; NaN when
// cnt = 0 or SST+SSE = 0. SST rounding noise below 1e-12·Σo² counts as 0.
func NNSEValue(cnt, so, so2, sse float64) float64 {
	if cnt <= 0 {
		return math.NaN()
	}
	sst := so2 - so*so/cnt
	if sst < 1e-12*so2 {
		sst = 0
	}
	if sst+sse == 0 {
		return math.NaN()
	}
	return sst / (sst + sse)
}

// Report derives the aggregates. weights has one entry per target (nil
// means 1 for all).
func (n *NNSE) Report(weights []float32) (NNSEReport, error) {
	if weights != nil && len(weights) != n.nq {
		return NNSEReport{}, fmt.Errorf("%w: %d weights for %d targets", ErrShape, len(weights), n.nq)
	}
	rep := NNSEReport{Targets: make([]NNSEAggregates, n.nq)}
	var wsse, pairs float64
	for q := range n.nq {
		a := &rep.Targets[q]
		var sum, sumT, sumV [2]float64 // Σ NNSE, count of finite
		var sse, cnt float64
		for loc := range n.nloc {
			l := n.sums[(q*n.nloc+loc)*4:]
			if l[0] == 0 {
				continue
			}
			sse += l[3]
			cnt += l[0]
			v := NNSEValue(l[0], l[1], l[2], l[3])
			if math.IsNaN(v) {
				a.NaN++
				if n.train[loc] {
					a.NaNT++
				} else {
					a.NaNV++
				}
				continue
			}
			sum[0] += v
			sum[1]++
			if n.train[loc] {
				sumT[0] += v
				sumT[1]++
			} else {
				sumV[0] += v
				sumV[1]++
			}
		}
		a.A, a.AT, a.AV = sum[0]/sum[1], sumT[0]/sumT[1], sumV[0]/sumV[1]
		a.MSE = sse / cnt
		w := 1.0
		if weights != nil {
			w = float64(weights[q])
		}
		wsse += w * sse
		if q == 0 {
			pairs = cnt
		}
		// Location-summed series: training, validation and all (= their sum).
		var st [3][4]float64 // n, ΣR, ΣR², Σ(R−P)²
		for s := range n.ns {
			tr := n.sums[n.locOff+((q*2+0)*n.ns+s)*3:]
			va := n.sums[n.locOff+((q*2+1)*n.ns+s)*3:]
			for k, v := range [3][3]float64{{tr[0], tr[1], tr[2]}, {va[0], va[1], va[2]}, {tr[0] + va[0], tr[1] + va[1], tr[2] + va[2]}} {
				if v[0] == 0 {
					continue
				}
				d := v[1] - v[2]
				st[k][0]++
				st[k][1] += v[1]
				st[k][2] += v[1] * v[1]
				st[k][3] += d * d
			}
		}
		a.ST = NNSEValue(st[0][0], st[0][1], st[0][2], st[0][3])
		a.SV = NNSEValue(st[1][0], st[1][1], st[1][2], st[1][3])
		a.S = NNSEValue(st[2][0], st[2][1], st[2][2], st[2][3])
	}
	rep.WeightedMSE = wsse / pairs
	return rep, nil
}
