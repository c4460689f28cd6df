// Package hdf5 is a thin cgo binding to libhdf5 with what the benchmarks
// need: open and create files, list groups, describe datasets, read whole
// datasets and row ranges (hyperslabs along dimension 0) into caller-owned
// []float32 / []int64, read fields of compound datasets (pandas HDFStore
// "table" format), read fixed- and variable-length strings and string
// attributes, and write chunked, gzip-compressed datasets, string
// attributes and pandas-style tables appended in chunks.
//
// # Build
//
// The binding is compiled with the build tag hdf5 (and cgo), which the
// Makefile sets when `pkg-config --exists hdf5` succeeds (Debian:
// libhdf5-dev, serial build 1.10, pkg-config names hdf5 and hdf5-serial).
// Without the tag, or with CGO_ENABLED=0, the package still compiles with
// the same API and every call returns ErrNoHDF5, whose message says to
// install libhdf5-dev and rebuild with -tags hdf5. Available reports which
// build is running.
//
// # Conversions
//
// ReadFloat32 and the other float32 readers accept any integer or
// floating-point dataset (int8..uint64, float32, float64, either byte
// order) and let libhdf5 convert to float32 (rounding to nearest, as a C
// cast or numpy's astype does: the tests compare bit for bit with numpy).
// ReadInt64 accepts integer datasets only. Strings are returned without
// their NUL padding. Written data is stored little-endian; strings as
// fixed-length NUL-padded (numpy "S<n>") ASCII, or UTF-8 when not ASCII.
//
// # pandas tables
//
// A pandas DataFrame stored with to_hdf(format="table") is a group with a
// rank-1 compound dataset "table": field "index" (int64), one
// "values_block_<i>" array field per dtype block (e.g. float32[K]) and one
// field per data column (strings as "S<n>"). Read such a field with
// ReadFieldFloat32Rows / ReadFieldInt64Rows / ReadFieldStringRows on
// key + "/table"; an array field of K values fills count·K floats. The
// index restarts with every appended chunk, so read rows by position.
// format="fixed" frames are plain datasets (key/block0_values). Object
// (pickled) columns are not readable. CreateTable writes the same layout.
//
// # Errors and concurrency
//
// Errors wrap the package sentinels (ErrNotFound, ErrNotHDF5, ErrType,
// ErrShape, ErrExists, ErrArg, ErrClosed, ErrLibrary, ErrNoHDF5) and name
// the file and key; libhdf5's own error-stack printing is switched off and
// its innermost message is included instead. All libhdf5 calls of the
// process are serialised by one package mutex (with the calling goroutine
// pinned to its thread while it holds it), so a File may be shared by
// goroutines, but reads do not run in parallel. Each File keeps its
// datasets open after the first read (at most 32, each with a 32 MiB chunk
// cache) so that row reads neither reopen the dataset nor inflate the same
// compressed chunk twice; Close releases everything. The row readers
// allocate nothing on the Go heap.
//
// On parallel file systems without flock support, libhdf5 1.10 may fail to
// open files; set HDF5_USE_FILE_LOCKING=FALSE in the environment.
//
// # Usage
//
//	f, err := hdf5.Open("top_21_auc_1fold.uno.h5")
//	if err != nil {
//		return err
//	}
//	defer f.Close()
//	info, err := f.Info("/x_train_1/table") // Fields: index, values_block_0 float32[5270]
//	if err != nil {
//		return err
//	}
//	fl, _ := info.Field("values_block_0")
//	batch := make([]float32, 32*fl.Elems())
//	for start := 0; start+32 <= info.Shape[0]; start += 32 {
//		if err := f.ReadFieldFloat32Rows("/x_train_1/table", "values_block_0", start, 32, batch); err != nil {
//			return err
//		}
//		// ...
//	}
//
// Writing:
//
//	f, err := hdf5.Create("out.h5")
//	...
//	err = f.WriteFloat32("/inference/mask", []int{1, h, w, 1}, mask, hdf5.WriteOptions{Gzip: 4})
//	err = f.SetAttr("/inference/mask", "units", "probability")
//	t, err := f.CreateTable("/y_train", []hdf5.Field{
//		{Name: "index", Type: hdf5.Int64},
//		{Name: "values_block_0", Type: hdf5.Float32, Dims: []int{1}},
//		{Name: "Sample", Type: hdf5.String, Size: 30},
//	}, hdf5.TableOptions{})
//	err = t.Append(n, index, auc, samples)
//	err = f.Close() // closes t too
package hdf5
