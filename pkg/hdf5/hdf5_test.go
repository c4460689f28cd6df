//go:build hdf5 && cgo

package hdf5

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

func randF32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// fixture writes a small file with every kind of object the error tests
// need and returns its path.
func fixture(t testing.TB) (string, []float32) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fixture.h5")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x := randF32(newRand(3), 40*16)
	must(t, f.WriteFloat32("/data/x", []int{40, 16}, x, WriteOptions{Chunk: []int{8, 16}, Gzip: 1}))
	must(t, f.WriteFloat32("/data/scalar", nil, []float32{4}, WriteOptions{}))
	must(t, f.WriteStrings("/data/names", []int{2}, []string{"a", "b"}, WriteOptions{}))
	must(t, f.WriteInt64("/data/ids", []int{4}, []int64{1, 2, 3, 4}, WriteOptions{}))
	tb, err := f.CreateTable("/tbl", []Field{{Name: "index", Type: Int64}, {Name: "v", Type: Float32, Dims: []int{3}}, {Name: "s", Type: String, Size: 4}}, TableOptions{})
	must(t, err)
	must(t, tb.Append(2, []int64{0, 1}, []float32{1, 2, 3, 4, 5, 6}, []string{"ab", "cd"}))
	must(t, f.Close())
	return path, x
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks err wraps sentinel and its message names every part.
func wantErr(t *testing.T, what string, err, sentinel error, parts ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: err = %v, want %v", what, err, sentinel)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: message %q does not name %q", what, err, p)
		}
	}
}

func TestErrors(t *testing.T) {
	path, _ := fixture(t)
	defer checkAllClosed(t)
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.h5")
	_, err := Open(missing)
	wantErr(t, "open missing file", err, ErrNotFound, missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open missing file: %v does not wrap fs.ErrNotExist", err)
	}

	text := filepath.Join(dir, "text.h5")
	must(t, os.WriteFile(text, []byte("this is not hdf5\n"), 0o644))
	_, err = Open(text)
	wantErr(t, "open text file", err, ErrNotHDF5, text)

	// Truncated: a large dataset cut in half.
	big := filepath.Join(dir, "big.h5")
	bf, err := Create(big)
	must(t, err)
	must(t, bf.WriteFloat32("/x", []int{1 << 16}, make([]float32, 1<<16), WriteOptions{}))
	must(t, bf.Close())
	st, err := os.Stat(big)
	must(t, err)
	must(t, os.Truncate(big, st.Size()/2))
	_, err = Open(big)
	wantErr(t, "open truncated file", err, ErrNotHDF5, big, "truncated")

	f, err := Open(path)
	must(t, err)
	defer f.Close()
	buf := make([]float32, 40*16)
	i64 := make([]int64, 4)

	wantErr(t, "missing key", f.ReadFloat32("/data/nope", buf), ErrNotFound, path, `"/data/nope"`)
	wantErr(t, "missing parent", f.ReadFloat32("/nope/deeper/x", buf), ErrNotFound, path, `"/nope/deeper/x"`)
	wantErr(t, "path through a dataset", f.ReadFloat32("/data/x/y", buf), ErrNotFound, path, `"/data/x/y"`)
	_, err = f.Info("/data/nope")
	wantErr(t, "info missing", err, ErrNotFound, path, "/data/nope")
	_, err = f.List("/nope")
	wantErr(t, "list missing", err, ErrNotFound, path, "/nope")
	_, err = f.List("/data/x")
	wantErr(t, "list dataset", err, ErrType, path, "/data/x")
	wantErr(t, "group as dataset", f.ReadFloat32("/data", buf), ErrType, path, `"/data"`)

	wantErr(t, "rows of scalar", f.ReadFloat32Rows("/data/scalar", 0, 1, buf[:1]), ErrShape, path, "/data/scalar", "rank 0")
	wantErr(t, "rows out of range", f.ReadFloat32Rows("/data/x", 30, 11, buf[:11*16]), ErrShape, path, "/data/x", "[30, 41)", "[40 16]")
	wantErr(t, "negative start", f.ReadFloat32Rows("/data/x", -1, 1, buf[:16]), ErrArg, path, "/data/x")
	wantErr(t, "dst too short", f.ReadFloat32Rows("/data/x", 0, 2, buf[:31]), ErrShape, path, "/data/x", "holds 31 values, the selection 32 values")
	wantErr(t, "dst wrong whole", f.ReadFloat32("/data/x", buf[:10]), ErrShape, path, "/data/x", "the selection 640 values")

	wantErr(t, "strings as float", f.ReadFloat32("/data/names", buf[:2]), ErrType, path, "/data/names", "string")
	wantErr(t, "float as int64", f.ReadInt64("/data/x", make([]int64, 640)), ErrType, path, "/data/x", "float32")
	_, err = f.ReadStrings("/data/x")
	wantErr(t, "float as strings", err, ErrType, path, "/data/x")
	wantErr(t, "compound as float", f.ReadFloat32("/tbl/table", buf[:2]), ErrType, path, "/tbl/table")
	wantErr(t, "field of plain dataset", f.ReadFieldFloat32Rows("/data/x", "v", 0, 1, buf[:3]), ErrType, path, "/data/x", `"v"`)
	wantErr(t, "missing field", f.ReadFieldFloat32Rows("/tbl/table", "nope", 0, 1, buf[:3]), ErrNotFound, path, "/tbl/table", `"nope"`)
	wantErr(t, "string field as float", f.ReadFieldFloat32Rows("/tbl/table", "s", 0, 1, buf[:4]), ErrType, path, `"s"`)
	wantErr(t, "float field as int64", f.ReadFieldInt64Rows("/tbl/table", "v", 0, 1, i64[:3]), ErrType, path, `"v"`)
	wantErr(t, "field rows out of range", f.ReadFieldFloat32Rows("/tbl/table", "v", 1, 2, buf[:6]), ErrShape, path, `"v"`)
	wantErr(t, "field dst size", f.ReadFieldFloat32Rows("/tbl/table", "v", 0, 2, buf[:5]), ErrShape, path, `"v"`, "the selection 6 values")
	_, err = f.ReadFieldStringRows("/tbl/table", "v", 0, 1)
	wantErr(t, "float field as strings", err, ErrType, path, `"v"`)
	_, err = f.ReadFieldStringRows("/tbl/table", "nope", 0, 1)
	wantErr(t, "missing string field", err, ErrNotFound, path, `"nope"`)

	_, err = f.Attr("/data/x", "nope")
	wantErr(t, "missing attribute", err, ErrNotFound, path, "/data/x", `"nope"`)
	_, err = f.Attr("/nope", "a")
	wantErr(t, "attribute of missing object", err, ErrNotFound, path, "/nope")
	wantErr(t, "write to read-only", f.WriteFloat32("/new", []int{1}, []float32{1}, WriteOptions{}), ErrLibrary, path, "/new")
	checkNoLeak(t, f)
	must(t, f.Close())
	must(t, f.Close()) // idempotent
	wantErr(t, "closed", f.ReadFloat32("/data/x", buf), ErrClosed, path)

	w, err := OpenRW(path)
	must(t, err)
	defer w.Close()
	wantErr(t, "exists", w.WriteFloat32("/data/x", []int{1}, []float32{1}, WriteOptions{}), ErrExists, path, "/data/x")
	wantErr(t, "shape/data mismatch", w.WriteFloat32("/y", []int{2, 2}, []float32{1}, WriteOptions{}), ErrShape, path, "/y")
	wantErr(t, "bad chunk", w.WriteFloat32("/y", []int{2, 2}, make([]float32, 4), WriteOptions{Chunk: []int{3, 1}}), ErrArg, path, "/y")
	wantErr(t, "group over dataset", w.CreateGroup("/data/x"), ErrExists, path, "/data/x")
	_, err = w.CreateTable("/tbl", []Field{{Name: "a", Type: Int64}}, TableOptions{})
	wantErr(t, "table exists", err, ErrExists, path, "/tbl/table")
	_, err = w.CreateTable("/t2", []Field{{Name: "a", Type: Float64}}, TableOptions{})
	wantErr(t, "table bad type", err, ErrArg, path, `"a"`)
	tb, err := w.CreateTable("/t3", []Field{{Name: "a", Type: Int64}, {Name: "s", Type: String, Size: 2}}, TableOptions{})
	must(t, err)
	wantErr(t, "append wrong column type", tb.Append(1, []float32{1}, []string{"x"}), ErrType, path, `"a"`)
	wantErr(t, "append short column", tb.Append(2, []int64{1}, []string{"x", "y"}), ErrShape, path, `"a"`)
	wantErr(t, "append long string", tb.Append(1, []int64{1}, []string{"xyz"}), ErrArg, path, `"s"`)
	must(t, tb.Append(1, []int64{1}, []string{"xy"}))
	must(t, tb.Close())
	wantErr(t, "append after close", tb.Append(1, []int64{1}, []string{"x"}), ErrClosed, path)
	// A table left open is closed with its file.
	_, err = w.CreateTable("/t4", []Field{{Name: "a", Type: Int64}}, TableOptions{})
	must(t, err)
	must(t, w.Close())
}

// TestQuietStderr checks libhdf5 prints nothing on errors: its automatic
// error-stack printing is switched off.
func TestQuietStderr(t *testing.T) {
	path, _ := fixture(t)
	r, wp, err := os.Pipe()
	must(t, err)
	saved, err := syscall.Dup(2)
	must(t, err)
	must(t, syscall.Dup2(int(wp.Fd()), 2))
	func() {
		defer func() {
			syscall.Dup2(saved, 2)
			syscall.Close(saved)
			wp.Close()
		}()
		_, _ = Open(filepath.Join(t.TempDir(), "missing.h5"))
		f, err := Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		_ = f.ReadFloat32("/nope/x", nil)
		_ = f.ReadFloat32("/data", nil)
		_ = f.ReadFieldFloat32Rows("/tbl/table", "nope", 0, 1, nil)
		_, _ = f.Attr("/data/x", "nope")
		_ = f.WriteFloat32("/new", []int{1}, []float32{1}, WriteOptions{})
	}()
	out, err := io.ReadAll(r)
	must(t, err)
	r.Close()
	if len(out) != 0 {
		t.Fatalf("libhdf5 wrote to stderr:\n%s", out)
	}
}

// TestConcurrentReads reads random row ranges from several goroutines (the
// package mutex serialises libhdf5) and compares with the whole array.
func TestConcurrentReads(t *testing.T) {
	path, x := fixture(t)
	defer checkAllClosed(t)
	f, err := Open(path)
	must(t, err)
	defer f.Close()
	g, err := Open(path) // a second handle on the same file
	must(t, err)
	defer g.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := f
			if w%2 == 1 {
				h = g
			}
			rng := newRand(uint64(w))
			dst := make([]float32, 40*16)
			for range 100 {
				start := rng.IntN(41)
				count := rng.IntN(41 - start)
				if err := h.ReadFloat32Rows("/data/x", start, count, dst[:count*16]); err != nil {
					errs <- err
					return
				}
				for i, v := range dst[:count*16] {
					if v != x[start*16+i] {
						errs <- errors.New("concurrent read returned wrong values")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Both handles share one underlying file, so count after closing g.
	must(t, g.Close())
	checkNoLeak(t, f)
}

// TestReadRowsAllocs proves the hyperslab read allocates nothing on the Go
// heap in steady state.
func TestReadRowsAllocs(t *testing.T) {
	path, _ := fixture(t)
	f, err := Open(path)
	must(t, err)
	defer f.Close()
	dst := make([]float32, 8*16)
	fdst := make([]float32, 3)
	allocs := testing.AllocsPerRun(100, func() {
		if err := f.ReadFloat32Rows("/data/x", 5, 8, dst); err != nil {
			t.Fatal(err)
		}
		if err := f.ReadFieldFloat32Rows("/tbl/table", "v", 1, 1, fdst); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadFloat32Rows + ReadFieldFloat32Rows: %v allocs per run, want 0", allocs)
	}
}

// TestTableBlocks reads a table whose records (5270 float32 + index, the
// uno drug-descriptor row) span several of the raw reader's 4 MiB blocks,
// whole and by random row ranges, against the appended values.
func TestTableBlocks(t *testing.T) {
	const K, N = 5270, 500
	path := filepath.Join(t.TempDir(), "blocks.h5")
	defer checkAllClosed(t)
	f, err := Create(path)
	must(t, err)
	defer f.Close()
	rng := newRand(11)
	x := randF32(rng, N*K)
	idx := make([]int64, N)
	names := make([]string, N)
	for i := range idx {
		idx[i] = int64(i) * 3
		names[i] = strings.Repeat("n", i%9)
	}
	tb, err := f.CreateTable("/x", []Field{{Name: "index", Type: Int64}, {Name: "values_block_0", Type: Float32, Dims: []int{K}}, {Name: "Sample", Type: String, Size: 8}}, TableOptions{ChunkRows: 64, Gzip: 1})
	must(t, err)
	for lo := 0; lo < N; lo += 170 {
		hi := min(lo+170, N)
		must(t, tb.Append(hi-lo, idx[lo:hi], x[lo*K:hi*K], names[lo:hi]))
	}
	must(t, tb.Close())
	all := make([]float32, N*K)
	must(t, f.ReadFieldFloat32("/x/table", "values_block_0", all))
	sameBits(t, "whole field", all, x)
	gi := make([]int64, N)
	must(t, f.ReadFieldInt64("/x/table", "index", gi))
	sameI64(t, "index", gi, idx)
	for range 20 {
		start := rng.IntN(N + 1)
		count := rng.IntN(N - start + 1)
		dst := make([]float32, count*K)
		must(t, f.ReadFieldFloat32Rows("/x/table", "values_block_0", start, count, dst))
		sameBits(t, "field rows", dst, x[start*K:(start+count)*K])
		s, err := f.ReadFieldStringRows("/x/table", "Sample", start, count)
		must(t, err)
		sameStrings(t, "string rows", s, names[start:start+count])
	}
	checkNoLeak(t, f)
}

// TestAppendAfterRead appends to a table whose dataset the File already
// holds open for reading (the handle cache): the reader sees the new rows.
func TestAppendAfterRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "append.h5")
	defer checkAllClosed(t)
	f, err := Create(path)
	must(t, err)
	defer f.Close()
	tb, err := f.CreateTable("/t", []Field{{Name: "v", Type: Float32, Dims: []int{2}}}, TableOptions{ChunkRows: 4})
	must(t, err)
	must(t, tb.Append(3, []float32{1, 2, 3, 4, 5, 6}))
	got := make([]float32, 6)
	must(t, f.ReadFieldFloat32("/t/table", "v", got))
	sameBits(t, "first rows", got, []float32{1, 2, 3, 4, 5, 6})
	must(t, tb.Append(2, []float32{7, 8, 9, 10}))
	di, err := f.Info("/t/table")
	must(t, err)
	if !sameInts(di.Shape, []int{5}) {
		t.Fatalf("shape after append = %v, want [5]", di.Shape)
	}
	got = make([]float32, 4)
	must(t, f.ReadFieldFloat32Rows("/t/table", "v", 3, 2, got))
	sameBits(t, "appended rows", got, []float32{7, 8, 9, 10})
	must(t, f.Close())
}
