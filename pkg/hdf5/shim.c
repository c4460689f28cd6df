//go:build hdf5 && cgo

// C helpers of the cgo binding; see shim.h.
#include <stdio.h>
#include <string.h>
#include "shim.h"



hid_t sb_native_float(void) { return H5T_NATIVE_FLOAT; }
hid_t sb_native_int64(void) { return H5T_NATIVE_INT64; }
hid_t sb_f32le(void) { return H5T_IEEE_F32LE; }
hid_t sb_i64le(void) { return H5T_STD_I64LE; }
hid_t sb_c_s1(void) { return H5T_C_S1; }
hid_t sb_dcpl_class(void) { return H5P_DATASET_CREATE; }
hid_t sb_lcpl_class(void) { return H5P_LINK_CREATE; }

// sb_quiet switches off the automatic printing of the calling thread's
// error stack (the stack is per thread in thread-safe builds).
void sb_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t sb_walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
	char *buf = (char *)data;
	if (n == 0 && e != NULL && e->desc != NULL) {
		snprintf(buf, 512, "%s (%s)", e->desc, e->func_name ? e->func_name : "?");
	}
	return 0;
}

// sb_last_error writes the innermost message of the error stack into buf
// (512 bytes) and clears the stack.
void sb_last_error(char *buf) {
	buf[0] = 0;
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, sb_walk_cb, buf);
	H5Eclear2(H5E_DEFAULT);
}

// sb_exists reports whether every component of path exists (1), not (0).
int sb_exists(hid_t loc, const char *path) {
	char buf[4096];
	size_t n = strlen(path);
	if (n >= sizeof buf) return SB_ELONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0) continue;
		if (buf[i - 1] == '/') continue;
		char c = buf[i];
		buf[i] = 0;
		htri_t e = H5Lexists(loc, buf, H5P_DEFAULT);
		buf[i] = c;
		if (e <= 0) {
			H5Eclear2(H5E_DEFAULT);
			return 0;
		}
	}
	return 1;
}

// sb_open_dset opens path as a dataset with a chunk cache of cache_bytes
// (libhdf5's default, 1 MiB, when 0), or returns SB_ENOTFOUND/SB_ENOTDSET.
hid_t sb_open_dset(hid_t file, const char *path, long long cache_bytes) {
	int e = sb_exists(file, path);
	if (e < 0) return e;
	if (e == 0) return SB_ENOTFOUND;
	hid_t obj = H5Oopen(file, path, H5P_DEFAULT);
	if (obj < 0) return SB_EH5;
	H5I_type_t t = H5Iget_type(obj);
	H5Oclose(obj);
	if (t != H5I_DATASET) return SB_ENOTDSET;
	hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
	if (dapl < 0) return SB_EH5;
	if (cache_bytes > 0 && H5Pset_chunk_cache(dapl, 1009, (size_t)cache_bytes, 0.75) < 0) {
		H5Pclose(dapl);
		return SB_EH5;
	}
	hid_t d = H5Dopen2(file, path, dapl);
	H5Pclose(dapl);
	return d < 0 ? SB_EH5 : d;
}

// sb_read_sel reads from dset into buf with memtype: the whole dataset when
// whole != 0, else rows [start, start+count) of dimension 0. per is the
// number of buffer elements one dataset element fills; bufn the buffer length
// in those elements.
int sb_read_sel(hid_t dset, hid_t memtype, int whole, long long start, long long count,
                       long long per, void *buf, long long bufn) {
	hsize_t dims[H5S_MAX_RANK], off[H5S_MAX_RANK], cnt[H5S_MAX_RANK];
	int rc = SB_EH5;
	hid_t ms = -1;
	hid_t fs = H5Dget_space(dset);
	if (fs < 0) return SB_EH5;
	int rank = H5Sget_simple_extent_ndims(fs);
	if (rank < 0 || H5Sget_simple_extent_dims(fs, dims, NULL) < 0) goto done;
	long long total = per;
	for (int i = 0; i < rank; i++) total *= (long long)dims[i];
	if (H5Sget_simple_extent_type(fs) == H5S_NULL) total = 0;
	if (whole) {
		if (total != bufn) { rc = SB_ESIZE; goto done; }
		if (total == 0) { rc = SB_OK; goto done; }
		rc = H5Dread(dset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0 ? SB_EH5 : SB_OK;
		goto done;
	}
	if (rank == 0) { rc = SB_ESCALAR; goto done; }
	if (start < 0 || count < 0 || (unsigned long long)(start + count) > dims[0]) { rc = SB_ERANGE; goto done; }
	long long row = per;
	for (int i = 1; i < rank; i++) row *= (long long)dims[i];
	if (row * count != bufn) { rc = SB_ESIZE; goto done; }
	if (count == 0 || row == 0) { rc = SB_OK; goto done; }
	for (int i = 0; i < rank; i++) { off[i] = 0; cnt[i] = dims[i]; }
	off[0] = (hsize_t)start;
	cnt[0] = (hsize_t)count;
	if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0) goto done;
	ms = H5Screate_simple(rank, cnt, NULL);
	if (ms < 0) goto done;
	rc = H5Dread(dset, memtype, ms, fs, H5P_DEFAULT, buf) < 0 ? SB_EH5 : SB_OK;
done:
	if (ms >= 0) H5Sclose(ms);
	H5Sclose(fs);
	return rc;
}

// sb_read_num reads a numeric dataset converted to float32 (SB_F32) or
// int64 (SB_I64).
int sb_read_num(hid_t d, int kind, int whole, long long start,
                long long count, void *buf, long long bufn) {
	int rc;
	hid_t ft = H5Dget_type(d);
	if (ft < 0) return SB_EH5;
	H5T_class_t cls = H5Tget_class(ft);
	H5Tclose(ft);
	if (kind == SB_F32 && cls != H5T_INTEGER && cls != H5T_FLOAT) rc = SB_ETYPE;
	else if (kind == SB_I64 && cls != H5T_INTEGER) rc = SB_ETYPE;
	else rc = sb_read_sel(d, kind == SB_F32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, whole, start, count, 1, buf, bufn);
	return rc;
}

// Scratch buffer of the raw compound reads; every call holds the Go
// package mutex, so one buffer serves all.
static char *sb_scratch;
static size_t sb_scratch_n;

enum { SB_NOFAST = 1 };

// sb_plain_member reports whether t holds no variable-length data,
// references or nested compounds, so raw records can be read and copied.
static int sb_plain_member(hid_t t) {
	H5T_class_t c = H5Tget_class(t);
	if (c == H5T_VLEN || c == H5T_REFERENCE || c == H5T_COMPOUND || c == H5T_NO_CLASS) return 0;
	if (c == H5T_STRING) return H5Tis_variable_str(t) == 0;
	if (c == H5T_ARRAY) {
		hid_t s = H5Tget_super(t);
		if (s < 0) return 0;
		int ok = sb_plain_member(s);
		H5Tclose(s);
		return ok;
	}
	return 1;
}

static int sb_plain_compound(hid_t ft) {
	int n = H5Tget_nmembers(ft);
	if (n < 0) return 0;
	for (int i = 0; i < n; i++) {
		hid_t m = H5Tget_member_type(ft, (unsigned)i);
		if (m < 0) return 0;
		int ok = sb_plain_member(m);
		H5Tclose(m);
		if (!ok) return 0;
	}
	return 1;
}

// sb_read_field_raw reads whole records of the rank-1 compound dataset d in
// their file layout (memory type = file type: no conversion) in blocks of
// about 4 MiB and copies the msize bytes at offset moff of each record to
// buf. Used when the member's stored type is already the one asked for:
// much faster than libhdf5's compound-subset conversion. Returns SB_NOFAST
// when the dataset is not rank 1.
static int sb_read_field_raw(hid_t d, hid_t ft, size_t moff, size_t msize, int whole, long long start,
                             long long count, long long per, void *buf, long long bufn) {
	hsize_t dims[1], off[1], cnt[1];
	int rc = SB_EH5;
	hid_t ms = -1;
	hid_t fs = H5Dget_space(d);
	if (fs < 0) return SB_EH5;
	if (H5Sget_simple_extent_ndims(fs) != 1 || H5Sget_simple_extent_type(fs) != H5S_SIMPLE) {
		H5Sclose(fs);
		return SB_NOFAST;
	}
	if (H5Sget_simple_extent_dims(fs, dims, NULL) < 0) goto done;
	if (whole) {
		start = 0;
		count = (long long)dims[0];
	} else if (start < 0 || count < 0 || (unsigned long long)(start + count) > dims[0]) {
		rc = SB_ERANGE;
		goto done;
	}
	if (count * per != bufn) { rc = SB_ESIZE; goto done; }
	if (count == 0) { rc = SB_OK; goto done; }
	size_t rec = H5Tget_size(ft);
	if (rec == 0) goto done;
	long long block = (long long)((4u << 20) / rec);
	if (block < 1) block = 1;
	if (block > count) block = count;
	if (sb_scratch_n < (size_t)block * rec) {
		char *p = realloc(sb_scratch, (size_t)block * rec);
		if (p == NULL) goto done;
		sb_scratch = p;
		sb_scratch_n = (size_t)block * rec;
	}
	for (long long r = 0; r < count; r += block) {
		long long n = count - r < block ? count - r : block;
		off[0] = (hsize_t)(start + r);
		cnt[0] = (hsize_t)n;
		if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0) goto done;
		ms = H5Screate_simple(1, cnt, NULL);
		if (ms < 0 || H5Dread(d, ft, ms, fs, H5P_DEFAULT, sb_scratch) < 0) goto done;
		H5Sclose(ms);
		ms = -1;
		char *dst = (char *)buf + (size_t)r * msize;
		for (long long i = 0; i < n; i++) memcpy(dst + (size_t)i * msize, sb_scratch + (size_t)i * rec + moff, msize);
	}
	rc = SB_OK;
done:
	if (ms >= 0) H5Sclose(ms);
	H5Sclose(fs);
	return rc;
}

// sb_read_field reads one member of a compound dataset, converted to
// float32 or int64, or as raw fixed-length string bytes (SB_STR).
int sb_read_field(hid_t d, const char *field, int kind, int whole,
                  long long start, long long count, void *buf, long long bufn) {
	hsize_t adims[H5S_MAX_RANK];
	int rc = SB_EH5, nd = 0;
	hid_t ft = -1, mt = -1, elem = -1, base = -1, member = -1, mem = -1;
	ft = H5Dget_type(d);
	if (ft < 0) goto done;
	if (H5Tget_class(ft) != H5T_COMPOUND) { rc = SB_ENOTCOMP; goto done; }
	int idx = H5Tget_member_index(ft, field);
	if (idx < 0) { H5Eclear2(H5E_DEFAULT); rc = SB_ENOFIELD; goto done; }
	mt = H5Tget_member_type(ft, (unsigned)idx);
	if (mt < 0) goto done;
	long long per = 1;
	if (H5Tget_class(mt) == H5T_ARRAY) {
		nd = H5Tget_array_ndims(mt);
		if (nd < 0 || H5Tget_array_dims2(mt, adims) < 0) goto done;
		for (int i = 0; i < nd; i++) per *= (long long)adims[i];
		elem = H5Tget_super(mt);
	} else {
		elem = H5Tcopy(mt);
	}
	if (elem < 0) goto done;
	H5T_class_t cls = H5Tget_class(elem);
	switch (kind) {
	case SB_F32:
		if (cls != H5T_INTEGER && cls != H5T_FLOAT) { rc = SB_ETYPE; goto done; }
		base = H5Tcopy(H5T_NATIVE_FLOAT);
		break;
	case SB_I64:
		if (cls != H5T_INTEGER) { rc = SB_ETYPE; goto done; }
		base = H5Tcopy(H5T_NATIVE_INT64);
		break;
	default:
		if (cls != H5T_STRING || H5Tis_variable_str(elem) != 0) { rc = SB_ETYPE; goto done; }
		base = H5Tcopy(elem);
		per *= (long long)H5Tget_size(elem);
		break;
	}
	if (base < 0) goto done;
	member = nd > 0 ? H5Tarray_create2(base, (unsigned)nd, adims) : H5Tcopy(base);
	if (member < 0) goto done;
	mem = H5Tcreate(H5T_COMPOUND, H5Tget_size(member));
	if (mem < 0 || H5Tinsert(mem, field, 0, member) < 0) goto done;
	if (H5Tequal(elem, base) > 0 && sb_plain_compound(ft)) {
		rc = sb_read_field_raw(d, ft, H5Tget_member_offset(ft, (unsigned)idx), H5Tget_size(member), whole,
		                       start, count, per, buf, bufn);
		if (rc != SB_NOFAST) goto done;
	}
	rc = sb_read_sel(d, mem, whole, start, count, per, buf, bufn);
done:
	if (mem >= 0) H5Tclose(mem);
	if (member >= 0) H5Tclose(member);
	if (base >= 0) H5Tclose(base);
	if (elem >= 0) H5Tclose(elem);
	if (mt >= 0) H5Tclose(mt);
	if (ft >= 0) H5Tclose(ft);
	return rc;
}

// sb_read_fixed_str reads a whole fixed-length string dataset as raw bytes.
int sb_read_fixed_str(hid_t d, void *buf, long long bufn) {
	hid_t ft = H5Dget_type(d);
	if (ft < 0) return SB_EH5;
	int rc = SB_ETYPE;
	if (H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) == 0)
		rc = sb_read_sel(d, ft, 1, 0, 0, (long long)H5Tget_size(ft), buf, bufn);
	H5Tclose(ft);
	return rc;
}

// sb_read_vlen_str reads n variable-length strings of dataset d (attr == 0)
// or attribute d (attr != 0) into ptrs; free them with sb_reclaim_vlen.
int sb_read_vlen_str(hid_t d, int attr, char **ptrs) {
	hid_t mt = H5Tcopy(H5T_C_S1);
	if (mt < 0) return SB_EH5;
	int rc = SB_OK;
	if (H5Tset_size(mt, H5T_VARIABLE) < 0) rc = SB_EH5;
	hid_t ft = attr ? H5Aget_type(d) : H5Dget_type(d);
	if (ft >= 0) {
		H5T_cset_t cs = H5Tget_cset(ft);
		if (cs >= 0) H5Tset_cset(mt, cs);
		H5Tclose(ft);
	}
	if (rc == SB_OK) {
		herr_t e = attr ? H5Aread(d, mt, ptrs) : H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs);
		if (e < 0) rc = SB_EH5;
	}
	H5Tclose(mt);
	return rc;
}

void sb_free_vlen(char **ptrs, long long n) {
	for (long long i = 0; i < n; i++) {
		if (ptrs[i] != NULL) H5free_memory(ptrs[i]);
	}
}

// sb_write creates dataset path (intermediate groups too) with file type ft,
// dims[rank] (rank 0: scalar), optional chunk/filters, and writes buf.
int sb_write(hid_t file, const char *path, hid_t ft, hid_t mt, int rank, const hsize_t *dims,
                    const hsize_t *chunk, int gzip, int shuffle, const void *buf) {
	int rc = SB_EH5;
	hid_t lcpl = -1, dcpl = -1, sp = -1, d = -1;
	lcpl = H5Pcreate(H5P_LINK_CREATE);
	if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) goto done;
	dcpl = H5Pcreate(H5P_DATASET_CREATE);
	if (dcpl < 0) goto done;
	if (chunk != NULL && rank > 0) {
		if (H5Pset_chunk(dcpl, rank, chunk) < 0) goto done;
		if (shuffle && H5Pset_shuffle(dcpl) < 0) goto done;
		if (gzip > 0 && H5Pset_deflate(dcpl, (unsigned)gzip) < 0) goto done;
	}
	sp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
	if (sp < 0) goto done;
	d = H5Dcreate2(file, path, ft, sp, lcpl, dcpl, H5P_DEFAULT);
	if (d < 0) goto done;
	hssize_t np = H5Sget_simple_extent_npoints(sp);
	if (np > 0 && H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) goto done;
	rc = SB_OK;
done:
	if (d >= 0) H5Dclose(d);
	if (sp >= 0) H5Sclose(sp);
	if (dcpl >= 0) H5Pclose(dcpl);
	if (lcpl >= 0) H5Pclose(lcpl);
	return rc;
}

// sb_create_table creates an extendible rank-1 dataset of compound type ct.
hid_t sb_create_table(hid_t file, const char *path, hid_t ct, long long chunk, int gzip) {
	hid_t lcpl = -1, dcpl = -1, sp = -1, d = -1;
	hsize_t dims[1] = {0}, maxd[1] = {H5S_UNLIMITED}, ch[1] = {(hsize_t)chunk};
	lcpl = H5Pcreate(H5P_LINK_CREATE);
	if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) goto done;
	dcpl = H5Pcreate(H5P_DATASET_CREATE);
	if (dcpl < 0 || H5Pset_chunk(dcpl, 1, ch) < 0) goto done;
	if (gzip > 0 && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, (unsigned)gzip) < 0)) goto done;
	sp = H5Screate_simple(1, dims, maxd);
	if (sp < 0) goto done;
	d = H5Dcreate2(file, path, ct, sp, lcpl, dcpl, H5P_DEFAULT);
done:
	if (sp >= 0) H5Sclose(sp);
	if (dcpl >= 0) H5Pclose(dcpl);
	if (lcpl >= 0) H5Pclose(lcpl);
	return d < 0 ? SB_EH5 : d;
}

// sb_append extends rank-1 dataset d by n rows and writes buf there.
int sb_append(hid_t d, hid_t mt, long long n, const void *buf) {
	hsize_t dims[1], off[1], cnt[1] = {(hsize_t)n};
	int rc = SB_EH5;
	hid_t fs = -1, ms = -1;
	fs = H5Dget_space(d);
	if (fs < 0 || H5Sget_simple_extent_dims(fs, dims, NULL) != 1) goto done;
	H5Sclose(fs);
	fs = -1;
	off[0] = dims[0];
	dims[0] += (hsize_t)n;
	if (H5Dset_extent(d, dims) < 0) goto done;
	fs = H5Dget_space(d);
	if (fs < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0) goto done;
	ms = H5Screate_simple(1, cnt, NULL);
	if (ms < 0 || H5Dwrite(d, mt, ms, fs, H5P_DEFAULT, buf) < 0) goto done;
	rc = SB_OK;
done:
	if (ms >= 0) H5Sclose(ms);
	if (fs >= 0) H5Sclose(fs);
	return rc;
}

// sb_dcpl_info writes the chunk dims (returned rank, 0 when not chunked) and
// the deflate level (into *gzip, 0 when none) of dataset d.
int sb_dcpl_info(hid_t d, hsize_t *chunk, int *gzip) {
	*gzip = 0;
	hid_t p = H5Dget_create_plist(d);
	if (p < 0) return SB_EH5;
	int rank = 0;
	if (H5Pget_layout(p) == H5D_CHUNKED) {
		rank = H5Pget_chunk(p, H5S_MAX_RANK, chunk);
		int nf = H5Pget_nfilters(p);
		for (int i = 0; i < nf; i++) {
			unsigned flags, cd[8];
			size_t ncd = 8;
			char name[64];
			H5Z_filter_t f = H5Pget_filter2(p, (unsigned)i, &flags, &ncd, cd, sizeof name, name, NULL);
			if (f == H5Z_FILTER_DEFLATE) *gzip = ncd > 0 ? (int)cd[0] : 1;
		}
	}
	H5Pclose(p);
	return rank;
}
