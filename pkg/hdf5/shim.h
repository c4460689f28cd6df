// C helpers of the scibench cgo binding to libhdf5 (package hdf5).
#ifndef SCIBENCH_HDF5_SHIM_H
#define SCIBENCH_HDF5_SHIM_H

#include <stdlib.h>
#include <hdf5.h>

// Result codes of the helpers below; negative values are errors.
enum {
	SB_OK = 0,
	SB_EH5 = -1,       // a libhdf5 call failed: see the error stack
	SB_ESCALAR = -2,   // row read on a rank-0 dataset
	SB_ERANGE = -3,    // row range outside dimension 0
	SB_ESIZE = -4,     // buffer length does not match the selection
	SB_ENOTCOMP = -5,  // dataset is not compound
	SB_ENOFIELD = -6,  // no such compound member
	SB_ETYPE = -7,     // element class does not fit the request
	SB_ENOTFOUND = -8, // path does not exist
	SB_ENOTDSET = -9,  // path is not a dataset
	SB_ELONG = -10     // path too long
};

// Kinds of memory buffers.
enum { SB_F32 = 0, SB_I64 = 1, SB_STR = 2 };

hid_t sb_native_float(void);
hid_t sb_native_int64(void);
hid_t sb_f32le(void);
hid_t sb_i64le(void);
hid_t sb_c_s1(void);
hid_t sb_dcpl_class(void);
hid_t sb_lcpl_class(void);
void sb_quiet(void);
void sb_last_error(char *buf);
int sb_exists(hid_t loc, const char *path);
hid_t sb_open_dset(hid_t file, const char *path, long long cache_bytes);
int sb_read_sel(hid_t dset, hid_t memtype, int whole, long long start, long long count,
                long long per, void *buf, long long bufn);
int sb_read_num(hid_t d, int kind, int whole, long long start,
                long long count, void *buf, long long bufn);
int sb_read_field(hid_t d, const char *field, int kind, int whole,
                  long long start, long long count, void *buf, long long bufn);
int sb_read_fixed_str(hid_t d, void *buf, long long bufn);
int sb_read_vlen_str(hid_t d, int attr, char **ptrs);
void sb_free_vlen(char **ptrs, long long n);
int sb_write(hid_t file, const char *path, hid_t ft, hid_t mt, int rank, const hsize_t *dims,
             const hsize_t *chunk, int gzip, int shuffle, const void *buf);
hid_t sb_create_table(hid_t file, const char *path, hid_t ct, long long chunk, int gzip);
int sb_append(hid_t d, hid_t mt, long long n, const void *buf);
int sb_dcpl_info(hid_t d, hsize_t *chunk, int *gzip);

#endif
