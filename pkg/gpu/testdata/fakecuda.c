/* A fake CUDA driver for pkg/gpu tests: compiled by the test with cc,
   NDEV and INIT_RC chosen with -D. Not part of the build. */
#include <string.h>
#ifndef NDEV
#define NDEV 2
#endif
#ifndef INIT_RC
#define INIT_RC 0
#endif
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
