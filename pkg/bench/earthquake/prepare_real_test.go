package earthquake

import (
	"os"
	"slices"
	"testing"
	"time"
)

const realCatalog = "/work/shared/data/earthquake/socal_box_32-36N_120-114W_1932-2026_all_events.csv.gz"

func prepareReal(t *testing.T, opts Options) *Dataset {
	t.Helper()
	f, err := os.Open(realCatalog)
	if err != nil {
		t.Fatalf("real catalog: %v", err)
	}
	defer f.Close()
	opts.File = realCatalog
	start := time.Now()
	ds, err := Prepare(f, opts)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Logf("Prepare(%s, %s) took %v", opts.Span, opts.Locations, time.Since(start))
	return ds
}

func setDiff(a, b []int) []int {
	var out []int
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

func TestRealCatalogDefaultSpan(t *testing.T) {
	ds := prepareReal(t, Options{})
	m := ds.Meta
	t.Logf("meta: D=%d S=%d F=%d T=%d Nloc=%d first=%s step0=%s counts=%+v", m.D, m.S, m.F, m.T, m.Nloc, m.FirstFortnight, m.FirstStep, m.Counts)
	t.Logf("stats: %+v", m.Stats)
	if m.D != 25489 || m.S != 9 || m.F != 1820 || m.T != 1795 {
		t.Errorf("D,S,F,T = %d,%d,%d,%d, want 25489,9,1820,1795", m.D, m.S, m.F, m.T)
	}
	if m.FirstFortnight != "1950-01-10" || m.FirstStep != "1950-12-26" {
		t.Errorf("first fortnight %s, first step %s; want 1950-01-10, 1950-12-26", m.FirstFortnight, m.FirstStep)
	}
	if m.Nloc != 495 || m.Stats.SingleCut != 244 || m.Stats.BlockCut != 483 {
		t.Errorf("active %d (single %d, block %d), want 495 (244/483)", m.Nloc, m.Stats.SingleCut, m.Stats.BlockCut)
	}
	var got []int
	for _, p := range ds.Locations {
		got = append(got, int(p))
	}
	ref := Reference500()
	if lacks, want := setDiff(ref, got), []int{692, 1157, 1211, 1217, 1414, 2260}; !slices.Equal(lacks, want) {
		t.Errorf("computed set lacks %v of the reference 500, want %v", lacks, want)
	}
	if adds, want := setDiff(got, ref), []int{752}; !slices.Equal(adds, want) {
		t.Errorf("computed set adds %v, want %v", adds, want)
	}
}

// within reports whether got rounds to want at the printed precision (half a unit of the last digit).
func within(got, want, unit float64) bool { return got >= want-unit/2 && got <= want+unit/2 }

func TestRealCatalogReferenceSpanStats(t *testing.T) {
	ds := prepareReal(t, Options{Span: SpanReference})
	m := ds.Meta
	st := m.Stats
	t.Logf("stats: %+v", st)
	if m.D != 25567 || m.S != 3 || m.F != 1826 || m.T != 1801 || m.FirstFortnight != "1950-01-04" || m.FirstStep != "1950-12-20" {
		t.Errorf("D,S,F,T = %d,%d,%d,%d from %s/%s; want 25567,3,1826,1801 from 1950-01-04/1950-12-20", m.D, m.S, m.F, m.T, m.FirstFortnight, m.FirstStep)
	}
	if m.Nloc != 495 || st.SingleCut != 244 || st.BlockCut != 483 {
		t.Errorf("active %d (single %d, block %d), want 495 (244/483)", m.Nloc, st.SingleCut, st.BlockCut)
	}
	// §5.2 step 9, OURS column, value and unit of the last printed digit.
	want := [4][4][2]float64{
		{{0.764, 0.001}, {7.500, 0.001}, {0.805, 0.001}, {0.242, 0.001}},
		{{-2.09, 0.01}, {47.6, 0.1}, {0.277, 0.001}, {1.62, 0.01}},
		{{0, 1}, {3045, 1}, {0.147, 0.001}, {4.86, 0.01}},
		{{0, 1}, {86, 1}, {0.0019, 0.0001}, {0.150, 0.001}},
	}
	for i, w := range want {
		p := st.Props[i]
		for j, got := range [4]float64{p.Min, p.Max, p.Mean, p.Std} {
			if !within(got, w[j][0], w[j][1]) {
				t.Errorf("%s stat %d = %g, want %g ± %g", DynamicNames[i], j, got, w[j][0], w[j][1]/2)
			}
		}
	}
	if st.MaxSpaceSumM3 != 572 {
		t.Errorf("max space-summed M>3.29 count %g, want 572", st.MaxSpaceSumM3)
	}
	for i, w := range [5]float64{0.965, 1.165, 1.327, 1.507, 1.707} {
		if !within(st.BackWindowMins[i], w, 0.001) {
			t.Errorf("back-window min %d = %g, want %g", i, st.BackWindowMins[i], w)
		}
	}
}

// BenchmarkPrepareReal times the whole pipeline on the real catalog.
func BenchmarkPrepareReal(b *testing.B) {
	for b.Loop() {
		f, err := os.Open(realCatalog)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Prepare(f, Options{File: realCatalog}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
