package hdf5

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by the package wraps one of them and
// names the file and, where there is one, the key (dataset, group, field or
// attribute) it concerns.
var (
	// ErrNoHDF5 is returned by every function of a build without libhdf5
	// (no `hdf5` build tag, or CGO_ENABLED=0).
	ErrNoHDF5 = errors.New("hdf5: built without HDF5 support: install libhdf5-dev (Debian) and rebuild with -tags hdf5")
	// ErrNotFound: the file, group, dataset, compound field or attribute does not exist.
	ErrNotFound = errors.New("hdf5: not found")
	// ErrExists: a dataset, group or attribute to create already exists.
	ErrExists = errors.New("hdf5: already exists")
	// ErrNotHDF5: the file is not an HDF5 file, or is truncated or corrupt.
	ErrNotHDF5 = errors.New("hdf5: not a readable HDF5 file")
	// ErrType: the stored data type does not fit the call (strings read as
	// numbers, floats read as int64, a group read as a dataset, ...).
	ErrType = errors.New("hdf5: type mismatch")
	// ErrShape: wrong rank, row range outside the dataset, or a destination
	// or source slice whose length does not match the selection.
	ErrShape = errors.New("hdf5: shape mismatch")
	// ErrClosed: the File or Table was closed.
	ErrClosed = errors.New("hdf5: closed")
	// ErrArg: an invalid argument (negative count, bad chunk, gzip level, ...).
	ErrArg = errors.New("hdf5: invalid argument")
	// ErrLibrary: a libhdf5 call failed; the message carries libhdf5's own
	// description of the innermost error.
	ErrLibrary = errors.New("hdf5: library error")
)

// Type is the element type of a dataset or of a compound field.
type Type int

// Element types. Unknown covers what the package cannot read (enums,
// references, opaque, variable-length sequences of numbers, ...).
const (
	Unknown Type = iota
	Int8
	Uint8
	Int16
	Uint16
	Int32
	Uint32
	Int64
	Uint64
	Float32
	Float64
	String
	Compound
)

var typeNames = [...]string{"unknown", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string", "compound"}

// String returns the lower-case name of t ("float32", "string", ...).
func (t Type) String() string {
	if t < 0 || int(t) >= len(typeNames) {
		return fmt.Sprintf("Type(%d)", int(t))
	}
	return typeNames[t]
}

// IsNumeric reports whether t is an integer or floating-point type, that is,
// readable with ReadFloat32 (and, for integers, ReadInt64).
func (t Type) IsNumeric() bool { return t >= Int8 && t <= Float64 }

// IsInteger reports whether t is a signed or unsigned integer type.
func (t Type) IsInteger() bool { return t >= Int8 && t <= Uint64 }

// Field describes one member of a compound type. For a field that is a
// fixed-size array (pandas' values_block_0 f32[K]), Type is the element type
// and Dims the array dimensions; Dims is nil for a scalar member. Size is the
// byte size of one element (for fixed-length strings, the string length).
// VarLen marks a variable-length string.
type Field struct {
	Name   string
	Type   Type
	Dims   []int
	Size   int
	VarLen bool
}

// Elems returns the number of values one row of the field holds: the
// product of Dims, 1 for a scalar member.
func (fl Field) Elems() int {
	n := 1
	for _, d := range fl.Dims {
		n *= d
	}
	return n
}

// DatasetInfo describes a dataset: its shape (nil or empty for a scalar),
// element type, byte size of one element, whether strings are
// variable-length, compound fields, and the chunk shape and gzip level
// (0 when not compressed) it was stored with.
type DatasetInfo struct {
	Shape  []int
	Type   Type
	Size   int
	VarLen bool
	Fields []Field
	Chunk  []int
	Gzip   int
}

// Len returns the number of elements of the dataset: the product of Shape.
func (d DatasetInfo) Len() int {
	n := 1
	for _, s := range d.Shape {
		n *= s
	}
	return n
}

// Field returns the compound field named name.
func (d DatasetInfo) Field(name string) (Field, bool) {
	for _, fl := range d.Fields {
		if fl.Name == name {
			return fl, true
		}
	}
	return Field{}, false
}

// WriteOptions control how a dataset is stored. Chunk is the chunk shape
// (same rank as the dataset, each dimension in [1, dim]); nil means
// contiguous storage unless Gzip is set, in which case a chunk of whole
// trailing dimensions and about 1 MiB is chosen. Gzip is the deflate level,
// 0 (none) to 9. Shuffle adds the byte-shuffle filter before deflate.
type WriteOptions struct {
	Chunk   []int
	Gzip    int
	Shuffle bool
}

// TableOptions control a table created with CreateTable. ChunkRows is the
// number of rows per chunk (0: about 1 MiB per chunk); Gzip the deflate
// level, 0 to 9.
type TableOptions struct {
	ChunkRows int
	Gzip      int
}

// Available reports whether this build can read and write HDF5 files (built
// with the hdf5 tag and cgo). When false every call returns ErrNoHDF5.
func Available() bool { return available }

func (o WriteOptions) check(file, path string, shape []int) error {
	if o.Gzip < 0 || o.Gzip > 9 {
		return fmt.Errorf("%w: file %s, dataset %q: gzip level %d outside 0..9", ErrArg, file, path, o.Gzip)
	}
	if o.Chunk != nil {
		if len(o.Chunk) != len(shape) {
			return fmt.Errorf("%w: file %s, dataset %q: chunk %v has rank %d, shape %v has rank %d", ErrArg, file, path, o.Chunk, len(o.Chunk), shape, len(shape))
		}
		for i, c := range o.Chunk {
			if c < 1 || (shape[i] > 0 && c > shape[i]) {
				return fmt.Errorf("%w: file %s, dataset %q: chunk %v: dimension %d must be in [1, %d]", ErrArg, file, path, o.Chunk, i, max(shape[i], 1))
			}
		}
	}
	return nil
}

// chunkFor returns the chunk shape to use for shape under o: o.Chunk, or, for
// compressed data without one, whole trailing dimensions and as many leading
// rows as fit in about 1 MiB. It returns nil for contiguous storage.
func (o WriteOptions) chunkFor(shape []int, elemSize int) []int {
	if o.Chunk != nil {
		return o.Chunk
	}
	if (o.Gzip == 0 && !o.Shuffle) || len(shape) == 0 {
		return nil
	}
	c := make([]int, len(shape))
	budget := (1 << 20) / max(elemSize, 1)
	for i := len(shape) - 1; i >= 0; i-- {
		d := max(shape[i], 1)
		if d <= budget {
			c[i] = d
			budget /= d
		} else {
			c[i] = max(budget, 1)
			budget = 1
		}
	}
	return c
}

func checkShape(file, path string, shape []int, n int) error {
	want := 1
	for i, s := range shape {
		if s < 0 {
			return fmt.Errorf("%w: file %s, dataset %q: negative dimension %d in shape %v", ErrArg, file, path, i, shape)
		}
		want *= s
	}
	if want != n {
		return fmt.Errorf("%w: file %s, dataset %q: shape %v holds %d values, data has %d", ErrShape, file, path, shape, want, n)
	}
	if len(shape) > 32 {
		return fmt.Errorf("%w: file %s, dataset %q: rank %d above 32", ErrArg, file, path, len(shape))
	}
	return nil
}
