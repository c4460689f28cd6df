//go:build hdf5 && cgo

package hdf5

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkReadRows reads one batch of rows (32 × 5270 float32, the uno
// drug-descriptor width) at a random offset from a 1024-row dataset stored
// four ways: contiguous, chunked (64 rows), chunked+gzip (warm chunk
// cache, and cold: reopened per read), and as the values_block_0 field of
// a pandas-style compound table.
func BenchmarkReadRows(b *testing.B) {
	const rows, width, batch = 1024, 5270, 32
	path := filepath.Join(b.TempDir(), "bench.h5")
	f, err := Create(path)
	if err != nil {
		b.Fatal(err)
	}
	x := randF32(newRand(1), rows*width)
	must(b, f.WriteFloat32("/contiguous", []int{rows, width}, x, WriteOptions{}))
	must(b, f.WriteFloat32("/chunked", []int{rows, width}, x, WriteOptions{Chunk: []int{64, width}}))
	must(b, f.WriteFloat32("/gzip", []int{rows, width}, x, WriteOptions{Chunk: []int{64, width}, Gzip: 4, Shuffle: true}))
	tb, err := f.CreateTable("/table", []Field{{Name: "index", Type: Int64}, {Name: "values_block_0", Type: Float32, Dims: []int{width}}}, TableOptions{ChunkRows: 64})
	must(b, err)
	must(b, tb.Append(rows, make([]int64, rows), x))
	must(b, f.Close())

	f, err = Open(path)
	must(b, err)
	defer f.Close()
	dst := make([]float32, batch*width)
	starts := make([]int, 256)
	rng := newRand(2)
	for i := range starts {
		starts[i] = rng.IntN(rows - batch + 1)
	}
	// Cold: a fresh Open per read, so the chunks are inflated every time
	// (the file itself stays in the page cache).
	b.Run(fmt.Sprintf("layout=gzip-cold/rows=%d/width=%d", batch, width), func(b *testing.B) {
		b.SetBytes(batch * width * 4)
		i := 0
		for b.Loop() {
			g, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			err = g.ReadFloat32Rows("/gzip", starts[i%len(starts)], batch, dst)
			i++
			if cerr := g.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, name := range []string{"contiguous", "chunked", "gzip", "table"} {
		dpath := "/" + name
		b.Run(fmt.Sprintf("layout=%s/rows=%d/width=%d", name, batch, width), func(b *testing.B) {
			b.SetBytes(batch * width * 4)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := starts[i%len(starts)]
				i++
				var err error
				if name == "table" {
					err = f.ReadFieldFloat32Rows("/table/table", "values_block_0", s, batch, dst)
				} else {
					err = f.ReadFloat32Rows(dpath, s, batch, dst)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
