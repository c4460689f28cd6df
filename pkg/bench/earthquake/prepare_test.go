package earthquake

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// synthEvent is one test event at the centre of pixel (x, y).
type synthEvent struct {
	x, y, day int
	m         float64
}

func pixelCentre(x, y int) (lat, lon string) {
	la := 3600 - 10*y - 5  // hundredths of a degree
	lo := 12000 - 10*x - 5 // −lon in hundredths
	return fmt.Sprintf("%d.%02d", la/100, la%100), fmt.Sprintf("-%d.%02d", lo/100, lo%100)
}

// synthCatalog builds a small catalog (default span: S = 9, F = 1820) whose
// active pixels are known by hand: (10,10) with 10 M4 events (R1 = 10),
// (40,30) with 8 M3.5 (R1 = 8), the centre (20,30) of a 3×3 block with 4
// M3.3 events per pixel (R2 = 36), and (50,5) with 7 M3.5 (R1 = 7: inactive).
func synthCatalog() ([]synthEvent, string) {
	var ev []synthEvent
	fort := func(k, dd int) int { return 9 + 14*k + dd }
	for i := range 10 {
		ev = append(ev, synthEvent{10, 10, fort(40+170*i, i%14), 4.0})
	}
	ev = append(ev, synthEvent{10, 10, fort(1817, 3), 6.1}) // near the end: forward windows NaN after
	ev = append(ev, synthEvent{10, 10, fort(1817, 3), 2.2}) // same pixel-day
	ev = append(ev, synthEvent{10, 10, fort(1817, 5), 1.1}) // same fortnight, other day
	for i := range 8 {
		ev = append(ev, synthEvent{40, 30, fort(10+200*i, 0), 3.5})
	}
	for i := range 7 {
		ev = append(ev, synthEvent{50, 5, fort(300+100*i, 13), 3.5})
	}
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			for i := range 4 {
				ev = append(ev, synthEvent{20 + dx, 30 + dy, fort(25+400*i+(dx+1)*3+(dy+1), 7), 3.3})
			}
		}
	}
	var b strings.Builder
	b.WriteString(csvHeader)
	for _, e := range ev {
		lat, lon := pixelCentre(e.x, e.y)
		b.WriteString(row(e.day, lat, lon, "3.0", fmt.Sprintf("%.2f", e.m), "eq"))
	}
	return ev, b.String()
}

// naiveRows computes the NumProps raw values for pixel p directly (no
// log-sum-exp): fortnight energy = Σ 10^(1.5 m) + number of empty days.
func naiveRows(ev []synthEvent, p, s, f int) [][NumProps]float64 {
	energy := make([]float64, f)
	depthW := make([]float64, f)
	n := make([]float64, f)
	n3 := make([]float64, f)
	days := make([]map[int]bool, f)
	for _, e := range ev {
		if e.x+60*e.y != p {
			continue
		}
		k := (e.day - s) / 14
		if days[k] == nil {
			days[k] = map[int]bool{}
		}
		days[k][e.day] = true
		energy[k] += math.Pow(10, 1.5*e.m)
		depthW[k] += 3.0 * math.Pow(10, 1.5*e.m)
		n[k]++
		if e.m > 3.29 {
			n3[k]++
		}
	}
	for k := range energy {
		energy[k] += float64(14 - len(days[k]))
	}
	win := func(a, b int) float64 {
		if b > f {
			return math.NaN()
		}
		var sum float64
		for j := a; j < b; j++ {
			sum += energy[j]
		}
		return math.Log10(sum) / 1.5
	}
	out := make([][NumProps]float64, f-25)
	for o := 25; o < f; o++ {
		r := &out[o-25]
		r[0] = math.Log10(energy[o]) / 1.5
		r[1] = depthW[o] / energy[o]
		r[2], r[3] = n[o], n3[o]
		for i, w := range []int{2, 4, 7, 13, 26} {
			r[4+i] = win(o-w+1, o+1)
		}
		jumps := []int{2, 4, 7, 13, 26, 52, 104, 26, 52}
		delays := []int{0, 0, 0, 0, 0, 0, 0, 26, 52}
		for k := range 9 {
			r[9+k] = win(o+delays[k], o+delays[k]+jumps[k])
		}
	}
	return out
}

func TestPrepareAgainstNaive(t *testing.T) {
	ev, csv := synthCatalog()
	const s, f, nt = 9, 1820, 1795
	ds, err := Prepare(strings.NewReader(csv), Options{File: "synth.csv", Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	m := ds.Meta
	if m.T != nt || m.F != f || m.S != s {
		t.Fatalf("T,F,S = %d,%d,%d", m.T, m.F, m.S)
	}
	wantLocs := []int32{10 + 60*10, 20 + 60*30, 40 + 60*30}
	if !slices.Equal(ds.Locations, wantLocs) {
		t.Fatalf("active pixels %v, want %v", ds.Locations, wantLocs)
	}
	if st := m.Stats; st.SingleCut != 2 || st.BlockCut != 1 || st.Computed != 3 {
		t.Errorf("cuts single %d block %d computed %d, want 2, 1, 3", st.SingleCut, st.BlockCut, st.Computed)
	}
	// Naive min/max over all pixels: every pixel with events, plus one quiet pixel.
	pix := map[int]bool{0: true}
	for _, e := range ev {
		pix[e.x+60*e.y] = true
	}
	rows := map[int][][NumProps]float64{}
	var lo, hi [NumProps]float64
	for j := range lo {
		lo[j], hi[j] = math.Inf(1), math.Inf(-1)
	}
	for p := range pix {
		rows[p] = naiveRows(ev, p, s, f)
		for _, r := range rows[p] {
			for j, v := range r {
				if !math.IsNaN(v) {
					lo[j], hi[j] = min(lo[j], v), max(hi[j], v)
				}
			}
		}
	}
	for j := range lo {
		if math.Abs(ds.NormMin[j]-lo[j]) > 1e-9 || math.Abs(ds.NormMax[j]-hi[j]) > 1e-9 {
			t.Errorf("property %d: min/max %g/%g, want %g/%g", j, ds.NormMin[j], ds.NormMax[j], lo[j], hi[j])
		}
	}
	if got, want := ds.NormMin[4], math.Log10(28)/1.5; math.Abs(got-want) > 1e-12 {
		t.Errorf("quiet 4-week back window %g, want log10(28)/1.5 = %g", got, want)
	}
	norm := func(j int, v float64) float64 { return (v - lo[j]) / (hi[j] - lo[j]) }
	bad := 0
	for l, p := range ds.Locations {
		for tt, r := range rows[int(p)] {
			for j := range NumDynamic {
				got, want := float64(ds.Dynamic[(tt*3+l)*NumDynamic+j]), norm(j, r[j])
				if math.Abs(got-want) > 2e-6 && bad < 10 {
					bad++
					t.Errorf("dynamic[t=%d, loc=%d, %d] = %g, want %g", tt, l, j, got, want)
				}
			}
			tg := ds.Targets[(tt*3+l)*NumTargets:]
			for k := range NumTargets {
				j := 0
				if k > 0 {
					j = NumDynamic + k - 1
				}
				want := norm(j, r[j])
				got := float64(tg[k])
				if math.IsNaN(want) != math.IsNaN(got) || (!math.IsNaN(want) && math.Abs(got-want) > 2e-6) {
					if bad < 10 {
						bad++
						t.Errorf("targets[t=%d, loc=%d, %d] = %g, want %g", tt, l, k, got, want)
					}
				}
			}
		}
	}
	// Stats: max multiplicity 2 (one pixel-day with two events... plus one more
	// event in that fortnight = 3), max M>3.29 count per fortnight 1.
	if st := m.Stats; st.Props[2].Max != 3 || st.Props[3].Max != 1 || st.MaxSpaceSumM3 != 2 {
		t.Errorf("stats max N %g, N3 %g, space-summed N3 %g; want 3, 1, 2 (fortnight 210 has events in two pixels)", st.Props[2].Max, st.Props[3].Max, st.MaxSpaceSumM3)
	}
	// Same result with one worker.
	ds1, err := Prepare(strings.NewReader(csv), Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bitsOf(ds.Dynamic), bitsOf(ds1.Dynamic)) || !slices.Equal(bitsOf(ds.Targets), bitsOf(ds1.Targets)) {
		t.Error("results differ between 3 workers and 1 worker")
	}
}

func bitsOf(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

func TestEncodingsByHand(t *testing.T) {
	_, csv := synthCatalog()
	ds, err := Prepare(strings.NewReader(csv), Options{Locations: LocationsReference500})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Meta.Nloc != 500 || !slices.Equal(ds.Locations[:3], []int32{15, 16, 17}) || ds.Locations[499] != 2390 {
		t.Fatalf("reference500: Nloc %d, first %v, last %d", ds.Meta.Nloc, ds.Locations[:3], ds.Locations[ds.Meta.Nloc-1])
	}
	nt := ds.Meta.T
	row := make([]float32, NumEncodings)
	near := func(name string, got float32, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 1e-6 {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	ds.Encoding(row, 0, 250)
	near("LinearSpace(250)", row[0], 0.5)
	near("Constant", row[1], 0.5)
	near("LinearTime(0)", row[2], 0)
	near("P2(-1)", row[3], 1)
	near("P3(-1)", row[4], -1)
	near("P4(-1)", row[5], 1)
	near("cos8(0)", row[6], 1)
	near("sin8(0)", row[7], 0)
	ds.Encoding(row, nt-1, 0)
	near("LinearSpace(0)", row[0], 0)
	near("LinearTime(T-1)", row[2], 14*float64(nt-1)/(14*float64(nt-1)+1))
	near("P2(1)", row[3], 1)
	near("P3(1)", row[4], 1)
	near("P4(1)", row[5], 1)
	ds.Encoding(row, 2, 0)
	near("cos8(2)", row[6], 0)
	near("sin8(2)", row[7], 1)
	near("cos16(2)", row[8], math.Sqrt2/2)
	near("cos64(16)", func() float32 { ds.Encoding(row, 16, 0); return row[12] }(), 0)
	ds.Encoding(row, 72, 0) // 72 mod 64 = 8: angle π/4
	near("sin64(72)", row[13], math.Sqrt2/2)
	// x = 0 at i = (T−1)/2 (T = 1795 is odd): P2 = −0.5, P3 = 0, P4 = 3/8.
	ds.Encoding(row, (nt-1)/2, 0)
	near("P2(0)", row[3], -0.5)
	near("P3(0)", row[4], 0)
	near("P4(0)", row[5], 0.375)
}

func TestReference500(t *testing.T) {
	ref := Reference500()
	if len(ref) != 500 || !slices.IsSorted(ref) {
		t.Fatalf("len %d sorted %v", len(ref), slices.IsSorted(ref))
	}
	// Spot checks from §5.9: y0 starts at x 15; y39 ends at x 50; y8 has x 26.
	for _, p := range []int{15, 26, 8*60 + 26, 39*60 + 50, 19*60 + 10} {
		if !slices.Contains(ref, p) {
			t.Errorf("missing iloc %d", p)
		}
	}
	for _, p := range []int{14, 27, 8*60 + 27, 39*60 + 51, 752} {
		if slices.Contains(ref, p) {
			t.Errorf("unexpected iloc %d", p)
		}
	}
}
