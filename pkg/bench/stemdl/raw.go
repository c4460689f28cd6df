package stemdl

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/scibench/scibench/pkg/hdf5"
)

// Raw ORNL layout (BENCHMARKS.md §3.1).
const (
	RawSize       = 512          // raw projections are RawSize × RawSize
	RawDataset    = "cbed_stack" // (3, 512, 512) float32 per sample group
	RawLabelAttr  = "space_group"
	RawGroupStem  = "sample_"
	Channels      = 3   // projections = input channels
	SampleSize    = 128 // preprocessed side
	NumClasses    = 231 // space groups 1..230 used as class indices
	rawLogFloor   = -17.0
	rawLogScale   = 10.0
	rawClipHigh   = 255.0
	rawDownsample = RawSize / SampleSize
)

// LogScale is the reference intensity transform of one raw pixel
// (§3.2): clip(10·(max(ln I, −17) + 17), 0, 255). I ≤ 0 maps to 0.
func LogScale(i float32) float32 {
	l := rawLogFloor
	if i > 0 {
		l = max(math.Log(float64(i)), rawLogFloor)
	}
	return float32(min(max(rawLogScale*(l-rawLogFloor), 0), rawClipHigh))
}

// BlockMean writes into dst (c, h/f, w/f) the mean of every f×f block of
// src (c, h, w): OpenCV's INTER_AREA resize for an integer factor. f must
// divide h and w.
func BlockMean(dst, src []float32, c, h, w, f int) error {
	if f < 1 || h%f != 0 || w%f != 0 || len(src) != c*h*w || len(dst) != c*(h/f)*(w/f) {
		return fmt.Errorf("%w: block mean of (%d,%d,%d) by %d into %d values", ErrShape, c, h, w, f, len(dst))
	}
	oh, ow := h/f, w/f
	inv := 1 / float32(f*f)
	for ch := 0; ch < c; ch++ {
		s := src[ch*h*w : (ch+1)*h*w]
		d := dst[ch*oh*ow : (ch+1)*oh*ow]
		clear(d)
		for y := 0; y < h; y++ {
			row := s[y*w : (y+1)*w]
			drow := d[(y/f)*ow : (y/f+1)*ow]
			for x, v := range row {
				drow[x/f] += v
			}
		}
		for i := range d {
			d[i] *= inv
		}
	}
	return nil
}

// Preprocess applies the reference raw → npz transform to a (c, h, w)
// stack of raw intensities: LogScale on every pixel, then BlockMean by f.
// src is overwritten with the log-scaled values.
func Preprocess(dst, src []float32, c, h, w, f int) error {
	for i, v := range src {
		src[i] = LogScale(v)
	}
	return BlockMean(dst, src, c, h, w, f)
}

// RawSample is one preprocessed sample of a raw HDF5 file.
type RawSample struct {
	Group string
	Data  []float32 // (3, 128, 128)
	Label int
}

// ReadRawFile reads every sample_* group of a raw ORNL HDF5 file: the
// cbed_stack dataset (3, 512, 512) float32 and the space_group attribute
// (a decimal string such as "223"), and preprocesses the stack to
// (3, 128, 128). Labels must lie in [1, classes). Errors are *DataError
// naming the file and group; a build without HDF5 returns an error
// wrapping hdf5.ErrNoHDF5 and ErrMissing.
func ReadRawFile(path string, classes int) ([]RawSample, error) {
	f, err := hdf5.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, hdf5.ErrNoHDF5):
			return nil, &DataError{File: path, Msg: "raw HDF5 input needs a build with HDF5: " + err.Error(), Err: errors.Join(ErrMissing, err)}
		case errors.Is(err, hdf5.ErrNotFound):
			return nil, dataErr(path, "", ErrMissing, "%v", err)
		}
		return nil, dataErr(path, "", ErrFormat, "%v", err)
	}
	defer f.Close()
	names, err := f.List("/")
	if err != nil {
		return nil, dataErr(path, "/", ErrFormat, "%v", err)
	}
	var out []RawSample
	raw := make([]float32, Channels*RawSize*RawSize)
	for _, g := range names {
		if !strings.HasPrefix(g, RawGroupStem) {
			continue
		}
		ds := "/" + g + "/" + RawDataset
		info, err := f.Info(ds)
		if err != nil {
			if errors.Is(err, hdf5.ErrNotFound) {
				return nil, dataErr(path, ds, ErrMissing, "no %s dataset", RawDataset)
			}
			return nil, dataErr(path, ds, ErrFormat, "%v", err)
		}
		if info.Type != hdf5.Float32 || len(info.Shape) != 3 || info.Shape[0] != Channels || info.Shape[1] != RawSize || info.Shape[2] != RawSize {
			return nil, dataErr(path, ds, ErrShape, "%s %v, want float32 [%d %d %d]", info.Type, info.Shape, Channels, RawSize, RawSize)
		}
		sg, err := f.Attr("/"+g, RawLabelAttr)
		if err != nil {
			if errors.Is(err, hdf5.ErrNotFound) {
				return nil, dataErr(path, "/"+g, ErrMissing, "no %q attribute", RawLabelAttr)
			}
			return nil, dataErr(path, "/"+g, ErrFormat, "attribute %q: %v", RawLabelAttr, err)
		}
		lab, err := parseSpaceGroup(sg)
		if err != nil {
			return nil, dataErr(path, "/"+g, ErrFormat, "attribute %q: %v", RawLabelAttr, err)
		}
		if lab < 1 || lab >= classes {
			return nil, dataErr(path, "/"+g, ErrLabel, "space group %d outside 1..%d", lab, classes-1)
		}
		if err := f.ReadFloat32(ds, raw); err != nil {
			return nil, dataErr(path, ds, ErrFormat, "%v", err)
		}
		for i, v := range raw {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, dataErr(path, ds, ErrFormat, "non-finite intensity %v at element %d", v, i)
			}
		}
		s := RawSample{Group: g, Data: make([]float32, Channels*SampleSize*SampleSize), Label: lab}
		if err := Preprocess(s.Data, raw, Channels, RawSize, RawSize, rawDownsample); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, dataErr(path, "/", ErrMissing, "no %s* groups", RawGroupStem)
	}
	return out, nil
}

// parseSpaceGroup parses the attribute value: "223", or the Python bytes
// repr "b'223'" some writers leave behind.
func parseSpaceGroup(s string) (int, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "b'") && strings.HasSuffix(t, "'") && len(t) >= 3 {
		t = t[2 : len(t)-1]
	}
	v, err := strconv.Atoi(strings.TrimSpace(t))
	if err != nil {
		return 0, fmt.Errorf("space group %q is not an integer", s)
	}
	return v, nil
}
