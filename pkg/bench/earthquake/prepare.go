package earthquake

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Span selects the last day of the catalog window (§5.2 step 1).
type Span string

// Spans.
const (
	SpanDefault   Span = "default"   // 1950-01-01 … 2019-10-14, D = 25,489 (before the catalog gap)
	SpanReference Span = "reference" // 1950-01-01 … 2019-12-31, D = 25,567 (the reference's grid)
)

// LocationSet selects the active pixels (§5.2 step 7).
type LocationSet string

// Location sets.
const (
	LocationsComputed     LocationSet = "computed"     // R1/R2 cuts on this catalog
	LocationsReference500 LocationSet = "reference500" // the reference's list, §5.9
)

// Table sizes and names (§5.2 steps 5, 6, 10).
const (
	NumDynamic   = 9  // dynamic inputs per step
	NumCalc      = 9  // forward windows Calc_0..8
	NumTargets   = 10 // Magnitude 2 weeks + Calc_0..8
	NumProps     = NumDynamic + NumCalc
	NumEncodings = 14
	// Shift is the number of leading fortnights dropped so every back window is full.
	Shift = 25
)

var (
	calcJumps   = [NumCalc]int{2, 4, 7, 13, 26, 52, 104, 26, 52}
	calcDelays  = [NumCalc]int{0, 0, 0, 0, 0, 0, 0, 26, 52}
	backWindows = [5]int{2, 4, 7, 13, 26}
)

// DynamicNames are the 9 dynamic input columns, in order.
var DynamicNames = [NumDynamic]string{
	"Magnitude 2 weeks", "Depth 2 weeks", "Multiplicity 2 weeks", "Mult >3.29 2 weeks",
	"Mag 4 Weeks Back", "Mag 2 Months Back", "Mag 3 Months Back", "Mag 6 Months Back", "Mag Year Back",
}

// TargetNames are the 10 stored target columns, in order (Calc_0..8 after the first).
var TargetNames = [NumTargets]string{
	"Magnitude 2 weeks", "Mag 4 Weeks Ahead", "Mag 2 Month Ahead", "Mag 3 Months Ahead",
	"Mag 6 Months Ahead", "Mag Year Ahead", "Mag 2 Years Ahead", "Mag 4 years Ahead",
	"Mag Skip 1 Year ahead", "Mag 2 years 2 ahead",
}

// EncodingNames are the 14 known columns, in order.
var EncodingNames = [NumEncodings]string{
	"LinearSpace", "Constant", "LinearTime", "Legendre2", "Legendre3", "Legendre4",
	"Cos8", "Sin8", "Cos16", "Sin16", "Cos32", "Sin32", "Cos64", "Sin64",
}

// Options configures Prepare. The zero value means the default span and the
// computed active pixels.
type Options struct {
	File      string      // catalog name used in error messages
	Span      Span        // "" = SpanDefault
	Locations LocationSet // "" = LocationsComputed
	Workers   int         // goroutines for the window sums; 0 = GOMAXPROCS
}

// Validate checks the options.
func (o Options) Validate() error {
	switch o.Span {
	case "", SpanDefault, SpanReference:
	default:
		return fmt.Errorf("%w: span %q (want default or reference)", ErrBadOption, o.Span)
	}
	switch o.Locations {
	case "", LocationsComputed, LocationsReference500:
	default:
		return fmt.Errorf("%w: locations %q (want computed or reference500)", ErrBadOption, o.Locations)
	}
	if o.Workers < 0 {
		return fmt.Errorf("%w: workers %d < 0", ErrBadOption, o.Workers)
	}
	return nil
}

// PropStats are raw (unnormalised) statistics of one property over T × 2400.
type PropStats struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Stats are the validation figures of §5.2 step 9, computed over all T steps
// and all 2400 pixels before normalisation.
type Stats struct {
	Props          [4]PropStats `json:"props"`            // Magnitude, Depth, Multiplicity, M>3.29 (2 weeks)
	MaxSpaceSumM3  float64      `json:"max_space_sum_m3"` // max over the F fortnights of Σ_pixels ch3
	BackWindowMins [5]float64   `json:"back_window_mins"` // dynamic idx 4..8
	SingleCut      int          `json:"single_cut"`       // pixels with R1 ≥ 7.1
	BlockCut       int          `json:"block_cut"`        // pixels with R2 ≥ 34.1
	Computed       int          `json:"computed_active"`  // pixels passing either cut
}

// Meta describes a prepared dataset (meta.json).
type Meta struct {
	Format          string      `json:"format"`
	Span            Span        `json:"span"`
	Locations       LocationSet `json:"locations"`
	D               int         `json:"D"`
	S               int         `json:"S"`
	F               int         `json:"F"`
	T               int         `json:"T"`
	Nloc            int         `json:"Nloc"`
	FirstFortnight  string      `json:"first_fortnight"` // date of fortnight 0
	FirstStep       string      `json:"first_step"`      // date of fortnight O = 25 (T = 0)
	Counts          Counts      `json:"counts"`
	CatalogSHA256   string      `json:"catalog_sha256"`
	Stats           Stats       `json:"stats"`
	DynamicNames    []string    `json:"dynamic_names"`
	TargetNames     []string    `json:"target_names"`
	EncodingNames   []string    `json:"encoding_names"`
	NormalisedProps []string    `json:"normalised_props"`
}

// FormatVersion names the on-disk layout written by Save.
const FormatVersion = "scibench-earthquake-v1"

// Dataset is the prepared earthquake data: normalised float32 tensors for the
// active pixels, row-major.
type Dataset struct {
	Meta Meta
	// Locations are the active pixels' iloc = x+60y, ascending; mapped index = position.
	Locations []int32
	// Dynamic is [T][Nloc][9], normalised.
	Dynamic []float32
	// Targets is [T][Nloc][10]: Magnitude 2 weeks then Calc_0..8, normalised;
	// NaN where a forward window runs past the last fortnight.
	Targets []float32
	// Encodings is [T][14]; column 0 (LinearSpace = mapped index/Nloc) depends
	// on the location and is stored as 0: use Encoding to get a full row.
	Encodings []float32
	// NormMin and NormMax are the min/max per property (9 dynamic, then Calc_0..8)
	// over T × 2400 pixels, NaN ignored. Target column 0 uses property 0.
	NormMin, NormMax [NumProps]float64
}

// Encoding writes the 14 known columns of step t at mapped location loc into dst[:14].
func (ds *Dataset) Encoding(dst []float32, t, loc int) {
	copy(dst[:NumEncodings], ds.Encodings[t*NumEncodings:(t+1)*NumEncodings])
	dst[0] = float32(loc) / float32(ds.Meta.Nloc)
}

// spanDays returns D for the span.
func spanDays(sp Span) int {
	end := time.Date(2019, 10, 15, 0, 0, 0, 0, time.UTC)
	if sp == SpanReference {
		end = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return int((end.Unix() - d0Unix) / 86400)
}

func dayDate(day int) string {
	return time.Unix(d0Unix+int64(day)*86400, 0).UTC().Format("2006-01-02")
}

// Prepare reads a raw catalog (CSV, optionally gzip-compressed) and builds the
// dataset of §5.2. Bad rows give a *DataError naming opts.File and the line.
func Prepare(r io.Reader, opts Options) (*Dataset, error) {
	return PrepareContext(context.Background(), r, opts)
}

// PrepareContext is Prepare with cancellation.
func PrepareContext(ctx context.Context, r io.Reader, opts Options) (*Dataset, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Span == "" {
		opts.Span = SpanDefault
	}
	if opts.Locations == "" {
		opts.Locations = LocationsComputed
	}
	d := spanDays(opts.Span)
	s, f := d%14, d/14
	events, cnt, sum, err := readCatalog(ctx, r, opts.File, d, s)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, &DataError{File: opts.File, Msg: fmt.Sprintf("no events kept in the box and span (%d rows read)", cnt.Rows), Err: ErrNoEvents}
	}
	ch := fortnightGrid(events, s, f)
	events = nil

	var st Stats
	active, single, block := activePixels(ch.n3, f)
	st.SingleCut, st.BlockCut, st.Computed = single, block, len(active)
	if opts.Locations == LocationsReference500 {
		active = Reference500()
	}
	if len(active) == 0 {
		return nil, &DataError{File: opts.File, Msg: fmt.Sprintf("no active pixels: no pixel has 8 events of M > 3.29 (or 35 in its 3x3 block) among %d kept events", cnt.Kept), Err: ErrNoEvents}
	}
	for t := 0; t < f; t++ {
		var tot float64
		for p := 0; p < NPix; p++ {
			tot += ch.n3[p*f+t]
		}
		st.MaxSpaceSumM3 = max(st.MaxSpaceSumM3, tot)
	}
	nt := f - Shift
	if nt < 1 {
		return nil, &DataError{File: opts.File, Msg: fmt.Sprintf("span has %d fortnights, need more than %d", f, Shift), Err: ErrNoEvents}
	}
	ds := &Dataset{
		Meta: Meta{
			Format: FormatVersion, Span: opts.Span, Locations: opts.Locations,
			D: d, S: s, F: f, T: nt, Nloc: len(active),
			FirstFortnight: dayDate(s), FirstStep: dayDate(s + 14*Shift),
			Counts: cnt, CatalogSHA256: sum,
			DynamicNames:  DynamicNames[:],
			TargetNames:   TargetNames[:],
			EncodingNames: EncodingNames[:],
		},
		Locations: make([]int32, len(active)),
	}
	for i, p := range active {
		ds.Locations[i] = int32(p)
	}
	ds.Meta.NormalisedProps = append(ds.Meta.NormalisedProps, DynamicNames[:]...)
	ds.Meta.NormalisedProps = append(ds.Meta.NormalisedProps, TargetNames[1:]...)
	if err := ds.fill(ctx, ch, &st, opts.Workers); err != nil {
		return nil, err
	}
	for i := range st.BackWindowMins {
		st.BackWindowMins[i] = ds.NormMin[4+i]
	}
	ds.Meta.Stats = st
	ds.Encodings = encodings(nt)
	return ds, nil
}

// channels are the fortnight grids, pixel-major: value of pixel p in
// fortnight k at [p*F+k].
type channels struct {
	mag, depth, n, n3 []float64
	f                 int
}

// isQuiet reports whether pixel p has no event in any fortnight.
func (ch *channels) isQuiet(p int) bool {
	for _, v := range ch.n[p*ch.f : (p+1)*ch.f] {
		if v != 0 {
			return false
		}
	}
	return true
}

// quietMag is ch0 of a fortnight without events: log10(14)/1.5.
var quietMag = math.Log10(14) / 1.5

// fortnightGrid sorts events by (pixel, day) and builds the four channels of
// §5.2 steps 3–4 with max-subtracted log-sum-exp in float64. Events have day ≥ s.
func fortnightGrid(events []event, s, f int) *channels {
	slices.SortFunc(events, func(a, b event) int {
		if a.pix != b.pix {
			return int(a.pix - b.pix)
		}
		return int(a.day - b.day)
	})
	ch := &channels{
		mag: make([]float64, NPix*f), depth: make([]float64, NPix*f),
		n: make([]float64, NPix*f), n3: make([]float64, NPix*f), f: f,
	}
	for i := range ch.mag {
		ch.mag[i] = quietMag
	}
	var dayL, dayZ [14]float64
	nd := 0
	var cnt, cnt3 float64
	cur := -1 // index p*f+k of the fortnight being accumulated
	flush := func() {
		if cur < 0 {
			return
		}
		nEmpty := float64(14 - nd)
		lmax := math.Inf(-1)
		for _, l := range dayL[:nd] {
			lmax = max(lmax, l)
		}
		if nEmpty > 0 {
			lmax = max(lmax, 0) // empty days have L = 0
		}
		var sum, zsum float64
		for i, l := range dayL[:nd] {
			w := math.Pow(10, 1.5*(l-lmax))
			sum += w
			zsum += dayZ[i] * w
		}
		sum += nEmpty * math.Pow(10, -1.5*lmax)
		ch.mag[cur] = lmax + math.Log10(sum)/1.5
		ch.depth[cur] = zsum / sum
		ch.n[cur] = cnt
		ch.n3[cur] = cnt3
	}
	for i := 0; i < len(events); {
		j := i + 1
		for j < len(events) && events[j].pix == events[i].pix && events[j].day == events[i].day {
			j++
		}
		grp := events[i:j]
		mmax := math.Inf(-1)
		for _, e := range grp {
			mmax = max(mmax, e.m)
		}
		var sum, zsum float64
		var n3 float64
		for _, e := range grp {
			w := math.Pow(10, 1.5*(e.m-mmax))
			sum += w
			zsum += e.z * w
			if e.m > 3.29 {
				n3++
			}
		}
		k := (int(grp[0].day) - s) / 14
		idx := int(grp[0].pix)*f + k
		if idx != cur {
			flush()
			cur, nd, cnt, cnt3 = idx, 0, 0, 0
		}
		dayL[nd] = mmax + math.Log10(sum)/1.5
		dayZ[nd] = zsum / sum
		nd++
		cnt += float64(len(grp))
		cnt3 += n3
		i = j
	}
	flush()
	return ch
}

// activePixels applies the R1/R2 cuts of §5.2 step 7 over all f fortnights.
// It returns the passing ilocs ascending and the counts passing each cut.
func activePixels(n3 []float64, f int) (active []int, single, block int) {
	var r1 [NPix]float64
	for p := range NPix {
		var s float64
		for _, v := range n3[p*f : (p+1)*f] {
			s += v
		}
		r1[p] = s
	}
	for p := range NPix {
		x, y := p%NX, p/NX
		x0, y0 := min(max(x-1, 0), NX-3), min(max(y-1, 0), NY-3)
		var s float64
		for yy := y0; yy < y0+3; yy++ {
			for xx := x0; xx < x0+3; xx++ {
				s += r1[xx+NX*yy]
			}
		}
		c1 := math.Trunc(0.1+r1[p]) >= 7.1
		c2 := math.Trunc(0.1+s) >= 34.1
		if c1 {
			single++
		}
		if c2 {
			block++
		}
		if c1 || c2 {
			active = append(active, p)
		}
	}
	return active, single, block
}

// propAcc accumulates min, max, sum and sum of squares of one property.
type propAcc struct {
	min, max, sum, sq float64
	n                 int
}

func newPropAccs() []propAcc {
	a := make([]propAcc, NumProps)
	for i := range a {
		a[i].min, a[i].max = math.Inf(1), math.Inf(-1)
	}
	return a
}

// scale turns the accumulator of one series into that of k identical series.
func (a *propAcc) scale(k int) {
	a.sum *= float64(k)
	a.sq *= float64(k)
	a.n *= k
}

// accumulate adds the nt rows of out to accs.
func accumulate(accs []propAcc, out []float64, nt int) {
	for j := range accs {
		a := accs[j] // locals: one pass per property
		for i := j; i < nt*NumProps; i += NumProps {
			v := out[i]
			if v != v { // NaN
				continue
			}
			a.min, a.max = min(a.min, v), max(a.max, v)
			a.sum += v
			a.sq += v * v
			a.n++
		}
		accs[j] = a
	}
}

func (a *propAcc) merge(b propAcc) {
	a.min, a.max = min(a.min, b.min), max(a.max, b.max)
	a.sum += b.sum
	a.sq += b.sq
	a.n += b.n
}

// lnTen15 is 1.5·ln 10: 10^(1.5v) = exp(lnTen15·v).
var lnTen15 = 1.5 * math.Ln10

// windowLens are the distinct window lengths; every back window and every
// Calc window is "sum over L fortnights starting at a" for one of them.
var windowLens = [7]int{2, 4, 7, 13, 26, 52, 104}

// backIdx and calcIdx map backWindows and calcJumps to windowLens
// (TestWindowTables checks them).
var (
	backIdx = [len(backWindows)]int{0, 1, 2, 3, 4}
	calcIdx = [NumCalc]int{0, 1, 2, 3, 4, 5, 6, 4, 5}
)

// pixelScratch returns the scratch length pixelRows needs for f fortnights.
func pixelScratch(f int) int { return (1 + len(windowLens)) * f }

// pixelRows computes the NumProps raw values of pixel p for every step
// T = 0..nt−1 (O = T+Shift) into out[T*NumProps+j]; scratch has
// pixelScratch(f) values.
//
// Log-energies are max-subtracted: with M the pixel's largest ch0 and
// e_t = 10^(1.5(ch0_t − M)) ≤ 1, the window [a, a+L) has value
// M + log10(Σ e)/1.5. The sums for all starts a are built from shorter ones
// (2 = 1+1, 4 = 2+2, 7 = 4+2+1, 13 = 7+4+2, 26 = 13+13, 52, 104), a pairwise
// summation of positive terms, as accurate as the direct sum.
func pixelRows(ch *channels, p int, out, scratch []float64) {
	f := ch.f
	mag := ch.mag[p*f : (p+1)*f]
	mp := math.Inf(-1)
	for _, v := range mag {
		mp = max(mp, v)
	}
	e := scratch[:f]
	for t, v := range mag {
		e[t] = math.Exp(lnTen15 * (v - mp))
	}
	var w [len(windowLens)][]float64
	for i := range w {
		w[i] = scratch[(1+i)*f : (2+i)*f]
	}
	w2, w4, w7, w13, w26, w52, w104 := w[0], w[1], w[2], w[3], w[4], w[5], w[6]
	for a := 0; a+2 <= f; a++ {
		w2[a] = e[a] + e[a+1]
	}
	for a := 0; a+4 <= f; a++ {
		w4[a] = w2[a] + w2[a+2]
	}
	for a := 0; a+7 <= f; a++ {
		w7[a] = w4[a] + w2[a+4] + e[a+6]
	}
	for a := 0; a+13 <= f; a++ {
		w13[a] = w7[a] + w4[a+7] + w2[a+11]
	}
	for a := 0; a+26 <= f; a++ {
		w26[a] = w13[a] + w13[a+13]
	}
	for a := 0; a+52 <= f; a++ {
		w52[a] = w26[a] + w26[a+26]
	}
	for a := 0; a+104 <= f; a++ {
		w104[a] = w52[a] + w52[a+52]
	}
	for i, l := range windowLens {
		for a := 0; a+l <= f; a++ {
			w[i][a] = mp + math.Log(w[i][a])/lnTen15
		}
	}
	for o := Shift; o < f; o++ {
		row := out[(o-Shift)*NumProps : (o-Shift+1)*NumProps]
		row[0] = mag[o]
		row[1] = ch.depth[p*f+o]
		row[2] = ch.n[p*f+o]
		row[3] = ch.n3[p*f+o]
		for i, bw := range backWindows {
			row[4+i] = w[backIdx[i]][o-bw+1]
		}
		for k := range NumCalc {
			a := o + calcDelays[k]
			if a+calcJumps[k] > f {
				row[NumDynamic+k] = math.NaN()
				continue
			}
			row[NumDynamic+k] = w[calcIdx[k]][a]
		}
	}
}

// fill computes min/max over all pixels (pass 1), then the normalised tensors
// of the active pixels (pass 2), in parallel over pixels.
func (ds *Dataset) fill(ctx context.Context, ch *channels, st *Stats, workers int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	nt, f := ds.Meta.T, ch.f
	accs := make([][]propAcc, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	// run calls body(w, item, rows of pixel pix(item), quiet) for every item
	// of items(w); quiet pixels (no events) share one precomputed set of rows.
	run := func(items func(w int) []int, pix func(item int) int, body func(w, item int, out []float64, quiet bool)) {
		for w := range workers {
			wg.Go(func() {
				out := make([]float64, nt*NumProps)
				e := make([]float64, pixelScratch(f))
				var quiet []float64 // rows of a pixel without events, computed once
				for _, it := range items(w) {
					if err := ctx.Err(); err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					p := pix(it)
					switch {
					case !ch.isQuiet(p):
						pixelRows(ch, p, out, e)
						body(w, it, out, false)
					case quiet == nil:
						quiet = make([]float64, nt*NumProps)
						pixelRows(ch, p, quiet, e)
						fallthrough
					default:
						body(w, it, quiet, true)
					}
				}
			})
		}
		wg.Wait()
	}
	stride := func(n int) func(w int) []int {
		return func(w int) []int {
			var ps []int
			for p := w; p < n; p += workers {
				ps = append(ps, p)
			}
			return ps
		}
	}
	for w := range accs {
		accs[w] = newPropAccs()
	}
	ident := func(p int) int { return p }
	// Pass 1: statistics; a quiet pixel's rows are accumulated once per
	// worker and weighted by the number of quiet pixels.
	nQuiet := make([]int, workers)
	quietRows := make([][]float64, workers)
	run(stride(NPix), ident, func(w, _ int, out []float64, quiet bool) {
		if quiet {
			nQuiet[w]++
			quietRows[w] = out
			return
		}
		accumulate(accs[w], out, nt)
	})
	if firstErr != nil {
		return fmt.Errorf("earthquake: prepare: %w", firstErr)
	}
	tot := newPropAccs()
	for w, a := range accs {
		for j := range tot {
			tot[j].merge(a[j])
		}
		if nQuiet[w] > 0 {
			q := newPropAccs()
			accumulate(q, quietRows[w], nt)
			for j := range tot {
				q[j].scale(nQuiet[w])
				tot[j].merge(q[j])
			}
		}
	}
	for j := range NumProps {
		ds.NormMin[j], ds.NormMax[j] = tot[j].min, tot[j].max
	}
	for j := range st.Props {
		a := tot[j]
		mean := a.sum / float64(a.n)
		st.Props[j] = PropStats{Min: a.min, Max: a.max, Mean: mean, Std: math.Sqrt(max(a.sq/float64(a.n)-mean*mean, 0))}
	}

	nloc := ds.Meta.Nloc
	ds.Dynamic = make([]float32, nt*nloc*NumDynamic)
	ds.Targets = make([]float32, nt*nloc*NumTargets)
	var scale [NumProps]float64
	for j := range scale {
		if r := ds.NormMax[j] - ds.NormMin[j]; r > 0 {
			scale[j] = 1 / r
		}
	}
	norm := func(j int, v float64) float32 { return float32((v - ds.NormMin[j]) * scale[j]) }
	run(stride(nloc), func(l int) int { return int(ds.Locations[l]) }, func(_ int, l int, out []float64, _ bool) {
		for t := 0; t < nt; t++ {
			row := out[t*NumProps : (t+1)*NumProps]
			dyn := ds.Dynamic[(t*nloc+l)*NumDynamic:]
			for j := range NumDynamic {
				dyn[j] = norm(j, row[j])
			}
			tg := ds.Targets[(t*nloc+l)*NumTargets:]
			tg[0] = norm(0, row[0])
			for k := range NumCalc {
				tg[1+k] = norm(NumDynamic+k, row[NumDynamic+k])
			}
		}
	})
	if firstErr != nil {
		return fmt.Errorf("earthquake: prepare: %w", firstErr)
	}
	return nil
}

// encodings builds the [nt][14] known columns of §5.2 step 10 (LinearSpace = 0).
func encodings(nt int) []float32 {
	enc := make([]float32, nt*NumEncodings)
	den := float64(max(nt-1, 1))
	for i := range nt {
		r := enc[i*NumEncodings : (i+1)*NumEncodings]
		x := -1 + 2*float64(i)/den
		r[0] = 0
		r[1] = 0.5
		r[2] = float32(14 * float64(i) / (14*float64(nt-1) + 1))
		r[3] = float32(0.5 * (3*x*x - 1))
		r[4] = float32(0.5 * (5*x*x - 3) * x)
		r[5] = float32((35*x*x*x*x - 30*x*x + 3) / 8)
		for j, n := range [4]int{8, 16, 32, 64} {
			a := 2 * math.Pi * float64(i%n) / float64(n)
			r[6+2*j] = float32(math.Cos(a))
			r[7+2*j] = float32(math.Sin(a))
		}
	}
	return enc
}
