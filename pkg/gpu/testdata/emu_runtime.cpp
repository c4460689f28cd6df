/* Runs an emulated kernel launch for the fake libcuda (pkg/gpu tests
   only): every block in turn, every thread of a block as a POSIX thread
   sharing the block's dynamic shared memory and a barrier. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct emu_dim3 { unsigned x, y, z; };
thread_local emu_dim3 threadIdx, blockIdx;
emu_dim3 blockDim, gridDim;
static thread_local pthread_barrier_t *barrier;
static thread_local double *shared_mem;

void emu_syncthreads(void) { pthread_barrier_wait(barrier); }
double *emu_dyn_shared(void) { return shared_mem; }

typedef void (*emu_tramp)(void **params);
struct thread_arg { emu_tramp t; void **params; emu_dim3 tid, bid; pthread_barrier_t *bar; double *sh; };

static void *thread_main(void *p) {
	thread_arg *a = (thread_arg *)p;
	threadIdx = a->tid; blockIdx = a->bid; barrier = a->bar; shared_mem = a->sh;
	a->t(a->params);
	return NULL;
}

extern "C" int emu_run(emu_tramp t, void **params, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
	unsigned bz, unsigned shared) {
	gridDim = {gx, gy, gz};
	blockDim = {bx, by, bz};
	unsigned nt = bx * by * bz;
	thread_arg *args = (thread_arg *)calloc(nt, sizeof *args);
	pthread_t *th = (pthread_t *)calloc(nt, sizeof *th);
	double *sh = (double *)calloc(shared / 8 + 1, 8);
	int rc = 0;
	for (unsigned z = 0; z < gz && !rc; z++)
		for (unsigned y = 0; y < gy && !rc; y++)
			for (unsigned x = 0; x < gx && !rc; x++) {
				pthread_barrier_t bar;
				pthread_barrier_init(&bar, NULL, nt);
				memset(sh, 0xA5, shared); /* shared memory starts undefined */
				unsigned i = 0;
				for (unsigned tz = 0; tz < bz; tz++)
					for (unsigned ty = 0; ty < by; ty++)
						for (unsigned tx = 0; tx < bx; tx++, i++) {
							args[i] = thread_arg{t, params, {tx, ty, tz}, {x, y, z}, &bar, sh};
							if (pthread_create(&th[i], NULL, thread_main, &args[i]) != 0) rc = 999;
						}
				for (unsigned j = 0; j < nt; j++) pthread_join(th[j], NULL);
				pthread_barrier_destroy(&bar);
			}
	free(args); free(th); free(sh);
	return rc;
}
