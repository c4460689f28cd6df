package cloudmask

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"github.com/scibench/scibench/pkg/hdf5"
)

// Tiling is the inference tiling of an H×W scene (BENCHMARKS.md §2.2):
// Patch-sized tiles at stride Stride over the scene zero-padded by
// (PadTop, PadLeft) ("SAME"), of which each keeps its central Stride²
// (Margin = (Patch−Stride)/2 pixels dropped per side). Every scene pixel
// is covered by exactly one kept centre.
type Tiling struct {
	H, W, Patch, Stride int
	Rows, Cols          int // tiles: ceil(H/Stride) × ceil(W/Stride)
	PadTop, PadLeft     int // SAME padding before the scene: pad div 2
	Margin              int
	CanvasH, CanvasW    int // Rows·Stride × Cols·Stride
	CropTop, CropLeft   int // where the scene lies in the canvas
	PadBottom, PadRight int
}

// NewTiling returns the tiling of an h×w scene (1200×1500, 256/176: 7×9
// tiles, pads 56/82, canvas 1232×1584, crop (16, 42)).
func NewTiling(h, w, patch, stride int) Tiling {
	t := Tiling{H: h, W: w, Patch: patch, Stride: stride, Margin: (patch - stride) / 2}
	t.Rows, t.Cols = (h+stride-1)/stride, (w+stride-1)/stride
	ph := (t.Rows-1)*stride + patch - h
	pw := (t.Cols-1)*stride + patch - w
	t.PadTop, t.PadLeft = ph/2, pw/2
	t.PadBottom, t.PadRight = ph-t.PadTop, pw-t.PadLeft
	t.CanvasH, t.CanvasW = t.Rows*stride, t.Cols*stride
	t.CropTop, t.CropLeft = (t.CanvasH-h)/2, (t.CanvasW-w)/2
	return t
}

// Origin returns the scene coordinates of tile (i, j)'s top-left pixel
// (negative inside the padding).
func (t Tiling) Origin(i, j int) (r, c int) {
	return i*t.Stride - t.PadTop, j*t.Stride - t.PadLeft
}

// InferResult is the outcome of one scene.
type InferResult struct {
	Accuracy   float64 // fraction of pixels with (p > 0.5) == (bayes > 0)
	TP, FP, FN float64 // cloud class
	NonFinite  int
}

// InferScene predicts the cloud probability of every pixel of a scene with
// the reference tiling, compares it with bayes > 0, and (when MaskDir is
// set) writes MaskDir/<name>.h5 with dataset mask f32 (1,H,W,1) and, with
// preview, MaskDir/<name>.png (false colour, truth, prediction).
func (t *Task) InferScene(ctx context.Context, si SceneInfo, preview bool) (InferResult, error) {
	var res InferResult
	f, err := openScene(si.Path)
	if err != nil {
		return res, err
	}
	n := FixedNorm
	if t.cfg.Normalisation == NormPerImage {
		n, err = PerImageNorm(f, si)
	}
	if err == nil {
		err = t.cache.rd.ReadBlock(f, si, n, 0, si.H, 0, si.W, &t.scene)
	}
	f.Close()
	if err != nil {
		return res, err
	}
	res.NonFinite = t.scene.NonFinite
	if err := t.predict(ctx, &t.scene); err != nil {
		return res, fmt.Errorf("%s: %w", si.Path, err)
	}
	correct := 0
	for i, p := range t.prob {
		cloud := t.scene.Y[i] > 0.5
		pred := p > 0.5
		if cloud == pred {
			correct++
		}
		switch {
		case cloud && pred:
			res.TP++
		case pred:
			res.FP++
		case cloud:
			res.FN++
		}
	}
	res.Accuracy = float64(correct) / float64(len(t.prob))
	if t.MaskDir == "" {
		return res, nil
	}
	if err := writeMask(filepath.Join(t.MaskDir, si.Name+".h5"), si, t.prob); err != nil {
		return res, err
	}
	if preview {
		if err := writePreview(filepath.Join(t.MaskDir, si.Name+".png"), &t.scene, t.prob); err != nil {
			return res, err
		}
	}
	return res, nil
}

// predict fills t.prob (H·W) with the tiled prediction of the decoded
// scene b.
func (t *Task) predict(ctx context.Context, b *Block) error {
	tl := NewTiling(b.Rows, b.Cols, t.cfg.PatchSize, t.cfg.InferenceStride)
	if cap(t.prob) < b.Rows*b.Cols {
		t.prob = make([]float32, b.Rows*b.Cols)
	}
	t.prob = t.prob[:b.Rows*b.Cols]
	t.tiles = t.tiles[:0]
	for i := range tl.Rows {
		for j := range tl.Cols {
			t.tiles = append(t.tiles, [2]int{i, j})
		}
	}
	p := tl.Patch
	for k0 := 0; k0 < len(t.tiles); k0 += t.cfg.EvalBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := t.tiles[k0:min(k0+t.cfg.EvalBatch, len(t.tiles))]
		t.ensureBatch(len(batch))
		for k, ij := range batch {
			r0, c0 := tl.Origin(ij[0], ij[1])
			extractTile(t.x.Data[k*InputChannels*p*p:(k+1)*InputChannels*p*p], b, r0, c0, p)
		}
		out, err := t.model.Forward(t.in, false)
		if err != nil {
			return err
		}
		for k, ij := range batch {
			r0, c0 := tl.Origin(ij[0], ij[1])
			logits := out.Data[k*p*p : (k+1)*p*p]
			for r := tl.Margin; r < tl.Margin+tl.Stride; r++ {
				sr := r0 + r
				if sr < 0 || sr >= b.Rows {
					continue
				}
				for c := tl.Margin; c < tl.Margin+tl.Stride; c++ {
					sc := c0 + c
					if sc < 0 || sc >= b.Cols {
						continue
					}
					t.prob[sr*b.Cols+sc] = sigmoid(logits[r*p+c])
				}
			}
		}
	}
	return nil
}

func sigmoid(z float32) float32 { return float32(1 / (1 + math.Exp(-float64(z)))) }

// extractTile copies the p×p window at scene (r0, c0) of every input plane
// into dst (planar), with zeros outside the scene.
func extractTile(dst []float32, b *Block, r0, c0, p int) {
	plane := b.Rows * b.Cols
	for ch := range InputChannels {
		for r := range p {
			row := dst[(ch*p+r)*p : (ch*p+r+1)*p]
			sr := r0 + r
			if sr < 0 || sr >= b.Rows {
				clear(row)
				continue
			}
			src := b.X[ch*plane+sr*b.Cols : ch*plane+(sr+1)*b.Cols]
			for c := range p {
				sc := c0 + c
				if sc < 0 || sc >= b.Cols {
					row[c] = 0
				} else {
					row[c] = src[sc]
				}
			}
		}
	}
}

// writeMask writes the probabilities as dataset mask (1,H,W,1), float32.
func writeMask(path string, si SceneInfo, prob []float32) (err error) {
	f, err := hdf5.Create(path)
	if err != nil {
		return fmt.Errorf("cloudmask: mask %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("cloudmask: mask %s: %w", path, cerr)
		}
	}()
	if err := f.WriteFloat32("/mask", []int{1, si.H, si.W, 1}, prob, hdf5.WriteOptions{Gzip: 1, Shuffle: true}); err != nil {
		return fmt.Errorf("cloudmask: mask %s: %w", path, err)
	}
	return f.SetAttr("/mask", "source", si.Name)
}

// writePreview writes a PNG of three panels side by side: a false-colour
// composite of the inputs (S3, S2, S1 stretched to their 2-98% range), the
// truth (bayes > 0, white = cloud) and the predicted probability.
func writePreview(path string, b *Block, prob []float32) error {
	h, w := b.Rows, b.Cols
	img := image.NewRGBA(image.Rect(0, 0, 3*w, h))
	plane := h * w
	var lo, hi [3]float32
	for k, ch := range [3]int{2, 1, 0} {
		lo[k], hi[k] = stretch(b.X[ch*plane : (ch+1)*plane])
	}
	u8 := func(v, l, hgh float32) uint8 {
		if hgh <= l {
			return 0
		}
		return uint8(max(0, min(255, (v-l)/(hgh-l)*255)))
	}
	for r := range h {
		for c := range w {
			i := r*w + c
			var rgb [3]uint8
			for k, ch := range [3]int{2, 1, 0} {
				rgb[k] = u8(b.X[ch*plane+i], lo[k], hi[k])
			}
			img.SetRGBA(c, r, color.RGBA{rgb[0], rgb[1], rgb[2], 255})
			tv := uint8(0)
			if b.Y[i] > 0.5 {
				tv = 255
			}
			img.SetRGBA(w+c, r, color.RGBA{tv, tv, tv, 255})
			pv := uint8(max(0, min(255, prob[i]*255)))
			img.SetRGBA(2*w+c, r, color.RGBA{pv, pv, pv, 255})
		}
	}
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("cloudmask: preview: %w", err)
	}
	err = png.Encode(fh, img)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return errors.Join(fmt.Errorf("cloudmask: preview %s", path), err)
	}
	return nil
}

// stretch returns about the 2nd and 98th percentiles of v (from a
// 256-bin histogram between min and max).
func stretch(v []float32) (lo, hi float32) {
	mn, mx := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, x := range v {
		mn, mx = min(mn, x), max(mx, x)
	}
	if !(mx > mn) {
		return mn, mx
	}
	var hist [256]int
	for _, x := range v {
		hist[min(255, int((x-mn)/(mx-mn)*256))]++
	}
	at := func(q float64) float32 {
		want, acc := int(q*float64(len(v))), 0
		for i, n := range hist {
			acc += n
			if acc > want {
				return mn + (mx-mn)*float32(i)/256
			}
		}
		return mx
	}
	return at(0.02), at(0.98)
}
