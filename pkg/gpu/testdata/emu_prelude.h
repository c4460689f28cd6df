/* Prelude that lets the host C++ compiler build kernels/*.cu for the
   emulated launches of the fake libcuda (pkg/gpu tests only). It defines
   the CUDA keywords away and provides the built-in variables and the few
   device functions the kernels use; emu_runtime.cpp runs every CUDA thread
   of a block as a POSIX thread, so __syncthreads is a barrier. */
#include <math.h>
#include <string.h>
#include <stdint.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__

struct emu_dim3 { unsigned x, y, z; };
extern thread_local emu_dim3 threadIdx, blockIdx;
extern emu_dim3 blockDim, gridDim;
void emu_syncthreads(void);
double *emu_dyn_shared(void);
#define __syncthreads() emu_syncthreads()

static inline int max(int a, int b) { return a > b ? a : b; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline double __longlong_as_double(long long x) { double d; memcpy(&d, &x, 8); return d; }
static inline int atomicCAS(int *p, int cmp, int val) {
	__atomic_compare_exchange_n(p, &cmp, val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return cmp;
}
static inline float atomicAdd(float *p, float v) {
	float old = *p, nv;
	do { nv = old + v; } while (!__atomic_compare_exchange(p, &old, &nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	return old;
}
