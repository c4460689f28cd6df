package stemdl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/hdf5"
)

// TestBlockMeanNaive compares BlockMean with a per-output-pixel loop.
func TestBlockMeanNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for trial := 0; trial < 50; trial++ {
		f := 1 + r.IntN(5)
		c, h, w := 1+r.IntN(3), f*(1+r.IntN(6)), f*(1+r.IntN(6))
		src := randData(uint64(trial), c*h*w)
		dst := make([]float32, c*(h/f)*(w/f))
		if err := BlockMean(dst, src, c, h, w, f); err != nil {
			t.Fatal(err)
		}
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h/f; y++ {
				for x := 0; x < w/f; x++ {
					var s float64
					for dy := 0; dy < f; dy++ {
						for dx := 0; dx < f; dx++ {
							s += float64(src[ch*h*w+(y*f+dy)*w+x*f+dx])
						}
					}
					want := s / float64(f*f)
					got := float64(dst[ch*(h/f)*(w/f)+y*(w/f)+x])
					if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
						t.Fatalf("(%d,%d,%d) f %d: %v, want %v", ch, y, x, f, got, want)
					}
				}
			}
		}
	}
	if err := BlockMean(make([]float32, 4), make([]float32, 30), 1, 5, 6, 4); !errors.Is(err, ErrShape) {
		t.Fatalf("non-divisible: %v", err)
	}
}

// TestPreprocessAgainstNumPy runs the reference transform in NumPy
// (clip(10·(max(ln I, −17)+17), 0, 255), then a 4×4 mean) on random
// intensities spanning the clip range, zeros included, and compares.
func TestPreprocessAgainstNumPy(t *testing.T) {
	dir := t.TempDir()
	const c, h, w = 3, 16, 24
	r := rand.New(rand.NewPCG(7, 7))
	src := make([]float32, c*h*w)
	for i := range src {
		switch r.IntN(8) {
		case 0:
			src[i] = 0
		default:
			src[i] = float32(math.Exp(r.Float64()*30 - 20)) // e^-20 .. e^10
		}
	}
	writeBin(t, filepath.Join(dir, "raw.bin"), src)
	runPython(t, `
import sys, numpy as np
d = sys.argv[1]
x = np.fromfile(d + "/raw.bin", dtype="<f4").reshape(3, 16, 24).astype(np.float64)
with np.errstate(divide="ignore"):
    v = np.clip(10 * (np.maximum(np.log(x), -17) + 17), 0, 255)
v = v.reshape(3, 4, 4, 6, 4).mean(axis=(2, 4)).astype("<f4")
v.tofile(d + "/ref.bin")
`, dir)
	b, err := os.ReadFile(filepath.Join(dir, "ref.bin"))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, c*(h/4)*(w/4))
	if len(b) != 4*len(dst) {
		t.Fatalf("reference has %d bytes", len(b))
	}
	if err := Preprocess(dst, src, c, h, w, 4); err != nil {
		t.Fatal(err)
	}
	for i := range dst {
		want := math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
		if math.Abs(float64(dst[i]-want)) > 1e-3 {
			t.Fatalf("element %d: %v, want %v", i, dst[i], want)
		}
	}
	if LogScale(-1) != 0 || LogScale(1e30) != 255 || LogScale(1) != 170 {
		t.Fatalf("LogScale endpoints: %v %v %v", LogScale(-1), LogScale(1e30), LogScale(1))
	}
}

// TestRawNoHDF5 checks the no-HDF5 build's error; with HDF5 it checks that
// a missing file is reported as missing.
func TestRawNoHDF5(t *testing.T) {
	p := filepath.Join(t.TempDir(), "absent.h5")
	_, err := ReadRawFile(p, NumClasses)
	var de *DataError
	if !errors.As(err, &de) || de.File != p || !errors.Is(err, ErrMissing) {
		t.Fatalf("error %v (%T)", err, err)
	}
	if !hdf5.Available() && !errors.Is(err, hdf5.ErrNoHDF5) {
		t.Fatalf("no-HDF5 build: %v does not wrap hdf5.ErrNoHDF5", err)
	}
}

// TestGenerateRawTwins generates a few samples with raw HDF5 copies and
// checks that ReadRawFile's preprocessing of every raw group reproduces its
// npz twin exactly.
func TestGenerateRawTwins(t *testing.T) {
	if !hdf5.Available() {
		t.Skip("built without the hdf5 tag (the Makefile and CI build with it)")
	}
	dir := t.TempDir()
	rep, err := Generate(context.Background(), dir, GenConfig{Scale: "tiny", Seed: 3, Materials: 3, Samples: 1, RawPerSplit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files["training"] != 8 || rep.Files["validation"] != 8 || rep.Files["testing"] != 8 || rep.Files["inference"] != 8 {
		t.Fatalf("files %v", rep.Files)
	}
	idx := 0
	for si, split := range RawSplitDirs {
		rs, err := ReadRawFile(filepath.Join(dir, "raw", split, "batch_0.h5"), NumClasses)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 {
			t.Fatalf("%s: %d raw samples", split, len(rs))
		}
		for _, r := range rs {
			var mi, j int
			if _, err := fmt.Sscanf(r.Group, "sample_%d_%d", &mi, &j); err != nil {
				t.Fatal(err)
			}
			n := idx + j*8 + mi // 8 materials per split, material-minor
			p := filepath.Join(dir, SplitDirs[si], "sample-"+strconv.Itoa(n)+".npz")
			want, lab, err := ReadSample(p, [3]int{3, 128, 128}, NumClasses)
			if err != nil {
				t.Fatal(err)
			}
			if lab != r.Label {
				t.Fatalf("%s %s: label %d, npz %d", split, r.Group, r.Label, lab)
			}
			for i := range want {
				if want[i] != r.Data[i] {
					t.Fatalf("%s %s element %d: %v, npz %v", split, r.Group, i, r.Data[i], want[i])
				}
			}
		}
		idx += rep.Files[SplitDirs[si]]
	}
}

// TestRawFromH5py reads raw files written by h5py the way the ORNL data
// is (space_group as bytes), and bad ones: a missing attribute, a wrong
// shape, a label out of range, a non-numeric label, no sample groups.
func TestRawFromH5py(t *testing.T) {
	if !hdf5.Available() {
		t.Skip("built without the hdf5 tag (the Makefile and CI build with it)")
	}
	dir := t.TempDir()
	runPython(t, `
import sys, numpy as np, h5py
d = sys.argv[1]
rng = np.random.default_rng(1)
x = rng.exponential(1.0, size=(3, 512, 512)).astype("<f4")
x.tofile(d + "/x.bin")
def mk(name, groups):
    with h5py.File(d + "/" + name, "w") as f:
        for g, shape, sg in groups:
            grp = f.create_group(g)
            grp.create_dataset("cbed_stack", data=x if shape is None else np.zeros(shape, "<f4"))
            if sg is not None:
                grp.attrs["space_group"] = sg
mk("good.h5", [("sample_0_1", None, b"223"), ("sample_0_2", None, np.bytes_(b"2"))])
mk("noattr.h5", [("sample_0_1", None, b"12"), ("sample_0_2", None, None)])
mk("shape.h5", [("sample_1_1", (3, 256, 256), b"12")])
mk("range.h5", [("sample_1_1", None, b"231")])
mk("text.h5", [("sample_1_1", None, b"P6_3/mmc")])
mk("empty.h5", [])
`, dir)
	rs, err := ReadRawFile(filepath.Join(dir, "good.h5"), NumClasses)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Label != 223 || rs[1].Label != 2 || rs[0].Group != "sample_0_1" {
		t.Fatalf("samples %d, labels %d %d", len(rs), rs[0].Label, rs[len(rs)-1].Label)
	}
	b, err := os.ReadFile(filepath.Join(dir, "x.bin"))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	want := make([]float32, 3*128*128)
	if err := Preprocess(want, x, 3, 512, 512, 4); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if want[i] != rs[0].Data[i] {
			t.Fatalf("element %d: %v, want %v", i, rs[0].Data[i], want[i])
		}
	}
	for name, want := range map[string]error{"noattr.h5": ErrMissing, "shape.h5": ErrShape, "range.h5": ErrLabel, "text.h5": ErrFormat, "empty.h5": ErrMissing} {
		p := filepath.Join(dir, name)
		_, err := ReadRawFile(p, NumClasses)
		var de *DataError
		if !errors.As(err, &de) || de.File != p || !errors.Is(err, want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want a *DataError naming the file wrapping %v", name, err, want)
		}
	}
}
