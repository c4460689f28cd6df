package cloudmask

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scibench/scibench/pkg/hdf5"
)

// Dataset keys of a scene file (BENCHMARKS.md §2.1) and their channels.
const (
	KeyRefs  = "refs"  // (H, W, 6) reflectances S1..S6
	KeyBts   = "bts"   // (H, W, 3) brightness temperatures S7..S9, K
	KeyBayes = "bayes" // (H, W, 1) Bayesian cloud flag word; cloud = bayes > 0

	RefsChannels  = 6
	BtsChannels   = 3
	InputChannels = RefsChannels + BtsChannels // model input: concat(refs', bts')
)

// SceneInfo describes a checked scene file.
type SceneInfo struct {
	Path string `json:"path"`
	Name string `json:"name"` // base name without .hdf
	H    int    `json:"h"`
	W    int    `json:"w"`
}

// FindScenes returns the scene files under dir (recursively, names
// S3A*.hdf as the reference's glob "**/S3A*.hdf"), sorted by path so that
// splits do not depend on directory order. A missing or empty folder is an
// ErrNoScenes *DataError.
func FindScenes(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &DataError{File: dir, Msg: "scene folder: " + errText(err), Err: ErrNoScenes}
	}
	if !st.IsDir() {
		return nil, &DataError{File: dir, Msg: "scene folder is not a directory", Err: ErrNoScenes}
	}
	var out []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, "S3A") && strings.HasSuffix(name, ".hdf") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, &DataError{File: dir, Msg: "walk: " + errText(err), Err: ErrUnreadable}
	}
	if len(out) == 0 {
		return nil, &DataError{File: dir, Msg: "no S3A*.hdf scene files (generate some with: scibench data generate cloudmask --out DIR)", Err: ErrNoScenes}
	}
	sort.Strings(out)
	return out, nil
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// openScene opens a scene file, mapping failures to *DataError.
func openScene(path string) (*hdf5.File, error) {
	f, err := hdf5.Open(path)
	if err != nil {
		if errors.Is(err, hdf5.ErrNoHDF5) {
			return nil, fmt.Errorf("%w: %s", ErrNoHDF5, path)
		}
		return nil, &DataError{File: path, Msg: err.Error(), Err: ErrUnreadable}
	}
	return f, nil
}

// Inspect checks a scene's layout without reading its pixels: refs
// (H,W,6), bts (H,W,3) and bayes (H,W,1) or (H,W), numeric, and at least
// minSize² pixels.
func Inspect(path string, minSize int) (SceneInfo, error) {
	f, err := openScene(path)
	if err != nil {
		return SceneInfo{}, err
	}
	defer f.Close()
	return inspectOpen(f, path, minSize)
}

func inspectOpen(f *hdf5.File, path string, minSize int) (SceneInfo, error) {
	si := SceneInfo{Path: path, Name: strings.TrimSuffix(filepath.Base(path), ".hdf")}
	for _, k := range []struct {
		key string
		ch  int
	}{{KeyRefs, RefsChannels}, {KeyBts, BtsChannels}, {KeyBayes, 1}} {
		info, err := f.Info("/" + k.key)
		if err != nil {
			if errors.Is(err, hdf5.ErrNotFound) {
				return si, &DataError{File: path, Key: k.key, Msg: "dataset missing", Err: ErrMissingKey}
			}
			return si, &DataError{File: path, Key: k.key, Msg: err.Error(), Err: ErrUnreadable}
		}
		if !info.Type.IsNumeric() {
			return si, &DataError{File: path, Key: k.key, Msg: fmt.Sprintf("type %s is not numeric", info.Type), Err: ErrShape}
		}
		sh := info.Shape
		ok := len(sh) == 3 && sh[2] == k.ch || (k.key == KeyBayes && len(sh) == 2)
		if !ok {
			return si, &DataError{File: path, Key: k.key, Msg: fmt.Sprintf("shape %v, want (H, W, %d)", sh, k.ch), Err: ErrShape}
		}
		if k.key == KeyRefs {
			si.H, si.W = sh[0], sh[1]
		} else if sh[0] != si.H || sh[1] != si.W {
			return si, &DataError{File: path, Key: k.key, Msg: fmt.Sprintf("shape %v does not match refs (%d, %d, %d)", sh, si.H, si.W, RefsChannels), Err: ErrShape}
		}
	}
	if si.H < minSize || si.W < minSize {
		return si, &DataError{File: path, Key: KeyRefs, Msg: fmt.Sprintf("scene %dx%d is smaller than one %dx%d patch", si.H, si.W, minSize, minSize), Err: ErrShape}
	}
	return si, nil
}

// Norm is the affine input normalisation x' = (x − Sub)/Div of refs and
// bts (BENCHMARKS.md §2.2).
type Norm struct {
	RefSub, RefDiv, BtSub, BtDiv float64
}

// FixedNorm is v1.1's normalisation: refs − 0.5, (bts − 270)/22.
var FixedNorm = Norm{RefSub: 0.5, RefDiv: 1, BtSub: 270, BtDiv: 22}

// PerImageNorm computes v1.2's normalisation of one scene: each of refs
// and bts standardised by the scalar mean and (population) standard
// deviation of its finite values; a constant array gets Div 1.
func PerImageNorm(f *hdf5.File, si SceneInfo) (Norm, error) {
	n := Norm{}
	const rows = 64
	for _, k := range []struct {
		key      string
		ch       int
		sub, div *float64
	}{{KeyRefs, RefsChannels, &n.RefSub, &n.RefDiv}, {KeyBts, BtsChannels, &n.BtSub, &n.BtDiv}} {
		buf := make([]float32, rows*si.W*k.ch)
		var s, s2, cnt float64
		for r := 0; r < si.H; r += rows {
			c := min(rows, si.H-r)
			if err := f.ReadFloat32Rows("/"+k.key, r, c, buf[:c*si.W*k.ch]); err != nil {
				return n, &DataError{File: si.Path, Key: k.key, Msg: err.Error(), Err: ErrUnreadable}
			}
			for _, v := range buf[:c*si.W*k.ch] {
				x := float64(v)
				if math.IsNaN(x) || math.IsInf(x, 0) {
					continue
				}
				s += x
				s2 += x * x
				cnt++
			}
		}
		mean, sd := 0.0, 1.0
		if cnt > 0 {
			mean = s / cnt
			if v := s2/cnt - mean*mean; v > 1e-24 {
				sd = math.Sqrt(v)
			}
		}
		*k.sub, *k.div = mean, sd
	}
	return n, nil
}

// Block is a decoded, normalised window of a scene: X holds the 9 input
// planes [9][Rows][Cols] (refs' then bts'), Y the labels [Rows][Cols]
// (1 where bayes > 0).
type Block struct {
	Rows, Cols int
	X, Y       []float32
	// NonFinite counts non-finite input values (replaced by 0 after
	// normalisation; a non-finite bayes counts as clear).
	NonFinite int
	// RefsMax is the largest finite raw reflectance (the reference data is
	// "already 0..1"; above 1.5 the file probably holds radiances).
	RefsMax float32
}

// Reader decodes windows of scenes with reusable scratch buffers; it is
// not safe for concurrent use.
type Reader struct {
	scratch []float32
}

// ReadBlock reads rows [r0, r0+rows) and columns [c0, c0+cols) of the open
// scene f into b (resized as needed), normalised with n.
func (rd *Reader) ReadBlock(f *hdf5.File, si SceneInfo, n Norm, r0, rows, c0, cols int, b *Block) error {
	if r0 < 0 || c0 < 0 || rows < 1 || cols < 1 || r0+rows > si.H || c0+cols > si.W {
		return &DataError{File: si.Path, Msg: fmt.Sprintf("window rows [%d,%d) cols [%d,%d) outside %dx%d", r0, r0+rows, c0, c0+cols, si.H, si.W), Err: ErrShape}
	}
	b.Rows, b.Cols, b.NonFinite, b.RefsMax = rows, cols, 0, 0
	plane := rows * cols
	b.X = grow(b.X, InputChannels*plane)
	b.Y = grow(b.Y, plane)
	for _, k := range []struct {
		key      string
		ch, off  int
		sub, div float64
	}{{KeyRefs, RefsChannels, 0, n.RefSub, n.RefDiv}, {KeyBts, BtsChannels, RefsChannels, n.BtSub, n.BtDiv}, {KeyBayes, 1, -1, 0, 1}} {
		rd.scratch = grow(rd.scratch, rows*si.W*k.ch)
		raw := rd.scratch[:rows*si.W*k.ch]
		if err := f.ReadFloat32Rows("/"+k.key, r0, rows, raw); err != nil {
			return &DataError{File: si.Path, Key: k.key, Msg: err.Error(), Err: ErrUnreadable}
		}
		inv := 1 / k.div
		for r := range rows {
			src := raw[(r*si.W+c0)*k.ch : (r*si.W+c0+cols)*k.ch]
			for c := range cols {
				for ch := range k.ch {
					v := src[c*k.ch+ch]
					finite := v == v && v-v == 0
					if k.off < 0 { // label
						if !finite {
							b.NonFinite++
							v = 0
						}
						y := float32(0)
						if v > 0 {
							y = 1
						}
						b.Y[r*cols+c] = y
						continue
					}
					x := float32(0)
					if finite {
						if k.off == 0 && v > b.RefsMax {
							b.RefsMax = v
						}
						x = float32((float64(v) - k.sub) * inv)
					} else {
						b.NonFinite++
					}
					b.X[(k.off+ch)*plane+r*cols+c] = x
				}
			}
		}
	}
	return nil
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
