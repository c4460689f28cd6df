package cloudmask

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestGridReference(t *testing.T) {
	for _, tc := range []struct{ h, w, p, rows, cols, oh, ow int }{
		{1200, 1500, 256, 4, 5, 88, 110}, // §2.2: 20 patches per file at (88, 110)
		{512, 768, 256, 2, 3, 0, 0},      // small profile
		{80, 112, 32, 2, 3, 8, 8},        // tiny profile
	} {
		r, c, oh, ow := Grid(tc.h, tc.w, tc.p)
		if r != tc.rows || c != tc.cols || oh != tc.oh || ow != tc.ow {
			t.Errorf("Grid(%d,%d,%d) = %d %d %d %d, want %+v", tc.h, tc.w, tc.p, r, c, oh, ow, tc)
		}
	}
}

func TestTilingReference(t *testing.T) {
	tl := NewTiling(1200, 1500, 256, 176)
	if tl.Rows != 7 || tl.Cols != 9 || tl.PadTop+tl.PadBottom != 112 || tl.PadLeft+tl.PadRight != 164 ||
		tl.PadTop != 56 || tl.PadLeft != 82 || tl.CanvasH != 1232 || tl.CanvasW != 1584 || tl.CropTop != 16 || tl.CropLeft != 42 {
		t.Fatalf("full tiling %+v", tl)
	}
	tl = NewTiling(512, 768, 256, 176) // §2.6 small: 3×5 tiles, pads 48/96 per side, canvas 528×880, crop (8,56)
	if tl.Rows != 3 || tl.Cols != 5 || tl.PadTop != 48 || tl.PadLeft != 96 || tl.PadBottom != 48 || tl.PadRight != 96 ||
		tl.CanvasH != 528 || tl.CanvasW != 880 || tl.CropTop != 8 || tl.CropLeft != 56 {
		t.Fatalf("small tiling %+v", tl)
	}
}

// TestTilingCoversEveryPixelOnce counts, naively, how many kept tile
// centres cover each pixel, and checks that the kept centre lies at the
// canvas position the reference reassembly puts it (crop offset).
func TestTilingCoversEveryPixelOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		p := 8 * (1 + rng.IntN(6))
		s := p - 2*rng.IntN(p/2)
		h, w := p+rng.IntN(100), p+rng.IntN(100)
		tl := NewTiling(h, w, p, s)
		cover := make([]int, h*w)
		for i := range tl.Rows {
			for j := range tl.Cols {
				r0, c0 := tl.Origin(i, j)
				for r := tl.Margin; r < tl.Margin+s; r++ {
					for c := tl.Margin; c < tl.Margin+s; c++ {
						sr, sc := r0+r, c0+c
						// reference reassembly: canvas (i·s + r − margin) minus the crop
						if cr, cc := i*s+r-tl.Margin-tl.CropTop, j*s+c-tl.Margin-tl.CropLeft; cr != sr || cc != sc {
							t.Fatalf("h %d w %d p %d s %d: tile (%d,%d) pixel (%d,%d) at scene (%d,%d), canvas says (%d,%d)", h, w, p, s, i, j, r, c, sr, sc, cr, cc)
						}
						if sr >= 0 && sr < h && sc >= 0 && sc < w {
							cover[sr*w+sc]++
						}
					}
				}
			}
		}
		if slices.Min(cover) != 1 || slices.Max(cover) != 1 {
			t.Fatalf("h %d w %d p %d s %d: coverage in [%d,%d], want exactly 1", h, w, p, s, slices.Min(cover), slices.Max(cover))
		}
	}
}

func TestSplitFiles(t *testing.T) {
	var files []string
	for i := range 970 {
		files = append(files, SynthName(i))
	}
	tr, va, err := SplitFiles(files, 0.8, 1234)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 776 || len(va) != 194 || !slices.IsSorted(tr) || !slices.IsSorted(va) {
		t.Fatalf("split %d/%d sorted %v %v", len(tr), len(va), slices.IsSorted(tr), slices.IsSorted(va))
	}
	all := append(slices.Clone(tr), va...)
	slices.Sort(all)
	if !slices.Equal(all, files) {
		t.Fatal("split lost or duplicated files")
	}
	// independent of the input order, dependent on the seed
	rev := slices.Clone(files)
	slices.Reverse(rev)
	tr2, _, _ := SplitFiles(rev, 0.8, 1234)
	tr3, _, _ := SplitFiles(files, 0.8, 42)
	if !slices.Equal(tr, tr2) || slices.Equal(tr, tr3) {
		t.Fatal("split depends on input order or ignores the seed")
	}
	if tr, va, err := SplitFiles(files[:2], 0.99, 1); err != nil || len(tr) != 1 || len(va) != 1 {
		t.Fatalf("2 files: %v %v %v", tr, va, err)
	}
	if _, _, err := SplitFiles(files[:1], 0.8, 1); err == nil {
		t.Fatal("1 file split")
	}
}
