//go:build hdf5 && cgo

package hdf5

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unsafe"
)

// Table appends rows to a compound dataset laid out like a pandas
// HDFStore "table": group path holding a rank-1, chunked, extendible
// compound dataset path/table. Read it back with the ReadField* methods on
// path + "/table". A Table is closed by Close or by closing its File. Append
// reuses a packing buffer: one goroutine at a time may append to a Table.
type Table struct {
	f       *File
	path    string // the dataset: group + "/table"
	fields  []Field
	offsets []int
	rowSize int
	id      C.hid_t
	mtype   C.hid_t
	rows    int
	buf     []byte
}

// CreateTable creates group path and the compound dataset path/table with
// the given fields, stored packed little-endian: Int64 and Float32 fields
// (Dims nil for a scalar, e.g. pandas' index; Dims [K] for an array member,
// e.g. values_block_0 f32[K]) and fixed-length String fields of Size bytes
// (numpy "S<Size>"). The dataset starts empty; add rows with Append.
func (f *File) CreateTable(path string, fields []Field, opt TableOptions) (*Table, error) {
	dpath := strings.TrimRight(path, "/") + "/table"
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: create table: file %s, table %q: no fields", ErrArg, f.name, dpath)
	}
	if opt.Gzip < 0 || opt.Gzip > 9 || opt.ChunkRows < 0 {
		return nil, fmt.Errorf("%w: create table: file %s, table %q: gzip %d (0..9), chunk rows %d (>= 0)", ErrArg, f.name, dpath, opt.Gzip, opt.ChunkRows)
	}
	t := &Table{f: f, path: dpath, id: -1, mtype: -1}
	seen := map[string]bool{}
	for i, fl := range fields {
		if err := checkName(f.name, "field", fl.Name); err != nil {
			return nil, err
		}
		if seen[fl.Name] {
			return nil, fmt.Errorf("%w: create table: file %s, table %q: field %q twice", ErrArg, f.name, dpath, fl.Name)
		}
		seen[fl.Name] = true
		var size int
		switch fl.Type {
		case Int64:
			size = 8
		case Float32:
			size = 4
		case String:
			if fl.Size < 1 || fl.Dims != nil {
				return nil, fmt.Errorf("%w: create table: file %s, table %q: string field %q needs Size >= 1 and no Dims", ErrArg, f.name, dpath, fl.Name)
			}
			size = fl.Size
		default:
			return nil, fmt.Errorf("%w: create table: file %s, table %q: field %d %q: type %s (want int64, float32 or string)", ErrArg, f.name, dpath, i, fl.Name, fl.Type)
		}
		if fl.Type != String {
			fl.Size = size
		}
		for _, d := range fl.Dims {
			if d < 1 {
				return nil, fmt.Errorf("%w: create table: file %s, table %q: field %q dims %v", ErrArg, f.name, dpath, fl.Name, fl.Dims)
			}
		}
		fl.Dims = append([]int(nil), fl.Dims...)
		if len(fl.Dims) == 0 {
			fl.Dims = nil
		}
		t.fields = append(t.fields, fl)
		t.offsets = append(t.offsets, t.rowSize)
		t.rowSize += size * fl.Elems()
	}
	chunk := opt.ChunkRows
	if chunk == 0 {
		chunk = max(1, (1<<20)/t.rowSize)
	}
	if err := f.begin(); err != nil {
		return nil, err
	}
	defer unlock()
	cp := C.CString(dpath)
	defer C.free(unsafe.Pointer(cp))
	if f.exists(cp) {
		return nil, fmt.Errorf("%w: create table: file %s, dataset %q", ErrExists, f.name, dpath)
	}
	ct, err := t.compoundType()
	if err != nil {
		return nil, err
	}
	d := C.sb_create_table(f.id, cp, ct, C.longlong(chunk), C.int(opt.Gzip))
	if d < 0 {
		C.H5Tclose(ct)
		return nil, fmt.Errorf("%w: create table: file %s, dataset %q: %s", ErrLibrary, f.name, dpath, lastError())
	}
	t.id, t.mtype = d, ct
	f.tables = append(f.tables, t)
	return t, nil
}

// compoundType builds the packed little-endian compound type (mu held).
func (t *Table) compoundType() (C.hid_t, error) {
	ct := C.H5Tcreate(C.H5T_COMPOUND, C.size_t(t.rowSize))
	if ct < 0 {
		return -1, fmt.Errorf("%w: create table: file %s, dataset %q: %s", ErrLibrary, t.f.name, t.path, lastError())
	}
	for i, fl := range t.fields {
		var base C.hid_t
		switch fl.Type {
		case Int64:
			base = C.H5Tcopy(C.sb_i64le())
		case Float32:
			base = C.H5Tcopy(C.sb_f32le())
		default:
			base = strType(fl.Size, false)
		}
		mt := base
		if fl.Dims != nil {
			dims := make([]C.hsize_t, len(fl.Dims))
			for j, d := range fl.Dims {
				dims[j] = C.hsize_t(d)
			}
			mt = C.H5Tarray_create2(base, C.uint(len(dims)), &dims[0])
			C.H5Tclose(base)
		}
		cn := C.CString(fl.Name)
		rc := C.H5Tinsert(ct, cn, C.size_t(t.offsets[i]), mt)
		C.free(unsafe.Pointer(cn))
		C.H5Tclose(mt)
		if rc < 0 {
			C.H5Tclose(ct)
			return -1, fmt.Errorf("%w: create table: file %s, dataset %q, field %q: %s", ErrLibrary, t.f.name, t.path, fl.Name, lastError())
		}
	}
	return ct, nil
}

// Path returns the dataset path (group + "/table").
func (t *Table) Path() string { return t.path }

// Rows returns the number of rows appended so far.
func (t *Table) Rows() int { return t.rows }

// Append adds n rows. cols holds one slice per field, in field order:
// []int64 or []float32 with n·Elems values (row-major) for numeric fields,
// []string with n values of at most Size bytes for string fields. The
// internal packing buffer is reused between calls.
func (t *Table) Append(n int, cols ...any) error {
	where := fmt.Sprintf("file %s, table %q", t.f.name, t.path)
	if n < 0 {
		return fmt.Errorf("%w: append: %s: %d rows", ErrArg, where, n)
	}
	if len(cols) != len(t.fields) {
		return fmt.Errorf("%w: append: %s: %d columns for %d fields", ErrArg, where, len(cols), len(t.fields))
	}
	if n == 0 {
		return nil
	}
	need := n * t.rowSize
	if cap(t.buf) < need {
		t.buf = make([]byte, need)
	}
	buf := t.buf[:need]
	for i, fl := range t.fields {
		k := fl.Elems()
		off := t.offsets[i]
		switch c := cols[i].(type) {
		case []int64:
			if fl.Type != Int64 {
				return t.colErr(where, fl, c)
			}
			if len(c) != n*k {
				return fmt.Errorf("%w: append: %s, field %q: %d values for %d rows of %d", ErrShape, where, fl.Name, len(c), n, k)
			}
			for r := range n {
				p := buf[r*t.rowSize+off:]
				for j := range k {
					binary.LittleEndian.PutUint64(p[8*j:], uint64(c[r*k+j]))
				}
			}
		case []float32:
			if fl.Type != Float32 {
				return t.colErr(where, fl, c)
			}
			if len(c) != n*k {
				return fmt.Errorf("%w: append: %s, field %q: %d values for %d rows of %d", ErrShape, where, fl.Name, len(c), n, k)
			}
			for r := range n {
				p := buf[r*t.rowSize+off:]
				for j := range k {
					binary.LittleEndian.PutUint32(p[4*j:], math.Float32bits(c[r*k+j]))
				}
			}
		case []string:
			if fl.Type != String {
				return t.colErr(where, fl, c)
			}
			if len(c) != n {
				return fmt.Errorf("%w: append: %s, field %q: %d strings for %d rows", ErrShape, where, fl.Name, len(c), n)
			}
			for r, s := range c {
				if len(s) > fl.Size || strings.IndexByte(s, 0) >= 0 {
					return fmt.Errorf("%w: append: %s, field %q, row %d: %q longer than %d bytes or holds NUL", ErrArg, where, fl.Name, r, s, fl.Size)
				}
				p := buf[r*t.rowSize+off : r*t.rowSize+off+fl.Size]
				clear(p[copy(p, s):])
			}
		default:
			return t.colErr(where, fl, c)
		}
	}
	if err := lock(); err != nil {
		return err
	}
	defer unlock()
	if t.id < 0 {
		return fmt.Errorf("%w: append: %s", ErrClosed, where)
	}
	if C.sb_append(t.id, t.mtype, C.longlong(n), unsafe.Pointer(&buf[0])) != C.SB_OK {
		return fmt.Errorf("%w: append: %s: %s", ErrLibrary, where, lastError())
	}
	t.rows += n
	return nil
}

func (t *Table) colErr(where string, fl Field, c any) error {
	return fmt.Errorf("%w: append: %s, field %q of type %s: column is %T", ErrType, where, fl.Name, fl.Type, c)
}

// Close closes the table's dataset. It is idempotent; closing the File
// closes its tables too.
func (t *Table) Close() error {
	if err := lock(); err != nil {
		return err
	}
	defer unlock()
	err := t.closeLocked()
	for i, o := range t.f.tables {
		if o == t {
			t.f.tables = append(t.f.tables[:i], t.f.tables[i+1:]...)
			break
		}
	}
	return err
}

func (t *Table) closeLocked() error {
	if t.id < 0 {
		return nil
	}
	var err error
	if C.H5Dclose(t.id) < 0 {
		err = fmt.Errorf("%w: close table: file %s, dataset %q: %s", ErrLibrary, t.f.name, t.path, lastError())
	}
	C.H5Tclose(t.mtype)
	t.id, t.mtype = -1, -1
	return err
}
