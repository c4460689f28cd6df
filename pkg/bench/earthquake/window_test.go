package earthquake

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// smallDataset returns a hand-built dataset with random values and NaN in
// the last steps of the Calc columns.
func smallDataset(nt, nloc int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	ds := &Dataset{
		Meta: Meta{Format: FormatVersion, Span: SpanDefault, Locations: LocationsComputed,
			D: 25489, S: 9, F: nt + Shift, T: nt, Nloc: nloc, CatalogSHA256: "00",
			DynamicNames: DynamicNames[:], TargetNames: TargetNames[:], EncodingNames: EncodingNames[:]},
		Locations: make([]int32, nloc),
		Dynamic:   make([]float32, nt*nloc*NumDynamic),
		Targets:   make([]float32, nt*nloc*NumTargets),
		Encodings: encodings(nt),
	}
	for i := range ds.Locations {
		ds.Locations[i] = int32(3 * i)
	}
	for i := range ds.Dynamic {
		ds.Dynamic[i] = rng.Float32()
	}
	for i := range ds.Targets {
		ds.Targets[i] = rng.Float32()
		if t, k := i/(nloc*NumTargets), i%NumTargets; k > 0 && t >= nt-2 {
			ds.Targets[i] = float32(math.NaN())
		}
	}
	for j := range NumProps {
		ds.NormMin[j], ds.NormMax[j] = float64(j), float64(2*j+1)
	}
	return ds
}

func TestFillBatchAgainstNaive(t *testing.T) {
	const nt, nloc, tseq = 40, 5, 7
	ds := smallDataset(nt, nloc, 3)
	all := []int{0, 1, 2, 3, 4}
	pairs, err := ds.Pairs(all, tseq)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != nloc*(nt-tseq) {
		t.Fatalf("%d pairs, want %d", len(pairs), nloc*(nt-tseq))
	}
	rng := rand.New(rand.NewPCG(9, 9))
	rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	batch := pairs[:17]
	x := make([]float32, len(batch)*tseq*NumInputs)
	y := make([]float32, len(batch)*NumOutputs)
	if err := ds.FillBatch(x, y, batch, tseq); err != nil {
		t.Fatal(err)
	}
	same := func(a, b float32) bool { return a == b || (a != a && b != b) }
	for i, p := range batch {
		l, s := int(p.Loc), int(p.S)
		for k := range tseq {
			tt := s + k
			for j := range NumInputs {
				var want float32
				switch {
				case j < NumDynamic:
					want = ds.Dynamic[tt*nloc*NumDynamic+l*NumDynamic+j]
				case j == NumDynamic:
					want = float32(l) / float32(nloc)
				default:
					want = ds.Encodings[tt*NumEncodings+j-NumDynamic]
				}
				if got := x[(i*tseq+k)*NumInputs+j]; got != want {
					t.Fatalf("x[%d,%d,%d] = %g, want %g", i, k, j, got, want)
				}
			}
		}
		ts := s + tseq
		for j := range NumOutputs {
			var want float32
			switch {
			case j < NumTargets:
				want = ds.Targets[ts*nloc*NumTargets+l*NumTargets+j]
			case j == NumTargets:
				want = float32(l) / float32(nloc)
			default:
				want = ds.Encodings[ts*NumEncodings+j-NumTargets]
			}
			if got := y[i*NumOutputs+j]; !same(got, want) {
				t.Fatalf("y[%d,%d] = %g, want %g", i, j, got, want)
			}
		}
	}
	if a := testing.AllocsPerRun(50, func() { _ = ds.FillBatch(x, y, batch, tseq) }); a != 0 {
		t.Errorf("FillBatch allocates %g times per call", a)
	}
	// Errors: short buffers, out-of-range pairs, s beyond NumSeq.
	if err := ds.FillBatch(x[:1], y, batch, tseq); !errors.Is(err, ErrShape) {
		t.Errorf("short x: %v", err)
	}
	for _, p := range []Pair{{Loc: int32(nloc), S: 0}, {Loc: -1, S: 0}, {Loc: 0, S: int32(nt - tseq)}} {
		if err := ds.FillBatch(x, y, []Pair{p}, tseq); !errors.Is(err, ErrShape) {
			t.Errorf("pair %+v: %v", p, err)
		}
	}
	if _, err := ds.Pairs(all, nt); !errors.Is(err, ErrBadOption) {
		t.Errorf("tseq = T: %v", err)
	}
	if _, err := ds.Pairs([]int{nloc}, tseq); !errors.Is(err, ErrBadOption) {
		t.Errorf("bad location: %v", err)
	}
}

func TestSplitLocations(t *testing.T) {
	for _, n := range []int{1, 2, 5, 10, 495, 500} {
		tr, va, err := SplitLocations(n, 42)
		if err != nil {
			t.Fatal(err)
		}
		if want := int(math.Ceil(0.8 * float64(n))); len(tr) != want || len(tr)+len(va) != n {
			t.Errorf("n=%d: %d train %d val, want %d train", n, len(tr), len(va), want)
		}
		all := append(slices.Clone(tr), va...)
		slices.Sort(all)
		for i, v := range all {
			if v != i {
				t.Fatalf("n=%d: split is not a partition: %v", n, all)
			}
		}
		if !slices.IsSorted(tr) || !slices.IsSorted(va) {
			t.Errorf("n=%d: lists not ascending", n)
		}
		tr2, _, _ := SplitLocations(n, 42)
		if !slices.Equal(tr, tr2) {
			t.Errorf("n=%d: same seed, different split", n)
		}
	}
	a, _, _ := SplitLocations(500, 1)
	b, _, _ := SplitLocations(500, 2)
	if slices.Equal(a, b) {
		t.Error("seeds 1 and 2 give the same split")
	}
	if _, _, err := SplitLocations(0, 1); !errors.Is(err, ErrBadOption) {
		t.Errorf("n=0: %v", err)
	}
	if TargetWeights[0] != 1 || TargetWeights[9] != 1 || TargetWeights[10] != 0.25 || TargetWeights[23] != 0.25 {
		t.Errorf("weights %v", TargetWeights)
	}
}

func TestWindowTables(t *testing.T) {
	for i, w := range backWindows {
		if windowLens[backIdx[i]] != w {
			t.Errorf("back window %d: length %d, table gives %d", i, w, windowLens[backIdx[i]])
		}
	}
	for k, j := range calcJumps {
		if windowLens[calcIdx[k]] != j {
			t.Errorf("Calc_%d: jump %d, table gives %d", k, j, windowLens[calcIdx[k]])
		}
	}
}
