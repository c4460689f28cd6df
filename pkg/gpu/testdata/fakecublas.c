/* A fake cuBLAS for pkg/gpu tests, compiled by the tests with cc. Not part
   of the build. Device pointers of the fake libcuda are host memory, so
   cublasSgemm_v2 computes the product here (column-major, naive loops)
   after checking its arguments as cuBLAS does; fake_cublas_last returns the
   arguments of the last call, math mode and stream included. Like a real
   cuBLAS call it runs after the work queued before it on the handle's
   stream: the fake libcuda (found through SCIBENCH_LIBCUDA) runs queued
   copies when its stream is synchronised, so the product does that first. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define SUCCESS 0
#define NOT_INITIALIZED 1
#define INVALID_VALUE 7
#define HANDLE_MAGIC 0xB1A5

struct handle { int magic; void *stream; int math; };
static long live_handles;
static struct { long args[12]; float alpha, beta; void *stream, *a, *b, *c; } last;
static int fail_status;

int cublasCreate_v2(struct handle **h) {
	if (fail_status) { int r = fail_status; fail_status = 0; return r; }
	struct handle *x = calloc(1, sizeof *x);
	x->magic = HANDLE_MAGIC; *h = x; live_handles++;
	return SUCCESS;
}
static int check(struct handle *h) { return h && h->magic == HANDLE_MAGIC ? SUCCESS : NOT_INITIALIZED; }
int cublasDestroy_v2(struct handle *h) {
	if (check(h)) return NOT_INITIALIZED;
	h->magic = 0; free(h); live_handles--;
	return SUCCESS;
}
int cublasSetStream_v2(struct handle *h, void *s) {
	if (check(h)) return NOT_INITIALIZED;
	h->stream = s;
	return SUCCESS;
}
int cublasSetMathMode(struct handle *h, int mode) {
	if (check(h)) return NOT_INITIALIZED;
	if (mode != 0 && mode != 1 && mode != 2 && mode != 3 && mode != 16) return INVALID_VALUE;
	h->math = mode;
	return SUCCESS;
}
static int maxi(int a, int b) { return a > b ? a : b; }
/* flush runs the work queued on s in the fake libcuda, when it is loaded. */
static void flush(void *s) {
	static int (*sync)(void *);
	static int looked;
	if (!looked) {
		const char *lib = getenv("SCIBENCH_LIBCUDA");
		void *h = lib ? dlopen(lib, RTLD_NOW | RTLD_NOLOAD) : NULL;
		if (h) sync = (int (*)(void *))dlsym(h, "cuStreamSynchronize");
		looked = 1;
	}
	if (sync && s) sync(s);
}
/* gemm is the column-major product C = alpha·op(A)·op(B) + beta·C. */
static void gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
	float beta, float *c, int ldc) {
	for (int j = 0; j < n; j++)
		for (int i = 0; i < m; i++) {
			double s = 0;
			for (int p = 0; p < k; p++) {
				float av = ta ? a[p + (long)i * lda] : a[i + (long)p * lda];
				float bv = tb ? b[j + (long)p * ldb] : b[p + (long)j * ldb];
				s += (double)av * bv;
			}
			float *cv = &c[i + (long)j * ldc];
			*cv = beta == 0 ? (float)(alpha * s) : (float)(alpha * s + beta * *cv);
		}
}
int cublasSgemm_v2(struct handle *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
	const float *b, int ldb, const float *beta, float *c, int ldc) {
	if (check(h)) return NOT_INITIALIZED;
	if (fail_status) { int r = fail_status; fail_status = 0; return r; }
	long args[12] = {ta, tb, m, n, k, lda, ldb, ldc, h->math, 0, 0, 0};
	memcpy(last.args, args, sizeof args);
	last.alpha = *alpha; last.beta = *beta; last.stream = h->stream; last.a = (void *)a; last.b = (void *)b; last.c = c;
	if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1) || m < 0 || n < 0 || k < 0) return INVALID_VALUE;
	if (lda < maxi(1, ta ? k : m) || ldb < maxi(1, tb ? n : k) || ldc < maxi(1, m)) return INVALID_VALUE;
	flush(h->stream);
	gemm(ta, tb, m, n, k, *alpha, a, lda, b, ldb, *beta, c, ldc);
	return SUCCESS;
}
#ifndef NO_SGEMM_BATCHED
/* The strides and batch count of the last cublasSgemmStridedBatched call
   (its other arguments are in last, as for cublasSgemm_v2), and the number
   of such calls. */
static long last_batched[4], batched_calls;
int cublasSgemmStridedBatched(struct handle *h, int ta, int tb, int m, int n, int k, const float *alpha,
	const float *a, int lda, long long sa, const float *b, int ldb, long long sb, const float *beta,
	float *c, int ldc, long long sc, int batch) {
	if (check(h)) return NOT_INITIALIZED;
	if (fail_status) { int r = fail_status; fail_status = 0; return r; }
	long args[12] = {ta, tb, m, n, k, lda, ldb, ldc, h->math, 0, 0, 0};
	memcpy(last.args, args, sizeof args);
	last.alpha = *alpha; last.beta = *beta; last.stream = h->stream; last.a = (void *)a; last.b = (void *)b; last.c = c;
	last_batched[0] = sa; last_batched[1] = sb; last_batched[2] = sc; last_batched[3] = batch;
	batched_calls++;
	if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1) || m < 0 || n < 0 || k < 0 || batch < 0) return INVALID_VALUE;
	if (lda < maxi(1, ta ? k : m) || ldb < maxi(1, tb ? n : k) || ldc < maxi(1, m)) return INVALID_VALUE;
	flush(h->stream);
	for (int i = 0; i < batch; i++)
		gemm(ta, tb, m, n, k, *alpha, a + i * sa, lda, b + i * sb, ldb, *beta, c + i * sc, ldc);
	return SUCCESS;
}
/* out: strideA, strideB, strideC, batch of the last batched call (as
   cuBLAS saw them: operands swapped); returns the number of such calls. */
long fake_cublas_last_batched(long *out) {
	memcpy(out, last_batched, sizeof last_batched);
	return batched_calls;
}
#endif
/* args: transa, transb, m, n, k, lda, ldb, ldc, math mode; then alpha,
   beta and the pointers; returns the live handles. */
long fake_cublas_last(long *args, float *ab, void **ptrs) {
	memcpy(args, last.args, sizeof last.args);
	ab[0] = last.alpha; ab[1] = last.beta;
	ptrs[0] = last.stream; ptrs[1] = last.a; ptrs[2] = last.b; ptrs[3] = last.c;
	return live_handles;
}
void fake_cublas_fail(int status) { fail_status = status; }
