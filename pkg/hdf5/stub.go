//go:build !hdf5 || !cgo

package hdf5

import "fmt"

// This build has no libhdf5 (no hdf5 tag or CGO_ENABLED=0): the API is the
// same and every call returns ErrNoHDF5. See file.go for the documentation
// of each method.

const available = false

func noHDF5(op, path string) error { return fmt.Errorf("%w (%s %s)", ErrNoHDF5, op, path) }

// File is an open HDF5 file; in this build no file can be opened.
type File struct{ name string }

// Table appends rows to a pandas-style compound table; unavailable here.
type Table struct{ path string }

// Open returns ErrNoHDF5.
func Open(path string) (*File, error) { return nil, noHDF5("open", path) }

// OpenRW returns ErrNoHDF5.
func OpenRW(path string) (*File, error) { return nil, noHDF5("open", path) }

// Create returns ErrNoHDF5.
func Create(path string) (*File, error) { return nil, noHDF5("create", path) }

// Name returns the file name.
func (f *File) Name() string { return f.name }

// Close returns nil.
func (f *File) Close() error { return nil }

// List returns ErrNoHDF5.
func (f *File) List(group string) ([]string, error) { return nil, noHDF5("list", group) }

// IsGroup returns ErrNoHDF5.
func (f *File) IsGroup(path string) (bool, error) { return false, noHDF5("is group", path) }

// Exists returns ErrNoHDF5.
func (f *File) Exists(path string) (bool, error) { return false, noHDF5("exists", path) }

// CreateGroup returns ErrNoHDF5.
func (f *File) CreateGroup(path string) error { return noHDF5("create group", path) }

// Info returns ErrNoHDF5.
func (f *File) Info(path string) (DatasetInfo, error) { return DatasetInfo{}, noHDF5("info", path) }

// ReadFloat32 returns ErrNoHDF5.
func (f *File) ReadFloat32(path string, dst []float32) error { return noHDF5("read", path) }

// ReadFloat32Rows returns ErrNoHDF5.
func (f *File) ReadFloat32Rows(path string, start, count int, dst []float32) error {
	return noHDF5("read", path)
}

// ReadInt64 returns ErrNoHDF5.
func (f *File) ReadInt64(path string, dst []int64) error { return noHDF5("read", path) }

// ReadInt64Rows returns ErrNoHDF5.
func (f *File) ReadInt64Rows(path string, start, count int, dst []int64) error {
	return noHDF5("read", path)
}

// ReadFieldFloat32Rows returns ErrNoHDF5.
func (f *File) ReadFieldFloat32Rows(path, field string, start, count int, dst []float32) error {
	return noHDF5("read", path)
}

// ReadFieldFloat32 returns ErrNoHDF5.
func (f *File) ReadFieldFloat32(path, field string, dst []float32) error { return noHDF5("read", path) }

// ReadFieldInt64Rows returns ErrNoHDF5.
func (f *File) ReadFieldInt64Rows(path, field string, start, count int, dst []int64) error {
	return noHDF5("read", path)
}

// ReadFieldInt64 returns ErrNoHDF5.
func (f *File) ReadFieldInt64(path, field string, dst []int64) error { return noHDF5("read", path) }

// ReadFieldStringRows returns ErrNoHDF5.
func (f *File) ReadFieldStringRows(path, field string, start, count int) ([]string, error) {
	return nil, noHDF5("read", path)
}

// ReadStrings returns ErrNoHDF5.
func (f *File) ReadStrings(path string) ([]string, error) { return nil, noHDF5("read", path) }

// WriteFloat32 returns ErrNoHDF5.
func (f *File) WriteFloat32(path string, shape []int, data []float32, opt WriteOptions) error {
	return noHDF5("write", path)
}

// WriteInt64 returns ErrNoHDF5.
func (f *File) WriteInt64(path string, shape []int, data []int64, opt WriteOptions) error {
	return noHDF5("write", path)
}

// WriteStrings returns ErrNoHDF5.
func (f *File) WriteStrings(path string, shape []int, data []string, opt WriteOptions) error {
	return noHDF5("write", path)
}

// Attr returns ErrNoHDF5.
func (f *File) Attr(path, name string) (string, error) { return "", noHDF5("read attribute", path) }

// SetAttr returns ErrNoHDF5.
func (f *File) SetAttr(path, name, value string) error { return noHDF5("write attribute", path) }

// CreateTable returns ErrNoHDF5.
func (f *File) CreateTable(path string, fields []Field, opt TableOptions) (*Table, error) {
	return nil, noHDF5("create table", path)
}

// Path returns the dataset path.
func (t *Table) Path() string { return t.path }

// Rows returns 0.
func (t *Table) Rows() int { return 0 }

// Append returns ErrNoHDF5.
func (t *Table) Append(n int, cols ...any) error { return noHDF5("append", t.path) }

// Close returns nil.
func (t *Table) Close() error { return nil }
