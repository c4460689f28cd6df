//go:build hdf5 && cgo

package hdf5

/*
#cgo pkg-config: hdf5
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

const available = true

// mu serialises every libhdf5 call: Debian's serial build is not thread-safe.
var mu sync.Mutex

var (
	initOnce sync.Once
	initErr  error
)

// lock takes the package mutex, pins the goroutine to its OS thread and
// silences libhdf5's automatic error printing for that thread. Debian's
// build keeps one error stack per thread, so the error printing switch and
// the stack read by lastError must be on the thread that made the failing
// call. Release with unlock.
func lock() error {
	mu.Lock()
	runtime.LockOSThread()
	initOnce.Do(func() {
		if C.H5open() < 0 {
			initErr = fmt.Errorf("%w: H5open failed", ErrLibrary)
		}
	})
	if initErr != nil {
		unlock()
		return initErr
	}
	C.sb_quiet()
	return nil
}

func unlock() {
	runtime.UnlockOSThread()
	mu.Unlock()
}

// lastError returns libhdf5's innermost error message and clears the stack.
// Call with mu held.
func lastError() string {
	buf := (*C.char)(C.malloc(512))
	defer C.free(unsafe.Pointer(buf))
	C.sb_last_error(buf)
	s := C.GoString(buf)
	if s == "" {
		return "no detail from libhdf5"
	}
	return s
}

// File is an open HDF5 file. Its methods are safe for concurrent use: all
// libhdf5 calls of the process are serialised by one package mutex.
type File struct {
	name   string
	id     C.hid_t
	tables []*Table
	dsets  map[string]C.hid_t // open dataset handles, keyed by path
}

const (
	// dsetCacheMax bounds the open dataset handles a File keeps; when full
	// they are all closed and the cache starts over.
	dsetCacheMax = 32
	// chunkCacheBytes is each cached dataset's chunk cache: large enough
	// for a few compressed chunks of 64 rows × 5270 float32, so that
	// consecutive row reads do not inflate the same chunk again.
	chunkCacheBytes = 32 << 20
)

// dataset returns an open handle on the dataset at path, from the handle
// cache or newly opened, or a negative helper code (mu held). Reading
// through cached handles keeps their chunk caches warm and saves the
// open/close per call.
func (f *File) dataset(path string) C.hid_t {
	if d, ok := f.dsets[path]; ok {
		return d
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	d := C.sb_open_dset(f.id, cp, chunkCacheBytes)
	if d < 0 {
		return d
	}
	if len(f.dsets) >= dsetCacheMax {
		f.dropDatasets()
	}
	if f.dsets == nil {
		f.dsets = make(map[string]C.hid_t)
	}
	f.dsets[path] = d
	return d
}

// dropDatasets closes the cached dataset handles (mu held).
func (f *File) dropDatasets() {
	for k, d := range f.dsets {
		C.H5Dclose(d)
		delete(f.dsets, k)
	}
}

// Open opens an existing HDF5 file read-only.
func Open(path string) (*File, error) {
	return openFile(path, false)
}

// OpenRW opens an existing HDF5 file for reading and writing.
func OpenRW(path string) (*File, error) {
	return openFile(path, true)
}

func openFile(path string, rw bool) (*File, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: file %s: %w", ErrNotFound, path, err)
	}
	if err := lock(); err != nil {
		return nil, err
	}
	defer unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	if ok := C.H5Fis_hdf5(cp); ok <= 0 {
		msg := "no HDF5 signature"
		if ok < 0 {
			msg = lastError()
		}
		return nil, fmt.Errorf("%w: file %s: %s", ErrNotHDF5, path, msg)
	}
	flags := C.uint(C.H5F_ACC_RDONLY)
	if rw {
		flags = C.H5F_ACC_RDWR
	}
	id := C.H5Fopen(cp, flags, C.H5P_DEFAULT)
	if id < 0 {
		return nil, fmt.Errorf("%w: file %s: open failed (truncated or corrupt?): %s", ErrNotHDF5, path, lastError())
	}
	return &File{name: path, id: id}, nil
}

// Create creates an HDF5 file, truncating an existing one.
func Create(path string) (*File, error) {
	if err := lock(); err != nil {
		return nil, err
	}
	defer unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	id := C.H5Fcreate(cp, C.H5F_ACC_TRUNC, C.H5P_DEFAULT, C.H5P_DEFAULT)
	if id < 0 {
		return nil, fmt.Errorf("%w: create file %s: %s", ErrLibrary, path, lastError())
	}
	return &File{name: path, id: id}, nil
}

// Name returns the path the file was opened or created with.
func (f *File) Name() string { return f.name }

// Close closes the tables still open, flushes and closes the file. It is
// idempotent.
func (f *File) Close() error {
	if err := lock(); err != nil {
		return err
	}
	defer unlock()
	if f.id < 0 {
		return nil
	}
	var firstErr error
	for _, t := range f.tables {
		if err := t.closeLocked(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	f.tables = nil
	f.dropDatasets()
	if C.H5Fclose(f.id) < 0 && firstErr == nil {
		firstErr = fmt.Errorf("%w: close file %s: %s", ErrLibrary, f.name, lastError())
	}
	f.id = -1
	return firstErr
}

// openObjects returns the number of datasets, groups, named datatypes and
// attributes of the file libhdf5 holds open, not counting the handle cache.
func (f *File) openObjects() (int, error) {
	if err := lock(); err != nil {
		return 0, err
	}
	defer unlock()
	if f.id < 0 {
		return 0, f.closedErr()
	}
	n := C.H5Fget_obj_count(f.id, C.H5F_OBJ_DATASET|C.H5F_OBJ_GROUP|C.H5F_OBJ_DATATYPE|C.H5F_OBJ_ATTR)
	if n < 0 {
		return 0, fmt.Errorf("%w: file %s: object count: %s", ErrLibrary, f.name, lastError())
	}
	return int(n) - len(f.dsets), nil
}

// allOpenObjects returns the number of HDF5 objects open in the process.
func allOpenObjects() int {
	if lock() != nil {
		return -1
	}
	defer unlock()
	return int(C.H5Fget_obj_count(C.H5F_OBJ_ALL, C.H5F_OBJ_ALL))
}

func (f *File) closedErr() error { return fmt.Errorf("%w: file %s", ErrClosed, f.name) }

// begin locks the package and checks the file is open; on success the caller
// must unlock().
func (f *File) begin() error {
	if err := lock(); err != nil {
		return err
	}
	if f.id < 0 {
		unlock()
		return f.closedErr()
	}
	return nil
}

// exists reports whether path exists (mu held).
func (f *File) exists(cp *C.char) bool { return C.sb_exists(f.id, cp) == 1 }

// List returns the sorted member names of a group ("/" for the root).
func (f *File) List(group string) ([]string, error) {
	if err := f.begin(); err != nil {
		return nil, err
	}
	defer unlock()
	cp := C.CString(group)
	defer C.free(unsafe.Pointer(cp))
	if !f.exists(cp) {
		return nil, fmt.Errorf("%w: file %s, group %q", ErrNotFound, f.name, group)
	}
	obj := C.H5Oopen(f.id, cp, C.H5P_DEFAULT)
	if obj < 0 {
		return nil, fmt.Errorf("%w: file %s, group %q: %s", ErrLibrary, f.name, group, lastError())
	}
	defer C.H5Oclose(obj)
	if C.H5Iget_type(obj) != C.H5I_GROUP {
		return nil, fmt.Errorf("%w: file %s: %q is not a group", ErrType, f.name, group)
	}
	var gi C.H5G_info_t
	if C.H5Gget_info(obj, &gi) < 0 {
		return nil, fmt.Errorf("%w: file %s, group %q: %s", ErrLibrary, f.name, group, lastError())
	}
	dot := C.CString(".")
	defer C.free(unsafe.Pointer(dot))
	names := make([]string, 0, int(gi.nlinks))
	for i := C.hsize_t(0); i < gi.nlinks; i++ {
		n := C.H5Lget_name_by_idx(obj, dot, C.H5_INDEX_NAME, C.H5_ITER_INC, i, nil, 0, C.H5P_DEFAULT)
		if n < 0 {
			return nil, fmt.Errorf("%w: file %s, group %q: member %d: %s", ErrLibrary, f.name, group, i, lastError())
		}
		buf := (*C.char)(C.malloc(C.size_t(n) + 1))
		C.H5Lget_name_by_idx(obj, dot, C.H5_INDEX_NAME, C.H5_ITER_INC, i, buf, C.size_t(n)+1, C.H5P_DEFAULT)
		names = append(names, C.GoString(buf))
		C.free(unsafe.Pointer(buf))
	}
	sort.Strings(names)
	return names, nil
}

// IsGroup reports whether path exists and is a group.
func (f *File) IsGroup(path string) (bool, error) {
	if err := f.begin(); err != nil {
		return false, err
	}
	defer unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	if !f.exists(cp) {
		return false, nil
	}
	obj := C.H5Oopen(f.id, cp, C.H5P_DEFAULT)
	if obj < 0 {
		return false, fmt.Errorf("%w: file %s, %q: %s", ErrLibrary, f.name, path, lastError())
	}
	defer C.H5Oclose(obj)
	return C.H5Iget_type(obj) == C.H5I_GROUP, nil
}

// Exists reports whether path (group, dataset) exists.
func (f *File) Exists(path string) (bool, error) {
	if err := f.begin(); err != nil {
		return false, err
	}
	defer unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return f.exists(cp), nil
}

// CreateGroup creates a group and any missing intermediate groups. An
// existing group is not an error.
func (f *File) CreateGroup(path string) error {
	if err := f.begin(); err != nil {
		return err
	}
	defer unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	if f.exists(cp) {
		obj := C.H5Oopen(f.id, cp, C.H5P_DEFAULT)
		if obj < 0 {
			return fmt.Errorf("%w: file %s, group %q: %s", ErrLibrary, f.name, path, lastError())
		}
		defer C.H5Oclose(obj)
		if C.H5Iget_type(obj) != C.H5I_GROUP {
			return fmt.Errorf("%w: file %s: %q exists and is not a group", ErrExists, f.name, path)
		}
		return nil
	}
	lcpl := C.H5Pcreate(C.sb_lcpl_class())
	if lcpl < 0 {
		return fmt.Errorf("%w: file %s, group %q: %s", ErrLibrary, f.name, path, lastError())
	}
	defer C.H5Pclose(lcpl)
	C.H5Pset_create_intermediate_group(lcpl, 1)
	g := C.H5Gcreate2(f.id, cp, lcpl, C.H5P_DEFAULT, C.H5P_DEFAULT)
	if g < 0 {
		return fmt.Errorf("%w: file %s, create group %q: %s", ErrLibrary, f.name, path, lastError())
	}
	C.H5Gclose(g)
	return nil
}

// typeInfo describes an HDF5 datatype (mu held).
func typeInfo(t C.hid_t) (Field, error) {
	var fl Field
	size := int(C.H5Tget_size(t))
	fl.Size = size
	switch C.H5Tget_class(t) {
	case C.H5T_INTEGER:
		signed := C.H5Tget_sign(t) == C.H5T_SGN_2
		switch size {
		case 1:
			fl.Type = pick(signed, Int8, Uint8)
		case 2:
			fl.Type = pick(signed, Int16, Uint16)
		case 4:
			fl.Type = pick(signed, Int32, Uint32)
		case 8:
			fl.Type = pick(signed, Int64, Uint64)
		}
	case C.H5T_FLOAT:
		switch size {
		case 4:
			fl.Type = Float32
		case 8:
			fl.Type = Float64
		}
	case C.H5T_STRING:
		fl.Type = String
		if C.H5Tis_variable_str(t) > 0 {
			fl.VarLen = true
			fl.Size = 0
		}
	case C.H5T_COMPOUND:
		fl.Type = Compound
	case C.H5T_ARRAY:
		nd := int(C.H5Tget_array_ndims(t))
		if nd < 0 || nd > 32 {
			return fl, fmt.Errorf("%w: array type: %s", ErrLibrary, lastError())
		}
		var dims [32]C.hsize_t
		C.H5Tget_array_dims2(t, &dims[0])
		super := C.H5Tget_super(t)
		if super < 0 {
			return fl, fmt.Errorf("%w: array type: %s", ErrLibrary, lastError())
		}
		defer C.H5Tclose(super)
		el, err := typeInfo(super)
		if err != nil {
			return fl, err
		}
		el.Dims = make([]int, nd)
		for i := range nd {
			el.Dims[i] = int(dims[i])
		}
		return el, nil
	}
	return fl, nil
}

func pick(signed bool, s, u Type) Type {
	if signed {
		return s
	}
	return u
}

// info describes the dataset at cp (mu held).
func (f *File) info(path string) (DatasetInfo, error) {
	var di DatasetInfo
	d := f.dataset(path)
	if d < 0 {
		return di, f.codeErr(int(d), "info", path, "", true, 0, 0, 0)
	}
	t := C.H5Dget_type(d)
	if t < 0 {
		return di, fmt.Errorf("%w: file %s, dataset %q: type: %s", ErrLibrary, f.name, path, lastError())
	}
	defer C.H5Tclose(t)
	fl, err := typeInfo(t)
	if err != nil {
		return di, fmt.Errorf("file %s, dataset %q: %w", f.name, path, err)
	}
	if fl.Dims != nil {
		// Array-typed dataset elements: not something the package reads.
		fl.Type = Unknown
	}
	di.Type, di.Size, di.VarLen = fl.Type, fl.Size, fl.VarLen
	if di.Type == Compound {
		n := int(C.H5Tget_nmembers(t))
		for i := range n {
			cname := C.H5Tget_member_name(t, C.uint(i))
			mt := C.H5Tget_member_type(t, C.uint(i))
			mfl, err := typeInfo(mt)
			C.H5Tclose(mt)
			mfl.Name = C.GoString(cname)
			C.H5free_memory(unsafe.Pointer(cname))
			if err != nil {
				return di, fmt.Errorf("file %s, dataset %q, field %q: %w", f.name, path, mfl.Name, err)
			}
			di.Fields = append(di.Fields, mfl)
		}
	}
	sp := C.H5Dget_space(d)
	if sp < 0 {
		return di, fmt.Errorf("%w: file %s, dataset %q: space: %s", ErrLibrary, f.name, path, lastError())
	}
	defer C.H5Sclose(sp)
	rank := int(C.H5Sget_simple_extent_ndims(sp))
	if rank < 0 || rank > 32 {
		return di, fmt.Errorf("%w: file %s, dataset %q: rank: %s", ErrLibrary, f.name, path, lastError())
	}
	var dims [32]C.hsize_t
	C.H5Sget_simple_extent_dims(sp, &dims[0], nil)
	di.Shape = make([]int, rank)
	for i := range rank {
		di.Shape[i] = int(dims[i])
	}
	var gz C.int
	cr := int(C.sb_dcpl_info(d, &dims[0], &gz))
	if cr > 0 {
		di.Chunk = make([]int, cr)
		for i := range cr {
			di.Chunk[i] = int(dims[i])
		}
	}
	di.Gzip = int(gz)
	return di, nil
}

// Info describes the dataset at path: shape, element type and, for compound
// datasets, the fields.
func (f *File) Info(path string) (DatasetInfo, error) {
	if err := f.begin(); err != nil {
		return DatasetInfo{}, err
	}
	defer unlock()
	return f.info(path)
}

// codeErr turns a helper result code into an error naming file, dataset
// and field (mu held).
func (f *File) codeErr(code int, op, path, field string, whole bool, start, count, dstLen int) error {
	where := fmt.Sprintf("file %s, dataset %q", f.name, path)
	if field != "" {
		where += fmt.Sprintf(", field %q", field)
	}
	shape := func() string {
		di, err := f.info(path)
		if err != nil {
			return "unknown shape"
		}
		s := fmt.Sprintf("shape %v %s", di.Shape, di.Type)
		if fl, ok := di.Field(field); ok {
			s += fmt.Sprintf(", field %s dims %v", fl.Type, fl.Dims)
		}
		return s
	}
	switch code {
	case C.SB_ESCALAR:
		return fmt.Errorf("%w: %s: %s: row read on a scalar (rank 0) dataset", ErrShape, op, where)
	case C.SB_ERANGE:
		return fmt.Errorf("%w: %s: %s: rows [%d, %d) outside %s", ErrShape, op, where, start, start+count, shape())
	case C.SB_ESIZE:
		need := "a different number of"
		if di, err := f.info(path); err == nil {
			n := 1
			if fl, ok := di.Field(field); ok {
				n = fl.Elems()
				if fl.Type == String {
					n *= fl.Size
				}
			}
			if whole || len(di.Shape) == 0 {
				n *= di.Len()
			} else {
				n *= count * (di.Len() / max(di.Shape[0], 1))
				if di.Shape[0] == 0 {
					n = 0
				}
			}
			need = fmt.Sprint(n)
		}
		return fmt.Errorf("%w: %s: %s: destination holds %d values, the selection %s (%s)", ErrShape, op, where, dstLen, need+" values", shape())
	case C.SB_ENOTCOMP:
		return fmt.Errorf("%w: %s: %s: not a compound dataset (%s)", ErrType, op, where, shape())
	case C.SB_ENOFIELD:
		return fmt.Errorf("%w: %s: %s: no such field", ErrNotFound, op, where)
	case C.SB_ETYPE:
		return fmt.Errorf("%w: %s: %s: stored type does not fit (%s)", ErrType, op, where, shape())
	case C.SB_ENOTFOUND:
		return fmt.Errorf("%w: %s: %s", ErrNotFound, op, where)
	case C.SB_ENOTDSET:
		return fmt.Errorf("%w: %s: %s: not a dataset", ErrType, op, where)
	case C.SB_ELONG:
		return fmt.Errorf("%w: %s: %s: path too long", ErrArg, op, where)
	}
	return fmt.Errorf("%w: %s: %s: %s", ErrLibrary, op, where, lastError())
}

func f32ptr(s []float32) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(s)) }
func i64ptr(s []int64) unsafe.Pointer   { return unsafe.Pointer(unsafe.SliceData(s)) }

// readNum is the shared body of the numeric reads.
func (f *File) readNum(op, path string, kind C.int, whole bool, start, count int, buf unsafe.Pointer, n int) error {
	if !whole {
		if err := checkRows(f.name, path, start, count); err != nil {
			return err
		}
	}
	if err := f.begin(); err != nil {
		return err
	}
	defer unlock()
	d := f.dataset(path)
	if d < 0 {
		return f.codeErr(int(d), op, path, "", whole, start, count, n)
	}
	rc := C.sb_read_num(d, kind, cbool(whole), C.longlong(start), C.longlong(count), buf, C.longlong(n))
	if rc != C.SB_OK {
		return f.codeErr(int(rc), op, path, "", whole, start, count, n)
	}
	return nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ReadFloat32 reads the whole dataset at path into dst, converting any
// integer or floating-point type to float32 (libhdf5 converts, rounding to
// nearest). len(dst) must equal the number of elements.
func (f *File) ReadFloat32(path string, dst []float32) error {
	return f.readNum("read float32", path, C.SB_F32, true, 0, 0, f32ptr(dst), len(dst))
}

// ReadFloat32Rows reads rows [start, start+count) of dimension 0 into dst,
// converted to float32. len(dst) must be count times the product of the
// other dimensions. It allocates nothing on the Go heap.
func (f *File) ReadFloat32Rows(path string, start, count int, dst []float32) error {
	return f.readNum("read float32 rows", path, C.SB_F32, false, start, count, f32ptr(dst), len(dst))
}

// ReadInt64 reads the whole integer dataset at path into dst (any integer
// width and sign; values outside int64 saturate). Floating-point datasets
// are ErrType.
func (f *File) ReadInt64(path string, dst []int64) error {
	return f.readNum("read int64", path, C.SB_I64, true, 0, 0, i64ptr(dst), len(dst))
}

// ReadInt64Rows reads rows [start, start+count) of an integer dataset.
func (f *File) ReadInt64Rows(path string, start, count int, dst []int64) error {
	return f.readNum("read int64 rows", path, C.SB_I64, false, start, count, i64ptr(dst), len(dst))
}

// readField is the shared body of the compound-field reads.
func (f *File) readField(op, path, field string, kind C.int, whole bool, start, count int, buf unsafe.Pointer, n int) error {
	if !whole {
		if err := checkRows(f.name, path, start, count); err != nil {
			return err
		}
	}
	if err := f.begin(); err != nil {
		return err
	}
	defer unlock()
	d := f.dataset(path)
	if d < 0 {
		return f.codeErr(int(d), op, path, field, whole, start, count, n)
	}
	cf := C.CString(field)
	defer C.free(unsafe.Pointer(cf))
	rc := C.sb_read_field(d, cf, kind, cbool(whole), C.longlong(start), C.longlong(count), buf, C.longlong(n))
	if rc != C.SB_OK {
		return f.codeErr(int(rc), op, path, field, whole, start, count, n)
	}
	return nil
}

// ReadFieldFloat32Rows reads rows [start, start+count) of the numeric field
// of a rank-1 compound dataset (a pandas "table"), converted to float32.
// For an array member of K values, dst holds count·K values, row-major.
func (f *File) ReadFieldFloat32Rows(path, field string, start, count int, dst []float32) error {
	return f.readField("read field float32 rows", path, field, C.SB_F32, false, start, count, f32ptr(dst), len(dst))
}

// ReadFieldFloat32 reads the field of every row; see ReadFieldFloat32Rows.
func (f *File) ReadFieldFloat32(path, field string, dst []float32) error {
	return f.readField("read field float32", path, field, C.SB_F32, true, 0, 0, f32ptr(dst), len(dst))
}

// ReadFieldInt64Rows reads rows [start, start+count) of an integer field.
func (f *File) ReadFieldInt64Rows(path, field string, start, count int, dst []int64) error {
	return f.readField("read field int64 rows", path, field, C.SB_I64, false, start, count, i64ptr(dst), len(dst))
}

// ReadFieldInt64 reads an integer field of every row.
func (f *File) ReadFieldInt64(path, field string, dst []int64) error {
	return f.readField("read field int64", path, field, C.SB_I64, true, 0, 0, i64ptr(dst), len(dst))
}

// ReadFieldStringRows reads rows [start, start+count) of a fixed-length
// string field (numpy "S30"); trailing NUL padding is removed.
func (f *File) ReadFieldStringRows(path, field string, start, count int) ([]string, error) {
	if err := checkRows(f.name, path, start, count); err != nil {
		return nil, err
	}
	di, err := f.Info(path)
	if err != nil {
		return nil, err
	}
	fl, ok := di.Field(field)
	if !ok {
		if di.Type != Compound {
			return nil, fmt.Errorf("%w: read field strings: file %s, dataset %q: not a compound dataset", ErrType, f.name, path)
		}
		return nil, fmt.Errorf("%w: read field strings: file %s, dataset %q, field %q: no such field", ErrNotFound, f.name, path, field)
	}
	if fl.Type != String || fl.VarLen {
		return nil, fmt.Errorf("%w: read field strings: file %s, dataset %q, field %q: %s is not a fixed-length string", ErrType, f.name, path, field, fl.Type)
	}
	per := fl.Size * fl.Elems()
	buf := make([]byte, count*per)
	if err := f.readField("read field strings", path, field, C.SB_STR, false, start, count, unsafe.Pointer(unsafe.SliceData(buf)), len(buf)); err != nil {
		return nil, err
	}
	return splitFixed(buf, fl.Size), nil
}

// splitFixed cuts buf into strings of size bytes, dropping trailing NULs.
func splitFixed(buf []byte, size int) []string {
	if size == 0 {
		return nil
	}
	out := make([]string, len(buf)/size)
	for i := range out {
		b := buf[i*size : (i+1)*size]
		out[i] = strings.TrimRight(string(b), "\x00")
	}
	return out
}

// ReadStrings reads a whole string dataset, fixed-length (trailing NULs
// removed) or variable-length, in row-major order.
func (f *File) ReadStrings(path string) ([]string, error) {
	if err := f.begin(); err != nil {
		return nil, err
	}
	defer unlock()
	di, err := f.info(path)
	if err != nil {
		return nil, err
	}
	if di.Type != String {
		return nil, fmt.Errorf("%w: read strings: file %s, dataset %q: stored type is %s", ErrType, f.name, path, di.Type)
	}
	d := f.dataset(path)
	if d < 0 {
		return nil, f.codeErr(int(d), "read strings", path, "", true, 0, 0, 0)
	}
	n := di.Len()
	if di.VarLen {
		return readVlen(d, 0, n, func() error {
			return fmt.Errorf("%w: read strings: file %s, dataset %q: %s", ErrLibrary, f.name, path, lastError())
		})
	}
	buf := make([]byte, n*di.Size)
	if rc := C.sb_read_fixed_str(d, unsafe.Pointer(unsafe.SliceData(buf)), C.longlong(len(buf))); rc != C.SB_OK {
		return nil, f.codeErr(int(rc), "read strings", path, "", true, 0, 0, n)
	}
	return splitFixed(buf, di.Size), nil
}

// readVlen reads n variable-length strings from a dataset or attribute.
func readVlen(obj C.hid_t, attr C.int, n int, fail func() error) ([]string, error) {
	if n == 0 {
		return []string{}, nil
	}
	ptrs := (**C.char)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(ptrs))
	if C.sb_read_vlen_str(obj, attr, ptrs) != C.SB_OK {
		return nil, fail()
	}
	defer C.sb_free_vlen(ptrs, C.longlong(n))
	ps := unsafe.Slice(ptrs, n)
	out := make([]string, n)
	for i, p := range ps {
		if p != nil {
			out[i] = C.GoString(p)
		}
	}
	return out, nil
}

// write is the shared body of the dataset writers (mu not held).
func (f *File) write(op, path string, shape []int, opt WriteOptions, elemSize int, ft, mt func() C.hid_t, buf unsafe.Pointer, n int) error {
	if err := checkShape(f.name, path, shape, n); err != nil {
		return err
	}
	if err := opt.check(f.name, path, shape); err != nil {
		return err
	}
	if err := checkName(f.name, "dataset", path); err != nil {
		return err
	}
	chunk := opt.chunkFor(shape, elemSize)
	if err := f.begin(); err != nil {
		return err
	}
	defer unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	if f.exists(cp) {
		return fmt.Errorf("%w: %s: file %s, dataset %q", ErrExists, op, f.name, path)
	}
	dims := make([]C.hsize_t, len(shape)+1)
	for i, s := range shape {
		dims[i] = C.hsize_t(s)
	}
	var cchunk *C.hsize_t
	if chunk != nil {
		cc := make([]C.hsize_t, len(chunk))
		for i, c := range chunk {
			cc[i] = C.hsize_t(c)
		}
		cchunk = &cc[0]
	}
	ftype, mtype := ft(), mt()
	defer C.H5Tclose(ftype)
	defer C.H5Tclose(mtype)
	rc := C.sb_write(f.id, cp, ftype, mtype, C.int(len(shape)), &dims[0], cchunk, C.int(opt.Gzip), cbool(opt.Shuffle), buf)
	if rc != C.SB_OK {
		return fmt.Errorf("%w: %s: file %s, dataset %q: %s", ErrLibrary, op, f.name, path, lastError())
	}
	return nil
}

// WriteFloat32 creates dataset path (and missing parent groups) of the given
// shape, stored as little-endian float32 with opt's chunking and
// compression, and writes data (row-major, len = product of shape). An
// existing dataset is ErrExists.
func (f *File) WriteFloat32(path string, shape []int, data []float32, opt WriteOptions) error {
	return f.write("write float32", path, shape, opt, 4,
		func() C.hid_t { return C.H5Tcopy(C.sb_f32le()) }, func() C.hid_t { return C.H5Tcopy(C.sb_native_float()) },
		f32ptr(data), len(data))
}

// WriteInt64 creates dataset path of little-endian int64; see WriteFloat32.
func (f *File) WriteInt64(path string, shape []int, data []int64, opt WriteOptions) error {
	return f.write("write int64", path, shape, opt, 8,
		func() C.hid_t { return C.H5Tcopy(C.sb_i64le()) }, func() C.hid_t { return C.H5Tcopy(C.sb_native_int64()) },
		i64ptr(data), len(data))
}

// strType returns a fixed-length, NUL-padded string type of size bytes,
// UTF-8 when utf8 is set, else ASCII (numpy "S<size>") (mu held).
func strType(size int, utf8 bool) C.hid_t {
	t := C.H5Tcopy(C.sb_c_s1())
	C.H5Tset_size(t, C.size_t(max(size, 1)))
	C.H5Tset_strpad(t, C.H5T_STR_NULLPAD)
	if utf8 {
		C.H5Tset_cset(t, C.H5T_CSET_UTF8)
	}
	return t
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// WriteStrings creates a fixed-length string dataset (numpy "S<n>", n the
// longest string in bytes, at least 1; UTF-8 when any string is not ASCII)
// of the given shape. Strings must not hold NUL bytes.
func (f *File) WriteStrings(path string, shape []int, data []string, opt WriteOptions) error {
	size, ascii := 1, true
	for i, s := range data {
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%w: write strings: file %s, dataset %q: string %d holds a NUL byte", ErrArg, f.name, path, i)
		}
		size = max(size, len(s))
		ascii = ascii && isASCII(s)
	}
	buf := make([]byte, size*len(data)+1)
	for i, s := range data {
		copy(buf[i*size:], s)
	}
	tf := func() C.hid_t { return strType(size, !ascii) }
	return f.write("write strings", path, shape, opt, size, tf, tf, unsafe.Pointer(&buf[0]), len(data))
}

// Attr reads the string attribute name of the object at path ("/" for the
// root group). Fixed-length and variable-length strings are accepted
// (a scalar or a one-element array).
func (f *File) Attr(path, name string) (string, error) {
	if err := f.begin(); err != nil {
		return "", err
	}
	defer unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	where := fmt.Sprintf("file %s, object %q, attribute %q", f.name, path, name)
	if !f.exists(cp) {
		return "", fmt.Errorf("%w: read attribute: %s: no such object", ErrNotFound, where)
	}
	if C.H5Aexists_by_name(f.id, cp, cn, C.H5P_DEFAULT) <= 0 {
		lastError()
		return "", fmt.Errorf("%w: read attribute: %s", ErrNotFound, where)
	}
	a := C.H5Aopen_by_name(f.id, cp, cn, C.H5P_DEFAULT, C.H5P_DEFAULT)
	if a < 0 {
		return "", fmt.Errorf("%w: read attribute: %s: %s", ErrLibrary, where, lastError())
	}
	defer C.H5Aclose(a)
	t := C.H5Aget_type(a)
	if t < 0 {
		return "", fmt.Errorf("%w: read attribute: %s: %s", ErrLibrary, where, lastError())
	}
	defer C.H5Tclose(t)
	fl, err := typeInfo(t)
	if err != nil {
		return "", fmt.Errorf("read attribute: %s: %w", where, err)
	}
	sp := C.H5Aget_space(a)
	if sp < 0 {
		return "", fmt.Errorf("%w: read attribute: %s: %s", ErrLibrary, where, lastError())
	}
	defer C.H5Sclose(sp)
	npts := int(C.H5Sget_simple_extent_npoints(sp))
	if fl.Type != String || fl.Dims != nil {
		return "", fmt.Errorf("%w: read attribute: %s: stored type is %s, not a string", ErrType, where, fl.Type)
	}
	if npts != 1 {
		return "", fmt.Errorf("%w: read attribute: %s: holds %d strings, want 1", ErrShape, where, npts)
	}
	if fl.VarLen {
		s, err := readVlen(a, 1, 1, func() error {
			return fmt.Errorf("%w: read attribute: %s: %s", ErrLibrary, where, lastError())
		})
		if err != nil {
			return "", err
		}
		return s[0], nil
	}
	buf := make([]byte, fl.Size+1)
	if C.H5Aread(a, t, unsafe.Pointer(&buf[0])) < 0 {
		return "", fmt.Errorf("%w: read attribute: %s: %s", ErrLibrary, where, lastError())
	}
	s := buf[:fl.Size]
	if C.H5Tget_strpad(t) == C.H5T_STR_NULLTERM {
		if i := slices.Index(s, 0); i >= 0 {
			s = s[:i]
		}
	}
	return strings.TrimRight(string(s), "\x00"), nil
}

// SetAttr writes the string attribute name on the object at path, as a
// scalar fixed-length NUL-padded string (UTF-8 when value is not ASCII),
// replacing an existing attribute of that name.
func (f *File) SetAttr(path, name, value string) error {
	if err := checkName(f.name, "attribute", name); err != nil {
		return err
	}
	if strings.IndexByte(value, 0) >= 0 {
		return fmt.Errorf("%w: write attribute: file %s, object %q, attribute %q: value holds a NUL byte", ErrArg, f.name, path, name)
	}
	if err := f.begin(); err != nil {
		return err
	}
	defer unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	where := fmt.Sprintf("file %s, object %q, attribute %q", f.name, path, name)
	if !f.exists(cp) {
		return fmt.Errorf("%w: write attribute: %s: no such object", ErrNotFound, where)
	}
	if C.H5Aexists_by_name(f.id, cp, cn, C.H5P_DEFAULT) > 0 {
		if C.H5Adelete_by_name(f.id, cp, cn, C.H5P_DEFAULT) < 0 {
			return fmt.Errorf("%w: write attribute: %s: delete old: %s", ErrLibrary, where, lastError())
		}
	}
	t := strType(len(value), !isASCII(value))
	defer C.H5Tclose(t)
	sp := C.H5Screate(C.H5S_SCALAR)
	defer C.H5Sclose(sp)
	a := C.H5Acreate_by_name(f.id, cp, cn, t, sp, C.H5P_DEFAULT, C.H5P_DEFAULT, C.H5P_DEFAULT)
	if a < 0 {
		return fmt.Errorf("%w: write attribute: %s: %s", ErrLibrary, where, lastError())
	}
	defer C.H5Aclose(a)
	buf := make([]byte, len(value)+1)
	copy(buf, value)
	if C.H5Awrite(a, t, unsafe.Pointer(&buf[0])) < 0 {
		return fmt.Errorf("%w: write attribute: %s: %s", ErrLibrary, where, lastError())
	}
	return nil
}

func checkRows(file, path string, start, count int) error {
	if start < 0 || count < 0 {
		return fmt.Errorf("%w: file %s, dataset %q: row range start %d count %d", ErrArg, file, path, start, count)
	}
	return nil
}

func checkName(file, what, name string) error {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("%w: file %s: %s name %q is empty or holds a NUL byte", ErrArg, file, what, name)
	}
	return nil
}
