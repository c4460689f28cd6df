package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/scibench/scibench/pkg/metrics"
)

// Figure geometry (pixels): three panels side by side and a legend row.
const (
	panelW, panelH = 420, 340
	padL, padR     = 70, 20
	padT, padB     = 34, 56
	legendRowH     = 22
)

// palette colours the lines, one per series.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

type point struct{ x, y float64 }

type line struct {
	label string
	color string
	pts   []point // sorted by x
}

type panel struct {
	title, xlabel, ylabel string
	lines                 []line
	yMin1                 bool // the y axis reaches at least 1 (efficiency)
}

// axis maps data to pixels: x on a log2 scale, y linear from 0.
type axis struct {
	x0, x1 float64 // log2 of the x range
	y1     float64 // y range is [0, y1]
	xTicks []float64
	yTicks []float64
	// pixel box of the plot area
	left, top, width, height float64
}

func (a axis) px(x float64) float64 {
	return a.left + (math.Log2(x)-a.x0)/(a.x1-a.x0)*a.width
}

func (a axis) py(y float64) float64 {
	return a.top + a.height - y/a.y1*a.height
}

// panels builds the three figures from the successful runs: time per
// epoch and parallel efficiency against workers (the paper's Figure 2b),
// throughput against global batch size (Figure 5). One line per series
// (per benchmark and series when runs hold several benchmarks).
func panels(runs []Run) []panel {
	benches := map[string]bool{}
	for _, r := range runs {
		benches[r.Benchmark] = true
	}
	type key struct{ bench, series string }
	var keys []key
	for _, r := range runs {
		k := key{r.Benchmark, r.Series}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	ps := []panel{
		{title: "Time per epoch", xlabel: "workers", ylabel: "seconds per epoch (median, epochs ≥ 2)"},
		{title: "Parallel efficiency", xlabel: "workers", ylabel: "efficiency (speedup / workers)", yMin1: true},
		{title: "Throughput", xlabel: "global batch size", ylabel: "samples/s"},
	}
	for i, k := range keys {
		label := k.series
		if len(benches) > 1 {
			label = k.bench + " · " + k.series
		}
		color := palette[i%len(palette)]
		var ls [3]line
		for j := range ls {
			ls[j] = line{label: label, color: color}
		}
		for _, r := range runs {
			if r.Benchmark != k.bench || r.Series != k.series || r.Status != metrics.StatusSuccess || r.Workers <= 0 {
				continue
			}
			w := float64(r.Workers)
			if finite(r.EpochTimeS) {
				ls[0].pts = append(ls[0].pts, point{w, r.EpochTimeS})
			}
			if finite(r.Efficiency) {
				ls[1].pts = append(ls[1].pts, point{w, r.Efficiency})
			}
			if r.GlobalBatch > 0 && finite(r.SamplesPerS) {
				ls[2].pts = append(ls[2].pts, point{float64(r.GlobalBatch), r.SamplesPerS})
			}
		}
		for j := range ls {
			if len(ls[j].pts) == 0 {
				continue
			}
			slices.SortStableFunc(ls[j].pts, func(a, b point) int {
				switch {
				case a.x < b.x:
					return -1
				case a.x > b.x:
					return 1
				}
				return 0
			})
			ps[j].lines = append(ps[j].lines, ls[j])
		}
	}
	return ps
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// layout computes the axes of panel p placed at horizontal offset ox.
func layout(p panel, ox float64) axis {
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for _, l := range p.lines {
		for _, q := range l.pts {
			xmin, xmax, ymax = min(xmin, q.x), max(xmax, q.x), max(ymax, q.y)
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax = 1, 8
	}
	a := axis{left: ox + padL, top: padT, width: panelW - padL - padR, height: panelH - padT - padB}
	a.x0, a.x1 = math.Floor(math.Log2(xmin)), math.Ceil(math.Log2(xmax))
	if a.x1 <= a.x0 {
		a.x0, a.x1 = a.x0-1, a.x1+1
	}
	step := math.Max(1, math.Ceil((a.x1-a.x0)/8))
	for e := a.x0; e <= a.x1+1e-9; e += step {
		a.xTicks = append(a.xTicks, math.Exp2(e))
	}
	if p.yMin1 {
		ymax = max(ymax, 1)
	}
	if ymax <= 0 {
		ymax = 1
	}
	ys := niceStep(ymax * 1.05 / 5)
	a.y1 = math.Ceil(ymax*1.05/ys) * ys
	for i := 0; float64(i)*ys <= a.y1+ys*1e-9; i++ {
		a.yTicks = append(a.yTicks, float64(i)*ys)
	}
	return a
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if !(x > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

func tickLabel(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func legendLabels(ps []panel) []line {
	var ls []line
	for _, p := range ps {
		for _, l := range p.lines {
			if !slices.ContainsFunc(ls, func(x line) bool { return x.label == l.label }) {
				ls = append(ls, line{label: l.label, color: l.color})
			}
		}
	}
	return ls
}

func figureSize(legend int) (w, h int) {
	rows := max(1, (legend+2)/3)
	return 3 * panelW, panelH + rows*legendRowH + 10
}

// ErrNothingToPlot is wrapped when no successful run has the numbers a
// plot needs.
var errNothing = fmt.Errorf("%w: no successful run with timings to plot", ErrPlot)

// PlotSVG writes the figure as SVG: three panels (time per epoch and
// efficiency against workers, throughput against global batch size), with
// axes, ticks, labels, one polyline per series and a legend.
func PlotSVG(w io.Writer, runs []Run) error {
	ps := panels(runs)
	if len(ps[0].lines) == 0 && len(ps[2].lines) == 0 {
		return errNothing
	}
	leg := legendLabels(ps)
	W, H := figureSize(len(leg))
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	for i, p := range ps {
		a := layout(p, float64(i*panelW))
		fmt.Fprintf(&b, `<g class="panel" id="panel-%d">`+"\n", i+1)
		fmt.Fprintf(&b, `<text class="title" x="%.1f" y="%d" text-anchor="middle" font-size="14" font-weight="bold">%s</text>`+"\n",
			a.left+a.width/2, padT-12, esc(p.title))
		// grid and ticks
		for _, t := range a.yTicks {
			y := a.py(t)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", a.left, y, a.left+a.width, y)
			fmt.Fprintf(&b, `<text class="ytick" x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", a.left-6, y, tickLabel(t))
		}
		for _, t := range a.xTicks {
			x := a.px(t)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", x, a.top, x, a.top+a.height)
			fmt.Fprintf(&b, `<text class="xtick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, a.top+a.height+16, tickLabel(t))
		}
		// axes
		fmt.Fprintf(&b, `<path class="axes" d="M%.1f %.1f V%.1f H%.1f" fill="none" stroke="black"/>`+"\n",
			a.left, a.top, a.top+a.height, a.left+a.width)
		fmt.Fprintf(&b, `<text class="xlabel" x="%.1f" y="%.1f" text-anchor="middle">%s (log scale)</text>`+"\n",
			a.left+a.width/2, a.top+a.height+36, esc(p.xlabel))
		fmt.Fprintf(&b, `<text class="ylabel" transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n",
			a.left-52, a.top+a.height/2, esc(p.ylabel))
		if p.yMin1 {
			y := a.py(1)
			fmt.Fprintf(&b, `<line class="ideal" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="4 3"/>`+"\n", a.left, y, a.left+a.width, y)
		}
		for _, l := range p.lines {
			pts := make([]string, len(l.pts))
			for k, q := range l.pts {
				pts[k] = fmt.Sprintf("%.1f,%.1f", a.px(q.x), a.py(q.y))
			}
			fmt.Fprintf(&b, `<polyline class="series" data-series="%s" points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n",
				esc(l.label), strings.Join(pts, " "), l.color)
			for _, q := range l.pts {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s, %s</title></circle>`+"\n",
					a.px(q.x), a.py(q.y), l.color, esc(l.label), tickLabel(q.x), strconv.FormatFloat(q.y, 'g', 4, 64))
			}
		}
		if len(p.lines) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#888">no data</text>`+"\n", a.left+a.width/2, a.top+a.height/2)
		}
		b.WriteString("</g>\n")
	}
	b.WriteString(`<g class="legend">` + "\n")
	for i, l := range leg {
		x := float64((i%3)*panelW + padL)
		y := float64(panelH + (i/3)*legendRowH + 8)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", x, y, x+24, y, l.color)
		fmt.Fprintf(&b, `<text class="legend-label" x="%.1f" y="%.1f" dominant-baseline="middle">%s</text>`+"\n", x+30, y, esc(l.label))
	}
	b.WriteString("</g>\n</svg>\n")
	_, err := w.Write(b.Bytes())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPlot, err)
	}
	return nil
}

func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			if r < 0x20 && r != '\t' && r != '\n' {
				continue // not allowed in XML 1.0
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WritePlot writes the figure to path, as SVG or PNG by its extension
// (.svg, .png), atomically.
func WritePlot(path string, runs []Run) error {
	var b bytes.Buffer
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		err = PlotSVG(&b, runs)
	case ".png":
		err = PlotPNG(&b, runs)
	default:
		return fmt.Errorf("%w: --plot %q: want a .svg or .png file", ErrFormat, path)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := metrics.WriteFileAtomic(path, b.Bytes()); err != nil {
		return fmt.Errorf("%w: %w", ErrPlot, err)
	}
	return nil
}
