//go:build hdf5 && cgo

package hdf5_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/scibench/scibench/pkg/hdf5"
)

// Write a compressed dataset and a pandas-style table, then read a row
// range of each.
func Example() {
	dir, err := os.MkdirTemp("", "hdf5example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "example.h5")

	f, err := hdf5.Create(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := make([]float32, 6*4)
	for i := range x {
		x[i] = float32(i)
	}
	if err := f.WriteFloat32("/data/x", []int{6, 4}, x, hdf5.WriteOptions{Gzip: 4}); err != nil {
		fmt.Println(err)
		return
	}
	t, err := f.CreateTable("/y", []hdf5.Field{
		{Name: "index", Type: hdf5.Int64},
		{Name: "values_block_0", Type: hdf5.Float32, Dims: []int{1}},
		{Name: "Sample", Type: hdf5.String, Size: 30},
	}, hdf5.TableOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := t.Append(3, []int64{0, 1, 2}, []float32{0.5, 0.25, 0.125}, []string{"CCLE.A", "CCLE.B", "NCI60.C"}); err != nil {
		fmt.Println(err)
		return
	}
	if err := f.Close(); err != nil {
		fmt.Println(err)
		return
	}

	f, err = hdf5.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	info, _ := f.Info("/data/x")
	rows := make([]float32, 2*4)
	if err := f.ReadFloat32Rows("/data/x", 2, 2, rows); err != nil {
		fmt.Println(err)
		return
	}
	auc := make([]float32, 2)
	if err := f.ReadFieldFloat32Rows("/y/table", "values_block_0", 1, 2, auc); err != nil {
		fmt.Println(err)
		return
	}
	samples, _ := f.ReadFieldStringRows("/y/table", "Sample", 1, 2)
	fmt.Println(info.Shape, info.Type, info.Gzip, rows)
	fmt.Println(auc, samples)
	err = f.ReadFloat32("/data/missing", rows)
	fmt.Println(err != nil)
	// Output:
	// [6 4] float32 4 [8 9 10 11 12 13 14 15]
	// [0.25 0.125] [CCLE.B NCI60.C]
	// true
}
