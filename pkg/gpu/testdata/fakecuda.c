/* A fake CUDA driver for pkg/gpu tests: compiled by the tests with cc,
   NDEV, INIT_RC and DISCOVERY_ONLY chosen with -D. Not part of the build.

   Besides discovery it fakes primary contexts, device memory (malloc'd,
   with guard bands checked on free), pinned host memory, streams whose
   queued copies run only when a query finds the stream idle (so a caller
   that reads before synchronising sees stale bytes), and events. The
   fake_* functions let the tests set a memory limit, inject failures and
   make streams slow or hung. State is shared by all threads and guarded
   by a spin lock (no libpthread needed). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef NDEV
#define NDEV 2
#endif
#ifndef INIT_RC
#define INIT_RC 0
#endif

#define OK 0
#define INVALID_VALUE 1
#define OUT_OF_MEMORY 2
#define INVALID_CONTEXT 201
#define INVALID_HANDLE 400
#define NOT_READY 600
#define ILLEGAL_ADDRESS 700
#define GUARD 64
#define GUARD_BYTE 0xA5
#define MAXOPS 64

typedef unsigned long long CUdeviceptr;

/* ---- discovery ---- */
int cuInit(unsigned int flags) { return flags == 0 ? INIT_RC : 1; }
int cuDriverGetVersion(int *v) { *v = 12040; return 0; }
int cuDeviceGetCount(int *n) { *n = NDEV; return 0; }
int cuDeviceGet(int *d, int ordinal) {
	if (ordinal < 0 || ordinal >= NDEV) return 101;
	*d = ordinal + 10; return 0;
}
int cuDeviceGetName(char *name, int len, int d) {
	const char *n = d == 10 ? "Fake H200" : "Fake A100-SXM4-40GB";
	if (len < 1) return 1;
	strncpy(name, n, len - 1); name[len - 1] = 0; return 0;
}
int cuDeviceTotalMem_v2(unsigned long *bytes, int d) { *bytes = (unsigned long)(d - 9) * 40ul * 1024 * 1024 * 1024 + 1; return 0; }
int cuDeviceGetAttribute(int *v, int attr, int d) {
	if (attr == 75) { *v = d == 10 ? 9 : 8; return 0; }
	if (attr == 76) { *v = 0; return 0; }
	return 1;
}

#ifndef DISCOVERY_ONLY /* -DDISCOVERY_ONLY: an old driver without the compute entry points */
/* ---- test controls ---- */
static int lk;
static void lock(void) { while (__atomic_exchange_n(&lk, 1, __ATOMIC_ACQUIRE)) {} }
static void unlock(void) { __atomic_store_n(&lk, 0, __ATOMIC_RELEASE); }

static unsigned long long mem_limit = 1ull << 30, mem_used;
static char fail_call[64];
static int fail_rc, fail_sticky, lost_rc;
static long fail_after;
static int stream_polls = 2; /* NOT_READY answers after each enqueue; <0: never idle */
static long live_dev, live_host, live_streams, live_events, bad_guards;

struct ctx { int dev; int refs; };
static struct ctx ctxs[NDEV > 0 ? NDEV : 1];
static __thread struct ctx *current;

struct alloc { unsigned char *base; size_t n; struct alloc *next; };
static struct alloc *allocs, *hosts;

struct event;
struct op { int kind; void *dst; const void *src; size_t n; struct event *ev; }; /* kind 0 copy, 1 event, 2 kernel */
struct stream { int magic; struct op ops[MAXOPS]; int nops; int polls; };
struct event { int magic; int recorded, done; struct stream *s; double ms; };

void fake_reset(void) {
	lock();
	mem_limit = 1ull << 30; fail_call[0] = 0; fail_rc = fail_sticky = lost_rc = 0; fail_after = 0;
	stream_polls = 2;
	unlock();
}
void fake_set_mem_limit(unsigned long long n) { lock(); mem_limit = n; unlock(); }
void fake_set_stream_polls(int n) { lock(); stream_polls = n; unlock(); }
/* The call named call fails with rc after `after` successful calls; sticky:
   from then on every call fails with rc (a lost device). */
void fake_fail(const char *call, int rc, long after, int sticky) {
	lock();
	strncpy(fail_call, call, sizeof fail_call - 1); fail_call[sizeof fail_call - 1] = 0;
	fail_rc = rc; fail_after = after; fail_sticky = sticky;
	unlock();
}
/* out: live device allocations, pinned host allocations, streams, events,
   context references, device bytes in use, corrupted guard bands seen. */
void fake_stats(long long *out) {
	lock();
	long refs = 0;
	for (int i = 0; i < NDEV; i++) refs += ctxs[i].refs;
	out[0] = live_dev; out[1] = live_host; out[2] = live_streams; out[3] = live_events;
	out[4] = refs; out[5] = (long long)mem_used; out[6] = bad_guards;
	unlock();
}

/* enter: called with the lock held; injected failures and the context check. */
static int enter(const char *call, int need_ctx) {
	if (lost_rc) return lost_rc;
	if (fail_call[0] && strcmp(fail_call, call) == 0) {
		if (fail_after-- <= 0) {
			int rc = fail_rc;
			if (fail_sticky) lost_rc = rc;
			fail_call[0] = 0;
			return rc;
		}
	}
	if (need_ctx && (current == NULL || current->refs <= 0)) return INVALID_CONTEXT;
	return OK;
}

static double now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- contexts ---- */
int cuDevicePrimaryCtxRetain(void **pctx, int dev) {
	lock();
	int rc = enter("cuDevicePrimaryCtxRetain", 0);
	if (rc == OK && (dev < 10 || dev >= 10 + NDEV)) rc = 101;
	if (rc == OK) { ctxs[dev - 10].dev = dev; ctxs[dev - 10].refs++; *pctx = &ctxs[dev - 10]; }
	unlock();
	return rc;
}
int cuDevicePrimaryCtxRelease_v2(int dev) {
	lock();
	int rc = enter("cuDevicePrimaryCtxRelease_v2", 0);
	if (rc == OK && (dev < 10 || dev >= 10 + NDEV)) rc = 101;
	if (rc == OK && ctxs[dev - 10].refs <= 0) rc = INVALID_CONTEXT;
	if (rc == OK) ctxs[dev - 10].refs--;
	unlock();
	return rc;
}
int cuCtxSetCurrent(void *c) {
	lock();
	int rc = enter("cuCtxSetCurrent", 0);
	if (rc == OK) current = c;
	unlock();
	return rc;
}

/* ---- memory ---- */
static struct alloc *find(struct alloc *l, const void *p, size_t n) {
	for (; l; l = l->next) {
		unsigned char *body = l->base + GUARD;
		if ((const unsigned char *)p >= body && (const unsigned char *)p + n <= body + l->n) return l;
	}
	return NULL;
}
static int unlink_alloc(struct alloc **l, const void *p) {
	for (struct alloc **a = l; *a; a = &(*a)->next) {
		if ((*a)->base + GUARD == p) {
			struct alloc *x = *a;
			*a = x->next;
			for (int i = 0; i < GUARD; i++)
				if (x->base[i] != GUARD_BYTE || x->base[GUARD + x->n + i] != GUARD_BYTE) { bad_guards++; break; }
			free(x->base); free(x);
			return 1;
		}
	}
	return 0;
}
static void *new_alloc(struct alloc **l, size_t n) {
	struct alloc *a = malloc(sizeof *a);
	unsigned char *b = malloc(n + 2 * GUARD);
	if (!a || !b) { free(a); free(b); return NULL; }
	memset(b, GUARD_BYTE, GUARD); memset(b + GUARD, 0xEE, n); memset(b + GUARD + n, GUARD_BYTE, GUARD);
	a->base = b; a->n = n; a->next = *l; *l = a;
	return b + GUARD;
}

int cuMemGetInfo_v2(size_t *freeb, size_t *total) {
	lock();
	int rc = enter("cuMemGetInfo_v2", 1);
	if (rc == OK) { *total = mem_limit; *freeb = mem_used > mem_limit ? 0 : mem_limit - mem_used; }
	unlock();
	return rc;
}
int cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
	lock();
	int rc = enter("cuMemAlloc_v2", 1);
	if (rc == OK && n == 0) rc = INVALID_VALUE;
	if (rc == OK && mem_used + n > mem_limit) rc = OUT_OF_MEMORY;
	if (rc == OK) {
		void *b = new_alloc(&allocs, n);
		if (!b) rc = OUT_OF_MEMORY;
		else { *p = (CUdeviceptr)b; mem_used += n; live_dev++; }
	}
	unlock();
	return rc;
}
int cuMemFree_v2(CUdeviceptr p) {
	lock();
	int rc = enter("cuMemFree_v2", 1);
	if (rc == OK) {
		struct alloc *a = find(allocs, (void *)p, 0);
		if (!a || a->base + GUARD != (unsigned char *)p) rc = INVALID_VALUE;
		else { mem_used -= a->n; unlink_alloc(&allocs, (void *)p); live_dev--; }
	}
	unlock();
	return rc;
}
int cuMemHostAlloc(void **pp, size_t n, unsigned int flags) {
	lock();
	int rc = enter("cuMemHostAlloc", 1);
	if (rc == OK && (n == 0 || flags > 7)) rc = INVALID_VALUE;
	if (rc == OK) {
		void *b = new_alloc(&hosts, n);
		if (!b) rc = OUT_OF_MEMORY;
		else { *pp = b; live_host++; }
	}
	unlock();
	return rc;
}
int cuMemFreeHost(void *p) {
	lock();
	int rc = enter("cuMemFreeHost", 1);
	if (rc == OK) {
		if (!unlink_alloc(&hosts, p)) rc = INVALID_VALUE;
		else live_host--;
	}
	unlock();
	return rc;
}
int cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
	lock();
	int rc = enter("cuMemcpyHtoD_v2", 1);
	if (rc == OK && !find(allocs, (void *)dst, n)) rc = INVALID_VALUE;
	if (rc == OK) memcpy((void *)dst, src, n);
	unlock();
	return rc;
}
int cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) {
	lock();
	int rc = enter("cuMemcpyDtoH_v2", 1);
	if (rc == OK && !find(allocs, (void *)src, n)) rc = INVALID_VALUE;
	if (rc == OK) memcpy(dst, (void *)src, n);
	unlock();
	return rc;
}

/* ---- streams and events ---- */
#define STREAM_MAGIC 0x5713
#define EVENT_MAGIC 0xE7E7

static int enqueue(struct stream *s, struct op o) {
	if (s->nops == MAXOPS) return INVALID_VALUE;
	s->ops[s->nops++] = o;
	s->polls = stream_polls;
	return OK;
}
/* poll: NOT_READY while polls remain, else runs the queued operations. */
static int poll_stream(struct stream *s) {
	if (s->nops == 0) return OK;
	if (s->polls < 0) return NOT_READY;
	if (s->polls > 0) { s->polls--; return NOT_READY; }
	for (int i = 0; i < s->nops; i++) {
		struct op *o = &s->ops[i];
		if (o->kind == 0) memcpy(o->dst, o->src, o->n);
		else if (o->kind == 1 && o->ev->magic == EVENT_MAGIC) { o->ev->done = 1; o->ev->ms = now_ms(); }
	}
	s->nops = 0;
	return OK;
}
int cuStreamCreate(void **ps, unsigned int flags) {
	lock();
	int rc = enter("cuStreamCreate", 1);
	if (rc == OK && flags > 1) rc = INVALID_VALUE;
	if (rc == OK) {
		struct stream *s = calloc(1, sizeof *s);
		s->magic = STREAM_MAGIC; *ps = s; live_streams++;
	}
	unlock();
	return rc;
}
static int check_stream(struct stream *s) { return s && s->magic == STREAM_MAGIC ? OK : INVALID_HANDLE; }
int cuStreamQuery(struct stream *s) {
	lock();
	int rc = enter("cuStreamQuery", 1);
	if (rc == OK) rc = check_stream(s);
	if (rc == OK) rc = poll_stream(s);
	unlock();
	return rc;
}
int cuStreamSynchronize(struct stream *s) {
	lock();
	int rc = enter("cuStreamSynchronize", 1);
	if (rc == OK) rc = check_stream(s);
	if (rc == OK && s->polls < 0) rc = NOT_READY; /* a real driver would hang here */
	if (rc == OK) { s->polls = 0; rc = poll_stream(s); }
	unlock();
	return rc;
}
int cuStreamDestroy_v2(struct stream *s) {
	lock();
	int rc = enter("cuStreamDestroy_v2", 1);
	if (rc == OK) rc = check_stream(s);
	if (rc == OK) {
		if (s->polls >= 0) { s->polls = 0; poll_stream(s); } /* queued work still completes */
		s->magic = 0; live_streams--;
	} /* not freed: events may still point at it */
	unlock();
	return rc;
}
int cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, struct stream *s) {
	lock();
	int rc = enter("cuMemcpyHtoDAsync_v2", 1);
	if (rc == OK) rc = check_stream(s);
	if (rc == OK && (!find(allocs, (void *)dst, n) || !find(hosts, src, n))) rc = INVALID_VALUE;
	if (rc == OK) rc = enqueue(s, (struct op){0, (void *)dst, src, n, NULL});
	unlock();
	return rc;
}
int cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, struct stream *s) {
	lock();
	int rc = enter("cuMemcpyDtoHAsync_v2", 1);
	if (rc == OK) rc = check_stream(s);
	if (rc == OK && (!find(allocs, (void *)src, n) || !find(hosts, dst, n))) rc = INVALID_VALUE;
	if (rc == OK) rc = enqueue(s, (struct op){0, dst, (void *)src, n, NULL});
	unlock();
	return rc;
}
int cuEventCreate(struct event **pe, unsigned int flags) {
	lock();
	int rc = enter("cuEventCreate", 1);
	if (rc == OK && flags > 15) rc = INVALID_VALUE;
	if (rc == OK) {
		struct event *e = calloc(1, sizeof *e);
		e->magic = EVENT_MAGIC; *pe = e; live_events++;
	}
	unlock();
	return rc;
}
static int check_event(struct event *e) { return e && e->magic == EVENT_MAGIC ? OK : INVALID_HANDLE; }
int cuEventRecord(struct event *e, struct stream *s) {
	lock();
	int rc = enter("cuEventRecord", 1);
	if (rc == OK) rc = check_event(e);
	if (rc == OK) rc = check_stream(s);
	if (rc == OK) {
		e->recorded = 1; e->done = 0; e->s = s;
		rc = enqueue(s, (struct op){1, NULL, NULL, 0, e});
	}
	unlock();
	return rc;
}
/* The emulator runs kernels at launch, so what an event waits for is done
   once its stream has been polled idle: waiting flushes that stream. */
int cuStreamWaitEvent(struct stream *s, struct event *e, unsigned int flags) {
	lock();
	int rc = enter("cuStreamWaitEvent", 1);
	if (rc == OK) rc = check_stream(s);
	if (rc == OK) rc = check_event(e);
	if (rc == OK && flags != 0) rc = INVALID_VALUE;
	if (rc == OK && e->recorded && !e->done && e->s->polls >= 0) { e->s->polls = 0; poll_stream(e->s); }
	unlock();
	return rc;
}
int cuEventQuery(struct event *e) {
	lock();
	int rc = enter("cuEventQuery", 1);
	if (rc == OK) rc = check_event(e);
	if (rc == OK && e->recorded && !e->done) {
		rc = poll_stream(e->s);
		if (rc == OK && !e->done) rc = NOT_READY;
	}
	unlock();
	return rc;
}
int cuEventElapsedTime(float *ms, struct event *a, struct event *b) {
	lock();
	int rc = enter("cuEventElapsedTime", 1);
	if (rc == OK) rc = check_event(a);
	if (rc == OK) rc = check_event(b);
	if (rc == OK && (!a->recorded || !b->recorded)) rc = INVALID_HANDLE;
	if (rc == OK && (!a->done || !b->done)) rc = NOT_READY;
	if (rc == OK) *ms = (float)(b->ms - a->ms);
	unlock();
	return rc;
}
int cuEventDestroy_v2(struct event *e) {
	lock();
	int rc = enter("cuEventDestroy_v2", 1);
	if (rc == OK) rc = check_event(e);
	if (rc == OK) { e->magic = 0; live_events--; } /* not freed: queued operations may still point at it */
	unlock();
	return rc;
}
/* ---- modules and launches ----
   A module image is the fake NVRTC's output (testdata/fakenvrtc.c):
   "FAKEPTX <arch>\n", its options, then the source; the module's functions
   are the names that follow "__global__ void ". When the test links the
   kernels compiled for the host (testdata/emu_runtime.cpp and the
   generated trampolines), the weak emu_lookup finds each kernel and
   cuLaunchKernel runs it, one POSIX thread per CUDA thread; without them a
   launch is only recorded. Work queued on the stream before the launch
   runs first, so stream order holds. */
#ifndef NO_KERNELS /* -DNO_KERNELS: a driver without the module and launch entry points */
typedef void (*emu_tramp)(void **params);
__attribute__((weak)) emu_tramp emu_lookup(const char *name);
__attribute__((weak)) int emu_run(emu_tramp t, void **params, unsigned gx, unsigned gy, unsigned gz,
	unsigned bx, unsigned by, unsigned bz, unsigned shared);

#define MODULE_MAGIC 0x30D1
#define MAXFN 128
struct module;
struct function { char name[64]; emu_tramp tramp; struct module *m; };
struct module { int magic; int nfn; struct function fns[MAXFN]; };
static long live_modules, launches;
static struct { char name[64]; unsigned dims[7]; void *stream; } last_launch;

int cuModuleLoadDataEx(struct module **pm, const void *image, unsigned nopts, int *opts, void **vals) {
	(void)opts; (void)vals;
	lock();
	int rc = enter("cuModuleLoadDataEx", 1);
	if (rc == OK && (image == NULL || strncmp(image, "FAKEPTX ", 8) != 0 || nopts != 0)) rc = 200; /* INVALID_IMAGE */
	if (rc == OK) {
		struct module *m = calloc(1, sizeof *m);
		m->magic = MODULE_MAGIC;
		const char *p = image;
		while ((p = strstr(p, "__global__ void ")) != NULL && m->nfn < MAXFN) {
			p += 16;
			int n = 0;
			while (n < 63 && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
				m->fns[m->nfn].name[n++] = *p++;
			m->fns[m->nfn].m = m;
			if (n > 0) m->nfn++;
		}
		*pm = m;
		live_modules++;
	}
	unlock();
	return rc;
}
int cuModuleGetFunction(struct function **pf, struct module *m, const char *name) {
	lock();
	int rc = enter("cuModuleGetFunction", 1);
	if (rc == OK && (!m || m->magic != MODULE_MAGIC)) rc = INVALID_HANDLE;
	if (rc == OK) {
		rc = 500; /* NOT_FOUND */
		for (int i = 0; i < m->nfn; i++)
			if (strcmp(m->fns[i].name, name) == 0) {
				m->fns[i].tramp = emu_lookup ? emu_lookup(name) : NULL;
				*pf = &m->fns[i];
				rc = OK;
				break;
			}
	}
	unlock();
	return rc;
}
int cuModuleUnload(struct module *m) {
	lock();
	int rc = enter("cuModuleUnload", 1);
	if (rc == OK && (!m || m->magic != MODULE_MAGIC)) rc = INVALID_HANDLE;
	if (rc == OK) { m->magic = 0; free(m); live_modules--; }
	unlock();
	return rc;
}
int cuLaunchKernel(struct function *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
	unsigned shared, struct stream *s, void **params, void **extra) {
	lock();
	int rc = enter("cuLaunchKernel", 1);
	if (rc == OK && (!f || !f->m || f->m->magic != MODULE_MAGIC)) rc = INVALID_HANDLE;
	if (rc == OK && s && check_stream(s) != OK) rc = INVALID_HANDLE;
	if (rc == OK && (!gx || !gy || !gz || !bx || !by || !bz || bx * by * bz > 1024 || shared > 48 * 1024 || extra)) rc = INVALID_VALUE;
	if (rc == OK) {
		strcpy(last_launch.name, f->name);
		unsigned d[7] = {gx, gy, gz, bx, by, bz, shared};
		memcpy(last_launch.dims, d, sizeof d);
		last_launch.stream = s;
		launches++;
		if (s && s->polls >= 0) { s->polls = 0; poll_stream(s); } /* earlier work first */
		if (f->tramp && emu_run) rc = emu_run(f->tramp, params, gx, gy, gz, bx, by, bz, shared);
		if (s) { /* a kernel "runs" until the stream is polled idle; with stream_polls < 0 it hangs */
			enqueue(s, (struct op){2, NULL, NULL, 0, NULL});
			s->polls = stream_polls;
		}
	}
	unlock();
	return rc;
}
/* out: live modules, launches; name: the last kernel launched; dims: its
   grid, block and shared bytes; *stream: its stream. */
void fake_launch_stats(long long *out, char *name, unsigned *dims, void **stream) {
	lock();
	out[0] = live_modules; out[1] = launches;
	strcpy(name, last_launch.name);
	memcpy(dims, last_launch.dims, sizeof last_launch.dims);
	*stream = last_launch.stream;
	unlock();
}
#endif /* NO_KERNELS */
#endif /* DISCOVERY_ONLY */
