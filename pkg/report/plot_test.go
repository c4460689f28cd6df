package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type svgText struct {
	Class string `xml:"class,attr"`
	Text  string `xml:",chardata"`
}

type svgPolyline struct {
	Points string `xml:"points,attr"`
	Series string `xml:"data-series,attr"`
	Stroke string `xml:"stroke,attr"`
}

type svgGroup struct {
	Class     string        `xml:"class,attr"`
	ID        string        `xml:"id,attr"`
	Texts     []svgText     `xml:"text"`
	Polylines []svgPolyline `xml:"polyline"`
	Circles   []struct {
		Fill string `xml:"fill,attr"`
	} `xml:"circle"`
}

type svgDoc struct {
	XMLName xml.Name   `xml:"svg"`
	Width   int        `xml:"width,attr"`
	Height  int        `xml:"height,attr"`
	Groups  []svgGroup `xml:"g"`
}

func parsePoints(t *testing.T, s string) [][2]float64 {
	t.Helper()
	var pts [][2]float64
	for f := range strings.FieldsSeq(s) {
		x, y, ok := strings.Cut(f, ",")
		px, err1 := strconv.ParseFloat(x, 64)
		py, err2 := strconv.ParseFloat(y, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("bad polyline point %q", f)
		}
		pts = append(pts, [2]float64{px, py})
	}
	return pts
}

func twoMachines(t *testing.T) []Run {
	t.Helper()
	dir, _ := sampleSweep(t) // pearl: 1, 2, 4 ok; 8, 16 incomplete
	other := filepath.Join(t.TempDir(), "summit-sweep")
	writeSweep(t, other, `summit <LSF> & "jsrun"`, []int{1, 6, 12}, map[int]fakeRun{
		1:  {workers: 1, nodes: 1, batch: 128, scope: "per_rank", epochTimes: []float64{9, 8}, samples: 1e5},
		6:  {workers: 6, nodes: 1, batch: 128, scope: "per_rank", epochTimes: []float64{3, 1.6}, samples: 1e5},
		12: {workers: 12, nodes: 2, batch: 128, scope: "per_rank", epochTimes: []float64{2, 0.9}, samples: 1e5},
	})
	runs, err := Load([]string{dir, other})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func TestPlotSVG(t *testing.T) {
	runs := twoMachines(t)
	path := filepath.Join(t.TempDir(), "scaling.svg")
	if err := WritePlot(path, runs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc svgDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("SVG does not decode as XML: %v", err)
	}
	w, h := figureSize(2)
	if doc.Width != w || doc.Height != h || w < 1000 || h < 300 {
		t.Errorf("size %dx%d, want %dx%d", doc.Width, doc.Height, w, h)
	}
	if len(doc.Groups) != 4 || doc.Groups[3].Class != "legend" {
		t.Fatalf("%d groups, want 3 panels and a legend", len(doc.Groups))
	}
	wantSeries := map[string]int{"pearl": 3, `summit <LSF> & "jsrun"`: 3} // successful runs per series
	texts := func(g svgGroup, class string) []string {
		var out []string
		for _, x := range g.Texts {
			if x.Class == class {
				out = append(out, x.Text)
			}
		}
		return out
	}
	wantLabels := [][3]string{
		{"Time per epoch", "workers (log scale)", "seconds per epoch (median, epochs ≥ 2)"},
		{"Parallel efficiency", "workers (log scale)", "efficiency (speedup / workers)"},
		{"Throughput", "global batch size (log scale)", "samples/s"},
	}
	for i, g := range doc.Groups[:3] {
		if got := [3]string{strings.Join(texts(g, "title"), ""), strings.Join(texts(g, "xlabel"), ""), strings.Join(texts(g, "ylabel"), "")}; got != wantLabels[i] {
			t.Errorf("panel %d labels %q, want %q", i+1, got, wantLabels[i])
		}
		if len(texts(g, "xtick")) < 2 || len(texts(g, "ytick")) < 3 {
			t.Errorf("panel %d: %d x ticks, %d y ticks", i+1, len(texts(g, "xtick")), len(texts(g, "ytick")))
		}
		if len(g.Polylines) != len(wantSeries) {
			t.Fatalf("panel %d: %d polylines, want one per series (%d)", i+1, len(g.Polylines), len(wantSeries))
		}
		circles := 0
		for _, pl := range g.Polylines {
			pts := parsePoints(t, pl.Points)
			if n, ok := wantSeries[pl.Series]; !ok || len(pts) != n {
				t.Errorf("panel %d: series %q has %d points, want %d", i+1, pl.Series, len(pts), n)
			}
			for k, p := range pts {
				if p[0] < padL || p[0] > float64(3*panelW) || p[1] < padT-1 || p[1] > panelH-padB+1 {
					t.Errorf("panel %d %s: point %v outside the plot area", i+1, pl.Series, p)
				}
				if k > 0 && i < 2 && p[0] <= pts[k-1][0] {
					t.Errorf("panel %d %s: x not increasing: %v", i+1, pl.Series, pts)
				}
			}
			if i == 0 && pl.Series == "pearl" && !(pts[0][1] < pts[1][1] && pts[1][1] < pts[2][1]) {
				t.Errorf("pearl epoch times fall with workers, so the line must go down (y up): %v", pts)
			}
			for _, c := range g.Circles {
				if c.Fill == pl.Stroke {
					circles++
				}
			}
		}
		if circles != 6 {
			t.Errorf("panel %d: %d markers, want 6", i+1, circles)
		}
	}
	// the x ticks of the workers panels span 1..16 (log2): pearl goes to 4, summit to 12
	if got := texts(doc.Groups[0], "xtick"); strings.Join(got, ",") != "1,2,4,8,16" {
		t.Errorf("x ticks %q", got)
	}
	if got := texts(doc.Groups[3], "legend-label"); len(got) != 2 || got[0] != "pearl" || got[1] != `summit <LSF> & "jsrun"` {
		t.Errorf("legend %q", got)
	}
}

func TestPlotPNG(t *testing.T) {
	runs := twoMachines(t)
	path := filepath.Join(t.TempDir(), "scaling.png")
	if err := WritePlot(path, runs); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	w, h := figureSize(2)
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("size %v, want %dx%d", b, w, h)
	}
	count := map[string]int{}
	for y := range h {
		for x := range w {
			r, g, b, _ := img.At(x, y).RGBA()
			for _, c := range palette[:2] {
				pc := parseHex(c)
				if uint8(r>>8) == pc.R && uint8(g>>8) == pc.G && uint8(b>>8) == pc.B {
					count[c]++
				}
			}
		}
	}
	for _, c := range palette[:2] {
		if count[c] < 300 {
			t.Errorf("colour %s: %d pixels, want the lines of a series", c, count[c])
		}
	}
	// every marker centre has a series colour; the series drawn last
	// (on top) has its own everywhere
	isColour := func(x, y int, c string) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		want := parseHex(c)
		return uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(b>>8) == want.B
	}
	for i, p := range panels(runs) {
		a := layout(p, float64(i*panelW))
		for k, l := range p.lines {
			for _, q := range l.pts {
				x, y := int(math.Round(a.px(q.x))), int(math.Round(a.py(q.y)))
				if last := k == len(p.lines)-1; last && !isColour(x, y, l.color) {
					t.Errorf("panel %d %s: pixel (%d,%d) is not the series colour", i+1, l.label, x, y)
				}
				if !isColour(x, y, palette[0]) && !isColour(x, y, palette[1]) {
					t.Errorf("panel %d %s: pixel (%d,%d) has no series colour", i+1, l.label, x, y)
				}
			}
		}
	}
	// the axes are black
	a := layout(panels(runs)[0], 0)
	if r, g, b, _ := img.At(int(a.left), int(a.top+a.height/2)).RGBA(); r|g|b != 0 {
		t.Errorf("y axis pixel not black")
	}
}

func TestPlotErrors(t *testing.T) {
	runs := twoMachines(t)
	if err := WritePlot(filepath.Join(t.TempDir(), "x.jpg"), runs); !errors.Is(err, ErrFormat) {
		t.Errorf("jpg: %v", err)
	}
	var incomplete []Run
	for _, r := range runs {
		if r.Status == StatusIncomplete {
			incomplete = append(incomplete, r)
		}
	}
	var b bytes.Buffer
	if err := PlotSVG(&b, incomplete); !errors.Is(err, ErrPlot) {
		t.Errorf("only incomplete runs: %v", err)
	}
	if err := WritePlot(filepath.Join(t.TempDir(), "no", "such", "dir.svg"), runs); !errors.Is(err, ErrPlot) {
		t.Errorf("unwritable path: %v", err)
	}
}

func TestNiceStep(t *testing.T) {
	for in, want := range map[float64]float64{0.7: 1, 1: 1, 1.2: 2, 3: 5, 7: 10, 0.031: 0.05, 230: 500, 2000: 2000} {
		if got := niceStep(in); math.Abs(got-want) > 1e-12*want {
			t.Errorf("niceStep(%v) = %v, want %v", in, got, want)
		}
	}
}
