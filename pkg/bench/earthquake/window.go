package earthquake

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// LSTM sequence sizes (§5.3, OURS: no fault inputs).
const (
	NumInputs   = NumDynamic + NumEncodings // 23 per step
	NumOutputs  = NumTargets + NumEncodings // 24 per sample
	DefaultTseq = 26
	// TrainFraction of the locations is used for training (ceil(0.8·Nloc)).
	TrainFraction = 0.8
)

// TargetWeights are the loss weights of the NumOutputs outputs: 1.0 for
// Magnitude 2 weeks and Calc_0..8, 0.25 for the 14 encodings.
var TargetWeights = func() [NumOutputs]float32 {
	var w [NumOutputs]float32
	for i := range w {
		w[i] = 1
		if i >= NumTargets {
			w[i] = 0.25
		}
	}
	return w
}()

// Pair names one training sample: mapped location Loc and window start S.
// Inputs are steps S…S+Tseq−1, targets are at T* = S+Tseq.
type Pair struct {
	Loc int32
	S   int32
}

// NumSeq returns the number of window starts per location, T − tseq
// (≤ 0 when the series is too short).
func (ds *Dataset) NumSeq(tseq int) int { return ds.Meta.T - tseq }

// SplitLocations returns ceil(0.8·nloc) training and the remaining validation
// mapped location indices, each ascending, chosen by a PCG generator seeded
// with seed (the same seed gives the same split on every rank).
func SplitLocations(nloc int, seed uint64) (train, val []int, err error) {
	if nloc <= 0 {
		return nil, nil, fmt.Errorf("%w: split of %d locations", ErrBadOption, nloc)
	}
	perm := rand.New(rand.NewPCG(seed, 0x65617274687175)).Perm(nloc)
	ntr := int(math.Ceil(TrainFraction * float64(nloc)))
	train, val = perm[:ntr:ntr], perm[ntr:]
	slices.Sort(train)
	slices.Sort(val)
	return train, val, nil
}

// Pairs lists every (location, s) for the given mapped locations and s <
// NumSeq(tseq), location-major.
func (ds *Dataset) Pairs(locs []int, tseq int) ([]Pair, error) {
	ns := ds.NumSeq(tseq)
	if tseq <= 0 || ns <= 0 {
		return nil, fmt.Errorf("%w: tseq %d with T=%d", ErrBadOption, tseq, ds.Meta.T)
	}
	out := make([]Pair, 0, len(locs)*ns)
	for _, l := range locs {
		if l < 0 || l >= ds.Meta.Nloc {
			return nil, fmt.Errorf("%w: location %d not in [0,%d)", ErrBadOption, l, ds.Meta.Nloc)
		}
		for s := range ns {
			out = append(out, Pair{Loc: int32(l), S: int32(s)})
		}
	}
	return out, nil
}

// FillBatch writes the windows of pairs into the caller-owned buffers
// x [len(pairs)][tseq][23] (9 dynamic then 14 encodings per step) and
// y [len(pairs)][24] (targets at T* = S+tseq: Magnitude 2 weeks, Calc_0..8,
// then the 14 encodings). NaN targets stay NaN. It does not allocate.
func (ds *Dataset) FillBatch(x, y []float32, pairs []Pair, tseq int) error {
	b := len(pairs)
	if tseq <= 0 || len(x) < b*tseq*NumInputs || len(y) < b*NumOutputs {
		return fmt.Errorf("%w: batch of %d with tseq %d needs x %d and y %d values, have %d and %d",
			ErrShape, b, tseq, b*tseq*NumInputs, b*NumOutputs, len(x), len(y))
	}
	nloc, ns := ds.Meta.Nloc, ds.NumSeq(tseq)
	for i, p := range pairs {
		l, s := int(p.Loc), int(p.S)
		if l < 0 || l >= nloc || s < 0 || s >= ns {
			return fmt.Errorf("%w: pair %d (loc %d, s %d) outside %d locations × %d starts", ErrShape, i, l, s, nloc, ns)
		}
		xb := x[i*tseq*NumInputs : (i+1)*tseq*NumInputs]
		for k := range tseq {
			t := s + k
			row := xb[k*NumInputs : (k+1)*NumInputs]
			copy(row[:NumDynamic], ds.Dynamic[(t*nloc+l)*NumDynamic:(t*nloc+l+1)*NumDynamic])
			copy(row[NumDynamic:], ds.Encodings[t*NumEncodings:(t+1)*NumEncodings])
			row[NumDynamic] = float32(l) / float32(nloc)
		}
		ts := s + tseq
		yb := y[i*NumOutputs : (i+1)*NumOutputs]
		copy(yb[:NumTargets], ds.Targets[(ts*nloc+l)*NumTargets:(ts*nloc+l+1)*NumTargets])
		copy(yb[NumTargets:], ds.Encodings[ts*NumEncodings:(ts+1)*NumEncodings])
		yb[NumTargets] = float32(l) / float32(nloc)
	}
	return nil
}
