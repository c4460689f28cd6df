package uno

import (
	"context"
	"errors"
	"fmt"

	"github.com/scibench/scibench/pkg/hdf5"
)

// Reference feature widths (BENCHMARKS.md §4.1).
const (
	CellFeatures = 942  // x_*_0: cell.rnaseq
	DrugFeatures = 5270 // x_*_1: drug1.descriptors
)

// Splits are the partitions of the data file, in file order.
var Splits = []string{"train", "val", "test"}

// Sentinel errors; test with errors.Is.
var (
	// ErrData marks a data file that is missing, unreadable, or whose
	// keys, widths or row counts do not match the expected layout.
	ErrData = errors.New("uno: bad data file")
	// ErrNaN marks a NaN or infinite feature or target value.
	ErrNaN = errors.New("uno: NaN in data")
	// ErrConfig marks an invalid uno configuration.
	ErrConfig = errors.New("uno: invalid config")
)

// DataError reports bad input data: the file, the HDF5 key and, when the
// problem is tied to one, the 0-based row. Err is ErrData or ErrNaN, and
// the underlying hdf5 error when there is one.
type DataError struct {
	File string
	Key  string
	Row  int // -1 when not tied to a row
	Msg  string
	Err  error
}

func (e *DataError) Error() string {
	s := "uno: " + e.File
	if e.Key != "" {
		s += ": key " + e.Key
	}
	if e.Row >= 0 {
		s += fmt.Sprintf(", row %d", e.Row)
	}
	return s + ": " + e.Msg
}

// Unwrap returns the sentinel and the cause.
func (e *DataError) Unwrap() error { return e.Err }

// BadInput marks a DataError as bad input (exit code 2 in the CLI), also
// when it surfaces from a training step (stream mode).
func (e *DataError) BadInput() bool { return true }

func dataErr(file, key string, row int, err error, format string, args ...any) *DataError {
	return &DataError{File: file, Key: key, Row: row, Msg: fmt.Sprintf(format, args...), Err: err}
}

// File is an open candle-uno data file (pandas HDFStore, "table" format).
type File struct {
	f    *hdf5.File
	path string
}

// OpenFile opens the data file. Errors are *DataError naming the file
// (a build without HDF5 wraps hdf5.ErrNoHDF5 as well).
func OpenFile(path string) (*File, error) {
	f, err := hdf5.Open(path)
	if err != nil {
		return nil, &DataError{File: path, Row: -1, Msg: err.Error(), Err: errors.Join(ErrData, err)}
	}
	return &File{f: f, path: path}, nil
}

// Path returns the file name.
func (f *File) Path() string { return f.path }

// Close releases the file.
func (f *File) Close() error { return f.f.Close() }

// Partition is one split of the file: keys /x_<split>_0 (cell features),
// /x_<split>_1 (drug features) and /y_<split> (AUC, Sample, Drug1).
type Partition struct {
	f                    *File
	Split                string
	Rows                 int
	CellWidth, DrugWidth int
	cellKey, drugKey     string
	yKey                 string
	tables               [3]string // key + "/table", precomputed: reads allocate nothing
}

// Keys returns the pandas keys of the split: cell, drug and target frames.
func Keys(split string) (cell, drug, y string) {
	return "/x_" + split + "_0", "/x_" + split + "_1", "/y_" + split
}

// Partition checks and returns a split. cellWidth and drugWidth are the
// expected feature widths (0: accept what the file holds).
func (f *File) Partition(split string, cellWidth, drugWidth int) (*Partition, error) {
	p := &Partition{f: f, Split: split}
	p.cellKey, p.drugKey, p.yKey = Keys(split)
	var err error
	if p.CellWidth, p.Rows, err = f.block(p.cellKey, "values_block_0", cellWidth, -1); err != nil {
		return nil, err
	}
	if p.DrugWidth, _, err = f.block(p.drugKey, "values_block_0", drugWidth, p.Rows); err != nil {
		return nil, err
	}
	if _, _, err = f.block(p.yKey, "values_block_0", 1, p.Rows); err != nil {
		return nil, err
	}
	p.tables = [3]string{p.cellKey + "/table", p.drugKey + "/table", p.yKey + "/table"}
	return p, nil
}

// block checks key/table's float32 array field and returns its width and
// row count (which must equal rows when rows >= 0).
func (f *File) block(key, field string, width, rows int) (int, int, error) {
	info, err := f.f.Info(key + "/table")
	if err != nil {
		return 0, 0, dataErr(f.path, key, -1, errors.Join(ErrData, err), "missing or unreadable pandas table: %v", err)
	}
	if info.Type != hdf5.Compound || len(info.Shape) != 1 {
		return 0, 0, dataErr(f.path, key, -1, ErrData, "not a pandas table (type %s, shape %v)", info.Type, info.Shape)
	}
	fl, ok := info.Field(field)
	if !ok || !fl.Type.IsNumeric() || len(fl.Dims) > 1 {
		return 0, 0, dataErr(f.path, key, -1, ErrData, "no numeric field %s", field)
	}
	w := fl.Elems()
	if width > 0 && w != width {
		return 0, 0, dataErr(f.path, key, -1, ErrData, "wrong feature width %d, want %d", w, width)
	}
	if rows >= 0 && info.Shape[0] != rows {
		return 0, 0, dataErr(f.path, key, -1, ErrData, "%d rows, but the split's other frames have %d", info.Shape[0], rows)
	}
	return w, info.Shape[0], nil
}

// ReadRows reads rows [start, start+count) into cell (count·CellWidth),
// drug (count·DrugWidth) and auc (count) and rejects non-finite values.
// It allocates nothing.
func (p *Partition) ReadRows(start, count int, cell, drug, auc []float32) error {
	if start < 0 || count < 0 || start+count > p.Rows {
		return dataErr(p.f.path, p.cellKey, start, ErrData, "rows [%d, %d) outside %d rows", start, start+count, p.Rows)
	}
	if len(cell) != count*p.CellWidth || len(drug) != count*p.DrugWidth || len(auc) != count {
		return fmt.Errorf("%w: ReadRows buffers %d/%d/%d for %d rows", ErrConfig, len(cell), len(drug), len(auc), count)
	}
	for i, dst := range [3][]float32{cell, drug, auc} {
		if err := p.f.f.ReadFieldFloat32Rows(p.tables[i], "values_block_0", start, count, dst); err != nil {
			return dataErr(p.f.path, p.key(i), start, errors.Join(ErrData, err), "%v", err)
		}
		if j := firstNonFinite(dst); j >= 0 {
			w := len(dst) / max(1, count)
			return dataErr(p.f.path, p.key(i), start+j/w, ErrNaN, "non-finite value %v in column %d", dst[j], j%w)
		}
	}
	return nil
}

func (p *Partition) key(i int) string {
	return [3]string{p.cellKey, p.drugKey, p.yKey}[i]
}

// Names returns the Sample and Drug1 columns of rows [start, start+count).
func (p *Partition) Names(start, count int) (samples, drugs []string, err error) {
	samples, err = p.f.f.ReadFieldStringRows(p.yKey+"/table", "Sample", start, count)
	if err != nil {
		return nil, nil, dataErr(p.f.path, p.yKey, start, errors.Join(ErrData, err), "%v", err)
	}
	drugs, err = p.f.f.ReadFieldStringRows(p.yKey+"/table", "Drug1", start, count)
	if err != nil {
		return nil, nil, dataErr(p.f.path, p.yKey, start, errors.Join(ErrData, err), "%v", err)
	}
	return samples, drugs, nil
}

func firstNonFinite(v []float32) int {
	for i, x := range v {
		if x-x != 0 { // NaN or ±Inf
			return i
		}
	}
	return -1
}

// Block is a partition held in memory.
type Block struct {
	Rows                 int
	CellWidth, DrugWidth int
	Cell, Drug, AUC      []float32
}

// Load reads the whole partition in chunks of chunkRows (checking every
// value) and returns it in memory.
func (p *Partition) Load(ctx context.Context, chunkRows int) (*Block, error) {
	b := &Block{Rows: p.Rows, CellWidth: p.CellWidth, DrugWidth: p.DrugWidth,
		Cell: make([]float32, p.Rows*p.CellWidth), Drug: make([]float32, p.Rows*p.DrugWidth), AUC: make([]float32, p.Rows)}
	if err := p.scan(ctx, chunkRows, func(lo, n int) ([]float32, []float32, []float32) {
		return b.Cell[lo*p.CellWidth : (lo+n)*p.CellWidth], b.Drug[lo*p.DrugWidth : (lo+n)*p.DrugWidth], b.AUC[lo : lo+n]
	}); err != nil {
		return nil, err
	}
	return b, nil
}

// Check reads every row in chunks (without keeping them) and returns the
// first non-finite value or read error.
func (p *Partition) Check(ctx context.Context, chunkRows int) error {
	chunkRows = max(1, min(chunkRows, p.Rows))
	c := make([]float32, chunkRows*p.CellWidth)
	d := make([]float32, chunkRows*p.DrugWidth)
	a := make([]float32, chunkRows)
	return p.scan(ctx, chunkRows, func(_, n int) ([]float32, []float32, []float32) {
		return c[:n*p.CellWidth], d[:n*p.DrugWidth], a[:n]
	})
}

func (p *Partition) scan(ctx context.Context, chunkRows int, buf func(lo, n int) ([]float32, []float32, []float32)) error {
	chunkRows = max(1, chunkRows)
	for lo := 0; lo < p.Rows; lo += chunkRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(chunkRows, p.Rows-lo)
		c, d, a := buf(lo, n)
		if err := p.ReadRows(lo, n, c, d, a); err != nil {
			return err
		}
	}
	return nil
}

// ReadRows copies rows [start, start+count) of the block.
func (b *Block) ReadRows(start, count int, cell, drug, auc []float32) error {
	if start < 0 || count < 0 || start+count > b.Rows || len(cell) != count*b.CellWidth || len(drug) != count*b.DrugWidth || len(auc) != count {
		return fmt.Errorf("%w: rows [%d, %d) of %d into %d/%d/%d values", ErrConfig, start, start+count, b.Rows, len(cell), len(drug), len(auc))
	}
	copy(cell, b.Cell[start*b.CellWidth:])
	copy(drug, b.Drug[start*b.DrugWidth:])
	copy(auc, b.AUC[start:])
	return nil
}

// rowSource is a partition on disk or in memory.
type rowSource interface {
	ReadRows(start, count int, cell, drug, auc []float32) error
}

// stats of a target vector: mean and mean squared deviation (the MSE of
// the mean predictor).
func meanVar(y []float32) (mean, msd float64) {
	for _, v := range y {
		mean += float64(v)
	}
	mean /= float64(max(1, len(y)))
	for _, v := range y {
		d := float64(v) - mean
		msd += d * d
	}
	return mean, msd / float64(max(1, len(y)))
}
