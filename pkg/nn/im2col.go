package nn

// convGeom is the geometry of a 2-D sliding window over one C×H×W image.
type convGeom struct {
	c, h, w int // input channels, height, width
	kh, kw  int // kernel size
	sh, sw  int // stride
	ph, pw  int // zero padding on each side
	oh, ow  int // output height, width
}

// outDim is the output length of a window of size k with stride s and
// padding p over n input positions: floor((n+2p-k)/s)+1.
func outDim(n, k, s, p int) int { return (n+2*p-k)/s + 1 }

// set fills the geometry and computes the output size.
func (g *convGeom) set(c, h, w, kh, kw, sh, sw, ph, pw int) {
	*g = convGeom{c: c, h: h, w: w, kh: kh, kw: kw, sh: sh, sw: sw, ph: ph, pw: pw}
	g.oh = outDim(h, kh, sh, ph)
	g.ow = outDim(w, kw, sw, pw)
}

// colRows is the number of rows of the column matrix (C·KH·KW).
func (g *convGeom) colRows() int { return g.c * g.kh * g.kw }

// colRange returns the output columns [lo, hi) whose input column
// ox*sw - pw + j lies inside [0, w), for a stride-1 window (sw == 1).
func (g *convGeom) colRange(j int) (lo, hi int) {
	lo = g.pw - j
	hi = g.w + g.pw - j
	lo = max(0, min(lo, g.ow))
	hi = max(lo, min(hi, g.ow))
	return lo, hi
}

// im2col writes the output rows [oy0, oy1) of the column matrix of one
// image x (C×H×W, contiguous) into col (C·KH·KW rows × T columns,
// T = (oy1-oy0)·OW, row-major):
//
//	col[(c·KH+i)·KW+j][(oy-oy0)·OW+ox] = x[c][oy·sh-ph+i][ox·sw-pw+j]  (0 outside x)
//
// Conv2D builds the matrix a tile of rows at a time, so that the tile is
// still in cache when the SGEMM reads it.
func im2col(g *convGeom, x, col []float32, oy0, oy1 int) {
	ohw := (oy1 - oy0) * g.ow
	hw := g.h * g.w
	r := 0
	for c := 0; c < g.c; c++ {
		xc := x[c*hw : (c+1)*hw]
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				row := col[r*ohw : (r+1)*ohw]
				r++
				lo, hi := g.colRange(j)
				for oy := oy0; oy < oy1; oy++ {
					dst := row[(oy-oy0)*g.ow : (oy-oy0+1)*g.ow]
					iy := oy*g.sh - g.ph + i
					if iy < 0 || iy >= g.h {
						clear(dst)
						continue
					}
					src := xc[iy*g.w : (iy+1)*g.w]
					if g.sw == 1 {
						clear(dst[:lo])
						if hi > lo {
							copy(dst[lo:hi], src[lo-g.pw+j:])
						}
						clear(dst[hi:])
						continue
					}
					ix := -g.pw + j
					for ox := range dst {
						if ix >= 0 && ix < g.w {
							dst[ox] = src[ix]
						} else {
							dst[ox] = 0
						}
						ix += g.sw
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col for the same rows [oy0, oy1): it adds
// every entry of col into the input position it was read from. dx (C×H×W)
// is accumulated into, so the caller clears it before the first tile.
func col2im(g *convGeom, col, dx []float32, oy0, oy1 int) {
	ohw := (oy1 - oy0) * g.ow
	hw := g.h * g.w
	r := 0
	for c := 0; c < g.c; c++ {
		dc := dx[c*hw : (c+1)*hw]
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				row := col[r*ohw : (r+1)*ohw]
				r++
				lo, hi := g.colRange(j)
				for oy := oy0; oy < oy1; oy++ {
					iy := oy*g.sh - g.ph + i
					if iy < 0 || iy >= g.h {
						continue
					}
					src := row[(oy-oy0)*g.ow : (oy-oy0+1)*g.ow]
					dst := dc[iy*g.w : (iy+1)*g.w]
					if g.sw == 1 {
						if hi > lo {
							d := dst[lo-g.pw+j : hi-g.pw+j]
							s := src[lo:hi]
							for k := range d {
								d[k] += s[k]
							}
						}
						continue
					}
					ix := -g.pw + j
					for ox := range src {
						if ix >= 0 && ix < g.w {
							dst[ix] += src[ox]
						}
						ix += g.sw
					}
				}
			}
		}
	}
}
