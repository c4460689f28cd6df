//go:build hdf5 && cgo

package hdf5

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scibench/scibench/internal/testutil"
)

// The round-trip tests run python3 with h5py (Debian python3-h5py). When no
// interpreter with h5py is found they FAIL: CI installs it, and a silent
// skip would hide a broken reader.

// python returns an interpreter that imports h5py and numpy.
func python(t testing.TB) string { return testutil.Python(t, "h5py", "numpy") }

// runPy runs script with args under a hard timeout.
func runPy(t testing.TB, script string, args ...string) {
	t.Helper()
	testutil.RunPython(t, []string{"h5py", "numpy"}, script, args...)
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func readI64(t testing.TB, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]int64, len(b)/8)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// sameBits compares float32 slices bit for bit.
func sameBits(t testing.TB, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v (%#08x), want %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func sameI64(t testing.TB, what string, got, want []int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s[%d] = %d, want %d", what, i, got[i], want[i])
		}
	}
}

func sameStrings(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d strings %q, want %d %q", what, len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s[%d] = %q, want %q", what, i, got[i], want[i])
		}
	}
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkNoLeak fails when f holds objects other than the file itself open.
func checkNoLeak(t testing.TB, f *File) {
	t.Helper()
	n, err := f.openObjects()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("file %s: %d objects open, want 0", f.Name(), n)
	}
}

// checkAllClosed fails when any HDF5 object is open in the process.
func checkAllClosed(t testing.TB) {
	t.Helper()
	if n := allOpenObjects(); n != 0 {
		t.Fatalf("%d HDF5 objects still open in the process, want 0", n)
	}
}

const h5pyWriter = `
import sys, json
import numpy as np
import h5py

d = sys.argv[1]
rng = np.random.default_rng(20260101)
man = {}

def dump(name, arr):
    np.ascontiguousarray(arr).tofile(d + "/" + name + ".bin")

with h5py.File(d + "/in.h5", "w") as f:
    x = rng.standard_normal((37, 53)).astype("<f4")
    f.create_dataset("grp/sub/f32", data=x, chunks=(8, 53), compression="gzip", compression_opts=4, shuffle=True)
    dump("f32_f32", x)
    y = rng.standard_normal((5, 7, 3)) * 1e3
    f.create_dataset("f64", data=y.astype("<f8"))
    dump("f64_f32", y.astype("<f4"))
    sp = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-40, 3.0e38, -2.5e-45, 1.0000000596046448], dtype="<f8")
    f.create_dataset("special", data=sp)
    dump("special_f32", sp.astype("<f4"))
    for dt in ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"]:
        info = np.iinfo(dt)
        hi = info.max if dt != "u8" else 2**63 - 1
        v = rng.integers(info.min, hi, size=(11, 4), dtype=dt, endpoint=True)
        v[0, 0], v[0, 1] = info.min, hi
        f.create_dataset("ints/" + dt, data=v.astype("<" + dt))
        dump(dt + "_f32", v.astype("<f4"))
        dump(dt + "_i64", v.astype("<i8"))
    be = rng.standard_normal(17)
    f.create_dataset("bigendian", data=be.astype(">f8"))
    dump("bigendian_f32", be.astype("<f4"))
    f.create_dataset("scalar", data=np.float64(2.5))
    fixed = np.array([b"alpha", b"", b"a longer one", b"x"], dtype="S12")
    f.create_dataset("str/fixed", data=fixed)
    vl = ["x", "h\u00e9llo w\u00f6rld", "", "last"]
    f.create_dataset("str/vlen", data=vl, dtype=h5py.string_dtype())
    f["grp"].attrs["vlen"] = "hello w\u00f6rld"
    f["grp"].attrs["fixed"] = np.bytes_(b"fixed bytes")
    f.attrs["root"] = "at the root"
    f["grp/sub/f32"].attrs["units"] = "kelvin"
    f["grp"].attrs["number"] = 3
    K, N = 6, 101
    dt = np.dtype([("index", "<i8"), ("values_block_0", "<f4", (K,)), ("values_block_1", "<f8", (2,)),
                   ("Sample", "S30"), ("Drug1", "S10")])
    t = f.create_dataset("x_train/table", shape=(0,), maxshape=(None,), dtype=dt, chunks=(16,), compression="gzip")
    rows = np.zeros(N, dtype=dt)
    rows["index"] = np.concatenate([np.arange(60), np.arange(N - 60)])
    rows["values_block_0"] = rng.standard_normal((N, K)).astype("<f4")
    rows["values_block_1"] = rng.standard_normal((N, 2))
    samples = ["CCLE.%d" % rng.integers(0, 10**6) for _ in range(N)]
    samples[3] = "S" * 30
    rows["Sample"] = [s.encode() for s in samples]
    rows["Drug1"] = [("NSC.%d" % i).encode() for i in range(N)]
    for lo, hi in ((0, 60), (60, N)):
        t.resize((hi,))
        t[lo:hi] = rows[lo:hi]
    t.attrs["CLASS"] = np.bytes_(b"TABLE")
    dump("table_index", rows["index"].astype("<i8"))
    dump("table_vb0", rows["values_block_0"].astype("<f4"))
    dump("table_vb1", rows["values_block_1"].astype("<f4"))
    man["samples"] = samples
    man["drugs"] = ["NSC.%d" % i for i in range(N)]
    man["fixed"] = [s.decode() for s in fixed]
    man["vlen"] = vl

with open(d + "/manifest.json", "w") as fp:
    json.dump(man, fp)
`

// TestReadH5py reads a file h5py wrote and compares every value bit for bit
// with numpy's own conversion, dumped as raw little-endian bytes.
func TestReadH5py(t *testing.T) {
	dir := t.TempDir()
	runPy(t, h5pyWriter, dir)
	var man struct {
		Samples, Drugs, Fixed, Vlen []string
	}
	readJSON(t, filepath.Join(dir, "manifest.json"), &man)
	defer checkAllClosed(t)
	f, err := Open(filepath.Join(dir, "in.h5"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	root, err := f.List("/")
	if err != nil {
		t.Fatal(err)
	}
	sameStrings(t, "List(/)", root, []string{"bigendian", "f64", "grp", "ints", "scalar", "special", "str", "x_train"})
	ints, err := f.List("/ints")
	if err != nil {
		t.Fatal(err)
	}
	sameStrings(t, "List(/ints)", ints, []string{"i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"})

	di, err := f.Info("/grp/sub/f32")
	if err != nil {
		t.Fatal(err)
	}
	if !sameInts(di.Shape, []int{37, 53}) || di.Type != Float32 || di.Size != 4 || !sameInts(di.Chunk, []int{8, 53}) || di.Gzip != 4 {
		t.Fatalf("Info(/grp/sub/f32) = %+v", di)
	}
	for _, c := range []struct {
		path string
		typ  Type
	}{{"f64", Float64}, {"ints/i1", Int8}, {"ints/u1", Uint8}, {"ints/i2", Int16}, {"ints/u2", Uint16}, {"ints/i4", Int32}, {"ints/u4", Uint32}, {"ints/i8", Int64}, {"ints/u8", Uint64}, {"str/fixed", String}, {"str/vlen", String}, {"x_train/table", Compound}} {
		di, err := f.Info(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if di.Type != c.typ {
			t.Errorf("Info(%s).Type = %s, want %s", c.path, di.Type, c.typ)
		}
	}

	// Whole datasets, converted from every numeric type.
	for _, name := range []string{"f32", "f64", "special", "bigendian", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"} {
		path := map[string]string{"f32": "grp/sub/f32", "f64": "/f64", "special": "special", "bigendian": "bigendian"}[name]
		if path == "" {
			path = "/ints/" + name
		}
		want := readF32(t, filepath.Join(dir, name+"_f32.bin"))
		got := make([]float32, len(want))
		if err := f.ReadFloat32(path, got); err != nil {
			t.Fatal(err)
		}
		sameBits(t, "ReadFloat32("+path+")", got, want)
		if strings.HasPrefix(path, "/ints/") {
			wantI := readI64(t, filepath.Join(dir, name+"_i64.bin"))
			gotI := make([]int64, len(wantI))
			if err := f.ReadInt64(path, gotI); err != nil {
				t.Fatal(err)
			}
			sameI64(t, "ReadInt64("+path+")", gotI, wantI)
			// Row ranges of integer datasets: rows 3..8 of 11×4.
			rows := make([]int64, 5*4)
			if err := f.ReadInt64Rows(path, 3, 5, rows); err != nil {
				t.Fatal(err)
			}
			sameI64(t, "ReadInt64Rows("+path+")", rows, wantI[3*4:8*4])
		}
	}
	var sc [1]float32
	if err := f.ReadFloat32("/scalar", sc[:]); err != nil || sc[0] != 2.5 {
		t.Fatalf("scalar = %v, %v", sc[0], err)
	}

	// Row ranges against the whole array, many random ranges.
	x := readF32(t, filepath.Join(dir, "f32_f32.bin"))
	rng := newRand(1)
	for range 200 {
		start := rng.IntN(38)
		count := rng.IntN(38 - start)
		dst := make([]float32, count*53)
		if err := f.ReadFloat32Rows("/grp/sub/f32", start, count, dst); err != nil {
			t.Fatal(err)
		}
		sameBits(t, "ReadFloat32Rows", dst, x[start*53:(start+count)*53])
	}

	// Strings.
	fixed, err := f.ReadStrings("/str/fixed")
	if err != nil {
		t.Fatal(err)
	}
	sameStrings(t, "fixed strings", fixed, man.Fixed)
	vlen, err := f.ReadStrings("/str/vlen")
	if err != nil {
		t.Fatal(err)
	}
	sameStrings(t, "vlen strings", vlen, man.Vlen)

	// Attributes.
	for _, c := range [][3]string{{"/grp", "vlen", "hello w\u00f6rld"}, {"/grp", "fixed", "fixed bytes"}, {"/", "root", "at the root"}, {"/grp/sub/f32", "units", "kelvin"}, {"/x_train/table", "CLASS", "TABLE"}} {
		got, err := f.Attr(c[0], c[1])
		if err != nil {
			t.Fatal(err)
		}
		if got != c[2] {
			t.Errorf("Attr(%s, %s) = %q, want %q", c[0], c[1], got, c[2])
		}
	}

	// Compound "table".
	ti, err := f.Info("/x_train/table")
	if err != nil {
		t.Fatal(err)
	}
	wantFields := []Field{{Name: "index", Type: Int64, Size: 8}, {Name: "values_block_0", Type: Float32, Dims: []int{6}, Size: 4},
		{Name: "values_block_1", Type: Float64, Dims: []int{2}, Size: 8}, {Name: "Sample", Type: String, Size: 30}, {Name: "Drug1", Type: String, Size: 10}}
	if len(ti.Fields) != len(wantFields) || !sameInts(ti.Shape, []int{101}) {
		t.Fatalf("Info(table) = %+v", ti)
	}
	for i, w := range wantFields {
		g := ti.Fields[i]
		if g.Name != w.Name || g.Type != w.Type || g.Size != w.Size || !sameInts(g.Dims, w.Dims) {
			t.Errorf("field %d = %+v, want %+v", i, g, w)
		}
	}
	idx := make([]int64, 101)
	if err := f.ReadFieldInt64("/x_train/table", "index", idx); err != nil {
		t.Fatal(err)
	}
	sameI64(t, "index", idx, readI64(t, filepath.Join(dir, "table_index.bin")))
	vb0 := readF32(t, filepath.Join(dir, "table_vb0.bin"))
	vb1 := readF32(t, filepath.Join(dir, "table_vb1.bin"))
	all := make([]float32, 101*6)
	if err := f.ReadFieldFloat32("/x_train/table", "values_block_0", all); err != nil {
		t.Fatal(err)
	}
	sameBits(t, "values_block_0", all, vb0)
	for range 50 {
		start := rng.IntN(102)
		count := rng.IntN(102 - start)
		dst := make([]float32, count*6)
		if err := f.ReadFieldFloat32Rows("/x_train/table", "values_block_0", start, count, dst); err != nil {
			t.Fatal(err)
		}
		sameBits(t, "values_block_0 rows", dst, vb0[start*6:(start+count)*6])
		d1 := make([]float32, count*2)
		if err := f.ReadFieldFloat32Rows("/x_train/table", "values_block_1", start, count, d1); err != nil {
			t.Fatal(err)
		}
		sameBits(t, "values_block_1 rows (f64→f32)", d1, vb1[start*2:(start+count)*2])
		s, err := f.ReadFieldStringRows("/x_train/table", "Sample", start, count)
		if err != nil {
			t.Fatal(err)
		}
		sameStrings(t, "Sample rows", s, man.Samples[start:start+count])
		ir := make([]int64, count)
		if err := f.ReadFieldInt64Rows("/x_train/table", "index", start, count, ir); err != nil {
			t.Fatal(err)
		}
		sameI64(t, "index rows", ir, idx[start:start+count])
	}
	drugs, err := f.ReadFieldStringRows("/x_train/table", "Drug1", 0, 101)
	if err != nil {
		t.Fatal(err)
	}
	sameStrings(t, "Drug1", drugs, man.Drugs)
	checkNoLeak(t, f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

const h5pyReader = `
import sys, json
import numpy as np
import h5py

d = sys.argv[1]
out = {}
with h5py.File(d + "/out.h5", "r") as f:
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            e = {"shape": list(obj.shape), "dtype": obj.dtype.str if obj.dtype.names is None else "compound",
                 "chunks": list(obj.chunks) if obj.chunks else None, "compression": obj.compression,
                 "level": obj.compression_opts if obj.compression == "gzip" else None}
            if obj.dtype.kind == "f":
                obj[()].astype("<f4").tofile(d + "/" + name.replace("/", "_") + ".bin")
            elif obj.dtype.kind in "iu":
                obj[()].astype("<i8").tofile(d + "/" + name.replace("/", "_") + ".bin")
            elif obj.dtype.kind == "S":
                e["strings"] = [s.decode() for s in obj[()].ravel()]
            elif obj.dtype.names is not None:
                v = obj[()]
                e["fields"] = [[n, obj.dtype[n].base.str, list(obj.dtype[n].shape)] for n in obj.dtype.names]
                for n in obj.dtype.names:
                    if v[n].dtype.kind == "S":
                        e[n] = [s.decode() for s in v[n]]
                    elif v[n].dtype.kind == "f":
                        v[n].astype("<f4").tofile(d + "/" + name.replace("/", "_") + "_" + n + ".bin")
                    else:
                        v[n].astype("<i8").tofile(d + "/" + name.replace("/", "_") + "_" + n + ".bin")
            e["attrs"] = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in obj.attrs.items()}
            out[name] = e
        else:
            out[name + "/"] = {"attrs": {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in obj.attrs.items()}}
    f.visititems(visit)
    out["/"] = {"attrs": {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}}
with open(d + "/read.json", "w") as fp:
    json.dump(out, fp)
`

type pyEntry struct {
	Shape       []int
	Dtype       string
	Chunks      []int
	Compression *string
	Level       *int
	Strings     []string
	Fields      [][]any
	Attrs       map[string]string
	Sample      []string
}

// TestWriteH5py writes datasets, attributes and a table, and checks what
// h5py reads back, bit for bit.
func TestWriteH5py(t *testing.T) {
	dir := t.TempDir()
	rng := newRand(7)
	x := randF32(rng, 45*33)
	x[0], x[1], x[2] = float32(math.Inf(1)), float32(math.NaN()), float32(math.Copysign(0, -1))
	ids := make([]int64, 3*4*5)
	for i := range ids {
		ids[i] = int64(rng.Uint64())
	}
	ids[0], ids[1] = math.MinInt64, math.MaxInt64
	strs := []string{"alpha", "", "a somewhat longer string", "z"}
	const K, N = 7, 53
	vb := randF32(rng, N*K)
	index := make([]int64, N)
	samples := make([]string, N)
	for i := range index {
		index[i] = int64(i % 20)
		samples[i] = "CCLE." + strings.Repeat("x", i%25)
	}

	func() {
		defer checkAllClosed(t)
		f, err := Create(filepath.Join(dir, "out.h5"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.WriteFloat32("/a/b/x", []int{45, 33}, x, WriteOptions{Chunk: []int{10, 33}, Gzip: 6, Shuffle: true}); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteFloat32("/plain", []int{3}, []float32{1, 2, 3}, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteFloat32("/auto", []int{45, 33}, x, WriteOptions{Gzip: 1}); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteInt64("/ids", []int{3, 4, 5}, ids, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteStrings("/names", []int{4}, strs, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := f.CreateGroup("/empty/group"); err != nil {
			t.Fatal(err)
		}
		if err := f.SetAttr("/a/b/x", "units", "kelvin"); err != nil {
			t.Fatal(err)
		}
		if err := f.SetAttr("/a/b/x", "units", "celsius"); err != nil { // replaces
			t.Fatal(err)
		}
		if err := f.SetAttr("/", "version", "v1 w\u00f6rld"); err != nil {
			t.Fatal(err)
		}
		if err := f.SetAttr("/empty", "blank", ""); err != nil {
			t.Fatal(err)
		}
		tb, err := f.CreateTable("/y_train", []Field{
			{Name: "index", Type: Int64},
			{Name: "values_block_0", Type: Float32, Dims: []int{K}},
			{Name: "Sample", Type: String, Size: 30},
		}, TableOptions{ChunkRows: 16, Gzip: 3})
		if err != nil {
			t.Fatal(err)
		}
		for lo := 0; lo < N; lo += 20 {
			hi := min(lo+20, N)
			if err := tb.Append(hi-lo, index[lo:hi], vb[lo*K:hi*K], samples[lo:hi]); err != nil {
				t.Fatal(err)
			}
		}
		if tb.Rows() != N {
			t.Fatalf("Rows() = %d, want %d", tb.Rows(), N)
		}
		// Our own reader sees the table while it is open.
		got := make([]float32, 3*K)
		if err := f.ReadFieldFloat32Rows("/y_train/table", "values_block_0", 30, 3, got); err != nil {
			t.Fatal(err)
		}
		sameBits(t, "own read of table", got, vb[30*K:33*K])
		if err := tb.Close(); err != nil {
			t.Fatal(err)
		}
		checkNoLeak(t, f)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}()

	runPy(t, h5pyReader, dir)
	var got map[string]pyEntry
	readJSON(t, filepath.Join(dir, "read.json"), &got)

	e := got["a/b/x"]
	if !sameInts(e.Shape, []int{45, 33}) || e.Dtype != "<f4" || !sameInts(e.Chunks, []int{10, 33}) || e.Compression == nil || *e.Compression != "gzip" || e.Level == nil || *e.Level != 6 {
		t.Fatalf("h5py sees a/b/x as %+v", e)
	}
	if e.Attrs["units"] != "celsius" {
		t.Errorf("h5py attr units = %q", e.Attrs["units"])
	}
	sameBits(t, "h5py a/b/x", readF32(t, filepath.Join(dir, "a_b_x.bin")), x)
	if e := got["auto"]; e.Chunks == nil || e.Compression == nil || *e.Compression != "gzip" {
		t.Errorf("h5py sees auto as %+v, want chunked gzip", e)
	}
	sameBits(t, "h5py auto", readF32(t, filepath.Join(dir, "auto.bin")), x)
	if e := got["plain"]; e.Chunks != nil || e.Compression != nil || e.Dtype != "<f4" {
		t.Errorf("h5py sees plain as %+v, want contiguous", e)
	}
	sameBits(t, "h5py plain", readF32(t, filepath.Join(dir, "plain.bin")), []float32{1, 2, 3})
	if e := got["ids"]; !sameInts(e.Shape, []int{3, 4, 5}) || e.Dtype != "<i8" {
		t.Errorf("h5py sees ids as %+v", e)
	}
	sameI64(t, "h5py ids", readI64(t, filepath.Join(dir, "ids.bin")), ids)
	if e := got["names"]; e.Dtype != "|S24" {
		t.Errorf("h5py sees names as dtype %s, want |S24", e.Dtype)
	}
	sameStrings(t, "h5py names", got["names"].Strings, strs)
	if _, ok := got["empty/group/"]; !ok {
		t.Errorf("h5py does not see group empty/group: %v", got)
	}
	if v := got["/"].Attrs["version"]; v != "v1 w\u00f6rld" {
		t.Errorf("h5py root attr version = %q", v)
	}
	if v, ok := got["empty/"].Attrs["blank"]; !ok || v != "" {
		t.Errorf("h5py attr blank = %q, %v", v, ok)
	}
	te := got["y_train/table"]
	if !sameInts(te.Shape, []int{N}) || !sameInts(te.Chunks, []int{16}) || te.Compression == nil || *te.Compression != "gzip" {
		t.Fatalf("h5py sees y_train/table as %+v", te)
	}
	if len(te.Fields) != 3 || te.Fields[0][0] != "index" || te.Fields[0][1] != "<i8" || te.Fields[1][0] != "values_block_0" || te.Fields[1][1] != "<f4" || te.Fields[2][1] != "|S30" {
		t.Errorf("h5py table fields %v", te.Fields)
	}
	sameI64(t, "h5py table index", readI64(t, filepath.Join(dir, "y_train_table_index.bin")), index)
	sameBits(t, "h5py table values_block_0", readF32(t, filepath.Join(dir, "y_train_table_values_block_0.bin")), vb)
	sameStrings(t, "h5py table Sample", te.Sample, samples)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
