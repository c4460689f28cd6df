package report

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"
)

// PlotPNG writes the same three panels as PlotSVG as a PNG image, lines
// only: axes, tick marks, light grid lines, one coloured polyline with
// square markers per series and coloured legend swatches, but no text
// (use SVG for a labelled figure; the legend order is the table's series
// order).
func PlotPNG(w io.Writer, runs []Run) error {
	ps := panels(runs)
	if len(ps[0].lines) == 0 && len(ps[2].lines) == 0 {
		return errNothing
	}
	leg := legendLabels(ps)
	W, H := figureSize(len(leg))
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	white := color.RGBA{255, 255, 255, 255}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = white.R, white.G, white.B, white.A
	}
	black := color.RGBA{0, 0, 0, 255}
	grid := color.RGBA{224, 224, 224, 255}
	for i, p := range ps {
		a := layout(p, float64(i*panelW))
		bottom, right := a.top+a.height, a.left+a.width
		for _, t := range a.yTicks {
			y := a.py(t)
			drawLine(img, a.left, y, right, y, grid, 1)
			drawLine(img, a.left-5, y, a.left, y, black, 1)
		}
		for _, t := range a.xTicks {
			x := a.px(t)
			drawLine(img, x, a.top, x, bottom, grid, 1)
			drawLine(img, x, bottom, x, bottom+5, black, 1)
		}
		drawLine(img, a.left, a.top, a.left, bottom, black, 1)
		drawLine(img, a.left, bottom, right, bottom, black, 1)
		for _, l := range p.lines {
			c := parseHex(l.color)
			for k := 1; k < len(l.pts); k++ {
				drawLine(img, a.px(l.pts[k-1].x), a.py(l.pts[k-1].y), a.px(l.pts[k].x), a.py(l.pts[k].y), c, 2)
			}
			for _, q := range l.pts {
				fillRect(img, int(math.Round(a.px(q.x)))-3, int(math.Round(a.py(q.y)))-3, 7, 7, c)
			}
		}
	}
	for i, l := range leg {
		x := float64((i%3)*panelW + padL)
		y := float64(panelH + (i/3)*legendRowH + 8)
		drawLine(img, x, y, x+24, y, parseHex(l.color), 3)
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("%w: png: %w", ErrPlot, err)
	}
	return nil
}

// parseHex parses "#rrggbb".
func parseHex(s string) color.RGBA {
	v, _ := strconv.ParseUint(s[1:], 16, 32)
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}
}

func fillRect(img *image.RGBA, x, y, w, h int, c color.RGBA) {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Bounds())
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			img.SetRGBA(px, py, c)
		}
	}
}

// drawLine draws a segment of the given width by stepping along its
// longer axis one pixel at a time (a DDA line).
func drawLine(img *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA, width int) {
	dx, dy := x1-x0, y1-y0
	n := int(math.Ceil(math.Max(math.Abs(dx), math.Abs(dy))))
	if n == 0 {
		n = 1
	}
	off := (width - 1) / 2
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x := int(math.Round(x0 + t*dx))
		y := int(math.Round(y0 + t*dy))
		fillRect(img, x-off, y-off, width, width, c)
	}
}
