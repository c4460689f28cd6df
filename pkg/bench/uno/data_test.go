package uno

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/hdf5"
	"github.com/scibench/scibench/pkg/train"
)

// writeFile writes a file with the given features per entity and pairs per
// split (val gets the last nVal pairs) through the generator's writer.
func writeFile(t *testing.T, path string, cw, dw int, xc, xd []float32, pairs []int, auc []float32, nVal int, drugs int) {
	t.Helper()
	f, err := hdf5.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := &writer{f: f, path: path, o: GenOptions{CellFeatures: cw, DrugFeatures: dw, Drugs: drugs, ChunkRows: 7}, xc: xc, xd: xd}
	n := len(pairs) - nVal
	if err := w.split(context.Background(), "train", pairs[:n], auc[:n]); err != nil {
		t.Fatal(err)
	}
	if err := w.split(context.Background(), "val", pairs[n:], auc[n:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestBadInput checks every kind of bad data file: the error is a
// *DataError naming the file and key (and row for bad values), wraps the
// right sentinel, and InputError turns it into a *config.Error (exit 2).
func TestBadInput(t *testing.T) {
	needHDF5(t)
	dir := t.TempDir()
	good, _ := genSmall(t, dir)
	rng := rand.New(rand.NewPCG(1, 2))
	const cw, dw, nc, nd = 5, 6, 4, 5
	pairs := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	auc := randVec(rng, len(pairs))
	// cell 2 has a NaN in column 3: pair 12 (cell 2, drug 2) is training row 11
	xc, xd := randVec(rng, nc*cw), randVec(rng, nd*dw)
	xc[2*cw+3] = float32(math.NaN())
	nanFeat := filepath.Join(dir, "nan-feature.h5")
	writeFile(t, nanFeat, cw, dw, xc, xd, []int{0, 1, 3, 4, 5, 6, 7, 8, 9, 15, 16, 12, 18, 13, 14, 19}, auc[:16], 4, nd)
	xc[2*cw+3] = 0
	badAUC := append([]float32(nil), auc...)
	badAUC[len(pairs)-2] = float32(math.Inf(1)) // val row 2
	nanAUC := filepath.Join(dir, "nan-auc.h5")
	writeFile(t, nanAUC, cw, dw, xc, xd, pairs, badAUC, 4, nd)

	trunc := filepath.Join(dir, "truncated.h5")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trunc, b[:len(b)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	notH5 := filepath.Join(dir, "text.h5")
	if err := os.WriteFile(notH5, []byte("AUC,Sample\n0.5,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	small := func(file string) Config { c := smallConfig(file); return c }
	cases := []struct {
		name    string
		cfg     Config
		want    error
		key     string
		row     int
		msgPart string
	}{
		{"wrong cell width", func() Config { c := small(good); c.CellFeatures = 25; return c }(), ErrData, "/x_train_0", -1, "wrong feature width 24, want 25"},
		{"wrong drug width", func() Config { c := small(good); c.DrugFeatures = 41; return c }(), ErrData, "/x_train_1", -1, "wrong feature width 40, want 41"},
		{"missing key", func() Config {
			c := small(nanAUC)
			c.CellFeatures, c.DrugFeatures = cw, dw
			c.EvalSplit = "test"
			return c
		}(), hdf5.ErrNotFound, "/x_test_0", -1, "missing"},
		{"NaN feature", func() Config { c := small(nanFeat); c.CellFeatures, c.DrugFeatures = cw, dw; return c }(), ErrNaN, "/x_train_0", 11, "column 3"},
		{"Inf AUC", func() Config { c := small(nanAUC); c.CellFeatures, c.DrugFeatures = cw, dw; return c }(), ErrNaN, "/y_val", 2, "non-finite"},
		{"truncated", small(trunc), ErrData, "", -1, trunc},
		{"not HDF5", small(notH5), hdf5.ErrNotHDF5, "", -1, notH5},
		{"missing file", small(filepath.Join(dir, "nope.h5")), ErrData, "", -1, "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Prepare(context.Background(), c.cfg, "", nil)
			if err == nil {
				t.Fatal("Prepare accepted the file")
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v does not wrap %v", err, c.want)
			}
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DataError", err, err)
			}
			if c.key != "" && (de.Key != c.key || de.Row != c.row) {
				t.Fatalf("key %q row %d, want %q row %d (%v)", de.Key, de.Row, c.key, c.row, err)
			}
			if msg := err.Error(); !strings.Contains(msg, c.msgPart) || !strings.Contains(msg, filepath.Base(c.cfg.File)) || (c.key != "" && !strings.Contains(msg, c.key)) {
				t.Fatalf("message %q lacks %q, the file or the key", msg, c.msgPart)
			}
			var ce *config.Error
			if ie := InputError(err); !errors.As(ie, &ce) || !errors.Is(ie, c.want) {
				t.Fatalf("InputError(%v) = %v", err, ie)
			}
			if c.name == "NaN feature" || c.name == "Inf AUC" {
				// memory mode reads every row too: Setup fails the same way
				cfg := c.cfg
				cfg.BatchSize = 4
				if _, err := Setup(context.Background(), cfg, "", 0, 1, nil); !errors.Is(err, ErrNaN) {
					t.Fatalf("Setup: %v, want ErrNaN", err)
				}
			}
		})
	}
	if err := InputError(errors.New("other")); errors.As(err, new(*config.Error)) {
		t.Fatal("InputError wrapped an unrelated error")
	}
}

// TestRowSources compares the rank-strided and contiguous in-memory sources
// against reading the file directly (the naive reference), on random
// steps, ranks and world sizes.
func TestRowSources(t *testing.T) {
	needHDF5(t)
	path, _ := genSmall(t, t.TempDir())
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := f.Partition("train", 24, 40)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	read := func(src rowSource, start, n int) ([]float32, []float32, []float32) {
		c, d, a := make([]float32, n*24), make([]float32, n*40), make([]float32, n)
		if err := src.ReadRows(start, n, c, d, a); err != nil {
			t.Fatalf("rows [%d,%d): %v", start, start+n, err)
		}
		return c, d, a
	}
	same := func(what string, x, y []float32) {
		t.Helper()
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				t.Fatalf("%s[%d] = %v, want %v", what, i, x[i], y[i])
			}
		}
	}
	for trial := range 20 {
		world := 1 + rng.IntN(4)
		gb := world + rng.IntN(60)
		rank := rng.IntN(world)
		lo, hi := train.RankBlock(gb, world, rank)
		steps := train.StepsPerEpoch(p.Rows, gb)
		var ranges [][2]int
		for s := range steps {
			if hi > lo {
				ranges = append(ranges, [2]int{s*gb + lo, s*gb + hi})
			}
		}
		b, err := loadRanges(context.Background(), p, ranges)
		if err != nil {
			t.Fatal(err)
		}
		src := &memSource{b: b, gb: gb, lo: lo, hi: hi}
		for range 5 {
			s := rng.IntN(steps)
			if hi == lo {
				continue
			}
			c1, d1, a1 := read(src, s*gb+lo, hi-lo)
			c2, d2, a2 := read(p, s*gb+lo, hi-lo)
			same("cell", c1, c2)
			same("drug", d1, d2)
			same("auc", a1, a2)
		}
		if hi > lo && hi-lo < gb {
			// rows outside this rank's block are refused, not misread
			other := (hi) % gb
			if err := src.ReadRows(other, 1, make([]float32, 24), make([]float32, 40), make([]float32, 1)); err == nil && (other < lo || other >= hi) {
				t.Fatalf("trial %d: row %d outside block [%d,%d) was served", trial, other, lo, hi)
			}
		}
		// contiguous eval block
		elo, ehi := train.RankBlock(p.Rows, world, rank)
		eb, err := loadRanges(context.Background(), p, [][2]int{{elo, ehi}})
		if err != nil {
			t.Fatal(err)
		}
		k := rng.IntN(ehi - elo)
		n := 1 + rng.IntN(ehi-elo-k)
		c1, d1, a1 := read(&memSource{b: eb, lo: elo}, elo+k, n)
		c2, d2, a2 := read(p, elo+k, n)
		same("eval cell", c1, c2)
		same("eval drug", d1, d2)
		same("eval auc", a1, a2)
	}
}

// TestGeneratorStats checks the target and feature statistics of §4.6 on
// a small file: AUC in [0,1] with the documented spread, standardised
// feature columns, distinct (cell, drug) pairs.
func TestGeneratorStats(t *testing.T) {
	needHDF5(t)
	path := filepath.Join(t.TempDir(), "s.h5")
	st, err := Generate(context.Background(), path, GenOptions{Train: 1600, Val: 200, Test: 200, CellFeatures: 30, DrugFeatures: 200, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if st.MeanAUC < 0.65 || st.MeanAUC > 0.8 || st.StdAUC < 0.11 || st.StdAUC > 0.19 || st.ValMeanMSE < 0.01 || st.ValMeanMSE > 0.04 {
		t.Fatalf("AUC mean %.3f std %.3f, val mean-predictor MSE %.4f: outside §4.6's ≈0.73/0.14/0.02", st.MeanAUC, st.StdAUC, st.ValMeanMSE)
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := f.Partition("train", 30, 200)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Load(context.Background(), 333)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range b.AUC {
		if a < 0 || a > 1 {
			t.Fatalf("AUC %v outside [0,1]", a)
		}
	}
	// over rows, columns are close to standardised (entities are standardised; rows resample them)
	zero := 0
	for j := range 200 {
		var m, s float64
		for i := range b.Rows {
			m += float64(b.Drug[i*200+j])
		}
		m /= float64(b.Rows)
		for i := range b.Rows {
			d := float64(b.Drug[i*200+j]) - m
			s += d * d
		}
		s = math.Sqrt(s / float64(b.Rows))
		if s == 0 {
			zero++
			continue
		}
		if math.Abs(m) > 0.3 || s < 0.7 || s > 1.3 {
			t.Fatalf("drug column %d: mean %.3f std %.3f", j, m, s)
		}
	}
	if zero == 0 || zero > 30 {
		t.Fatalf("%d of 200 drug columns are zero, want about 5%%", zero)
	}
	samples, drugs, err := p.Names(0, p.Rows)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range samples {
		k := samples[i] + "/" + drugs[i]
		if seen[k] {
			t.Fatalf("pair %s twice", k)
		}
		seen[k] = true
	}
}

// TestPickle checks the protocol-0 encodings against what Python's
// pickle.dumps(v, 0) gives (memo opcodes aside, which loads ignores).
func TestPickle(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{1, "I1\n."},
		{nil, "N."},
		{[]any{"AUC"}, "(lVAUC\na."},
		{[]any{tuple{0, "index"}}, "(l(I0\nVindex\nta."},
		{[][2]any{{"index", [][2]any{}}}, "(dVindex\n(ds."},
	} {
		if got := pickle(c.v); got != c.want {
			t.Errorf("pickle(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

// TestNoHDF5 runs in both builds: without the hdf5 tag every data call
// says so (wrapping hdf5.ErrNoHDF5) as bad input (exit 2); with it, a
// missing file is ErrData naming the file.
func TestNoHDF5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.h5")
	_, err := OpenFile(path)
	want := ErrData
	if !hdf5.Available() {
		want = hdf5.ErrNoHDF5
	}
	if !errors.Is(err, want) || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenFile: %v, want %v naming %s", err, want, path)
	}
	if _, err := Generate(context.Background(), path, GenOptions{Train: 2, Val: 1, CellFeatures: 2, DrugFeatures: 2}); hdf5.Available() != (err == nil) {
		t.Fatalf("Generate: %v (hdf5 available: %v)", err, hdf5.Available())
	}
	var ce *config.Error
	if ie := InputError(err); err != nil && !errors.As(ie, &ce) {
		t.Fatalf("InputError(%v) is not a config error", err)
	}
}

// TestBadInputMarker: a DataError wrapped by the training loop still
// carries the CLI's bad-input marker.
func TestBadInputMarker(t *testing.T) {
	var err error = dataErr("f.h5", "/x_train_0", 3, ErrNaN, "non-finite")
	err = errors.Join(errors.New("epoch 1 step 2"), err)
	var bi interface{ BadInput() bool }
	if !errors.As(err, &bi) || !bi.BadInput() || !errors.Is(err, ErrNaN) {
		t.Fatalf("%v lost its BadInput marker", err)
	}
}
