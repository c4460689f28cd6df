package stemdl

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func randData(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(r.NormFloat64() * 100)
	}
	return d
}

func writeBin(t *testing.T, path string, d []float32) {
	t.Helper()
	b := make([]byte, 4*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReadNumPyFiles reads files NumPy wrote (np.savez, np.savez_compressed,
// .npy format versions 1.0, 2.0 and 3.0) from random data and compares
// them bit for bit with the data.
func TestReadNumPyFiles(t *testing.T) {
	dir := t.TempDir()
	shape := [3]int{3, 128, 128}
	data := randData(1, 3*128*128)
	writeBin(t, filepath.Join(dir, "data.bin"), data)
	runPython(t, `
import sys, numpy as np
from numpy.lib import format as fmt
d = sys.argv[1]
x = np.fromfile(d + "/data.bin", dtype="<f4").reshape(3, 128, 128)
y = np.array([225], dtype="<i8")
np.savez(d + "/plain.npz", data=x, label=y)
np.savez_compressed(d + "/compressed.npz", data=x, label=y)
for v in [(1, 0), (2, 0), (3, 0)]:
    with open(d + "/v%d.npy" % v[0], "wb") as f:
        fmt.write_array(f, x, version=v)
with open(d + "/scalar.npy", "wb") as f:
    fmt.write_array(f, np.array(7, dtype="<i8"))
with open(d + "/vec.npy", "wb") as f:
    fmt.write_array(f, np.arange(5, dtype="<i8"))
`, dir)
	for _, name := range []string{"plain.npz", "compressed.npz"} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			got, lab, err := ReadSample(p, shape, NumClasses)
			if err != nil {
				t.Fatal(err)
			}
			if lab != 225 {
				t.Fatalf("label %d, want 225", lab)
			}
			for i := range data {
				if math.Float32bits(got[i]) != math.Float32bits(data[i]) {
					t.Fatalf("element %d: %v, want %v", i, got[i], data[i])
				}
			}
		})
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		t.Run(v, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, v+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			a, err := ReadNPY(f, v, 0)
			if err != nil {
				t.Fatal(err)
			}
			if a.Descr != "<f4" || len(a.Shape) != 3 || a.Shape[0] != 3 || a.Shape[1] != 128 || a.Shape[2] != 128 {
				t.Fatalf("descr %s shape %v", a.Descr, a.Shape)
			}
			for i := range data {
				if math.Float32bits(a.F32[i]) != math.Float32bits(data[i]) {
					t.Fatalf("element %d: %v, want %v", i, a.F32[i], data[i])
				}
			}
		})
	}
	t.Run("scalar and vector", func(t *testing.T) {
		for name, want := range map[string][]int64{"scalar": {7}, "vec": {0, 1, 2, 3, 4}} {
			f, err := os.Open(filepath.Join(dir, name+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			a, err := ReadNPY(f, name, 0)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if a.Len() != len(want) || len(a.I64) != len(want) {
				t.Fatalf("%s: shape %v values %v", name, a.Shape, a.I64)
			}
			for i := range want {
				if a.I64[i] != want[i] {
					t.Fatalf("%s: %v, want %v", name, a.I64, want)
				}
			}
		}
	})
}

// TestWriteReadByNumPy writes samples with WriteSample and WriteNPZ
// (compressed) and has NumPy check them against the raw data.
func TestWriteReadByNumPy(t *testing.T) {
	dir := t.TempDir()
	data := randData(2, 3*16*8)
	writeBin(t, filepath.Join(dir, "data.bin"), data)
	if err := WriteSample(filepath.Join(dir, "s.npz"), data, [3]int{3, 16, 8}, 14); err != nil {
		t.Fatal(err)
	}
	if err := WriteNPZ(filepath.Join(dir, "c.npz"), []*Array{
		{Name: "data", Shape: []int{3, 16, 8}, F32: data},
		{Name: "label", Shape: []int{1}, I64: []int64{-3}},
	}, true); err != nil {
		t.Fatal(err)
	}
	out := runPython(t, `
import sys, numpy as np
d = sys.argv[1]
x = np.fromfile(d + "/data.bin", dtype="<f4").reshape(3, 16, 8)
for name, lab in (("s", 14), ("c", -3)):
    z = np.load(d + "/" + name + ".npz")
    assert sorted(z.files) == ["data", "label"], z.files
    assert z["data"].dtype == np.dtype("<f4") and z["data"].shape == (3, 16, 8), (z["data"].dtype, z["data"].shape)
    assert z["label"].dtype == np.dtype("<i8") and z["label"].shape == (1,), (z["label"].dtype, z["label"].shape)
    assert np.array_equal(z["data"].view("<u4"), x.view("<u4"))
    assert int(z["label"][0]) == lab
print("ok")
`, dir)
	if strings.TrimSpace(out) != "ok" {
		t.Fatalf("numpy check: %q", out)
	}
}

// TestBadSampleFiles feeds corrupt and invalid files to ReadSample: every
// one must give a *DataError naming the file and the right sentinel.
func TestBadSampleFiles(t *testing.T) {
	dir := t.TempDir()
	shape := [3]int{3, 8, 8}
	good := randData(3, 3*8*8)
	goodPath := filepath.Join(dir, "good.npz")
	if err := WriteSample(goodPath, good, shape, 62); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(goodPath)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zipOf := func(name string, entries map[string][]byte) string {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for n, p := range entries {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(p)
		}
		zw.Close()
		return write(name, b.Bytes())
	}
	enc := func(a *Array) []byte {
		p, err := EncodeNPY(a)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	label := enc(&Array{Shape: []int{1}, I64: []int64{62}})
	data := enc(&Array{Shape: shape[:], F32: good})
	nan := append([]float32(nil), good...)
	nan[17] = float32(math.NaN())
	f8 := bytes.Replace(data, []byte("'<f4'"), []byte("'<f8'"), 1)
	fort := bytes.Replace(data, []byte("False"), []byte("True "), 1)
	badMagic := append([]byte("\x93NUMPZ"), data[6:]...)
	v9 := append([]byte(nil), data...)
	v9[6] = 9
	// a stored entry whose CRC no longer matches
	flipped := append([]byte(nil), raw...)
	flipped[bytes.Index(flipped, []byte("NUMPY"))+200] ^= 0xff

	cases := []struct {
		name string
		path string
		want error
	}{
		{"not a zip", write("junk.npz", []byte("this is not a zip archive at all")), ErrFormat},
		{"truncated zip", write("trunc.npz", raw[:len(raw)/2]), ErrFormat},
		{"crc mismatch", write("crc.npz", flipped), ErrFormat},
		{"missing file", filepath.Join(dir, "absent.npz"), ErrMissing},
		{"no label", zipOf("nolabel.npz", map[string][]byte{"data.npy": data}), ErrMissing},
		{"no data", zipOf("nodata.npz", map[string][]byte{"label.npy": label}), ErrMissing},
		{"bad magic", zipOf("magic.npz", map[string][]byte{"data.npy": badMagic, "label.npy": label}), ErrFormat},
		{"bad version", zipOf("version.npz", map[string][]byte{"data.npy": v9, "label.npy": label}), ErrFormat},
		{"float64", zipOf("f8.npz", map[string][]byte{"data.npy": f8, "label.npy": label}), ErrFormat},
		{"fortran order", zipOf("fortran.npz", map[string][]byte{"data.npy": fort, "label.npy": label}), ErrFormat},
		{"truncated data", zipOf("short.npz", map[string][]byte{"data.npy": data[:len(data)-10], "label.npy": label}), ErrFormat},
		{"wrong shape", zipOf("shape.npz", map[string][]byte{"data.npy": enc(&Array{Shape: []int{3, 8, 4}, F32: good[:96]}), "label.npy": label}), ErrShape},
		{"2-d data", zipOf("rank.npz", map[string][]byte{"data.npy": enc(&Array{Shape: []int{24, 8}, F32: good}), "label.npy": label}), ErrShape},
		{"float label", zipOf("flab.npz", map[string][]byte{"data.npy": data, "label.npy": enc(&Array{Shape: []int{1}, F32: []float32{62}})}), ErrShape},
		{"two labels", zipOf("lab2.npz", map[string][]byte{"data.npy": data, "label.npy": enc(&Array{Shape: []int{2}, I64: []int64{62, 2}})}), ErrShape},
		{"label 231", zipOf("l231.npz", map[string][]byte{"data.npy": data, "label.npy": enc(&Array{Shape: []int{1}, I64: []int64{231}})}), ErrLabel},
		{"label 0", zipOf("l0.npz", map[string][]byte{"data.npy": data, "label.npy": enc(&Array{Shape: []int{1}, I64: []int64{0}})}), ErrLabel},
		{"label -5", zipOf("lneg.npz", map[string][]byte{"data.npy": data, "label.npy": enc(&Array{Shape: []int{1}, I64: []int64{-5}})}), ErrLabel},
		{"NaN pixel", zipOf("nan.npz", map[string][]byte{"data.npy": enc(&Array{Shape: shape[:], F32: nan}), "label.npy": label}), ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadSample(c.path, shape, NumClasses)
			if err == nil {
				t.Fatal("no error")
			}
			var de *DataError
			if !errors.As(err, &de) || de.File != c.path {
				t.Fatalf("error %v (%T) does not name %s", err, err, c.path)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.path) {
				t.Fatalf("message %q lacks the path", err)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		d, l, err := ReadSample(goodPath, shape, NumClasses)
		if err != nil || l != 62 || len(d) != len(good) || d[5] != good[5] {
			t.Fatalf("good sample: label %d, %d values, err %v", l, len(d), err)
		}
	})
}

// TestParseNPYHeaderFuzz checks that random mutations of a header never
// panic and either parse or give an error.
func TestParseNPYHeaderFuzz(t *testing.T) {
	base := "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 128, 128), }"
	r := rand.New(rand.NewPCG(4, 4))
	for i := 0; i < 5000; i++ {
		b := []byte(base)
		for k := 0; k < 1+r.IntN(4); k++ {
			b[r.IntN(len(b))] = byte(r.IntN(128))
		}
		a, err := parseNPYHeader(string(b))
		if err == nil && (a.Descr == "" || a.Shape == nil) {
			t.Fatalf("%q parsed without descr/shape: %+v", b, a)
		}
	}
}
