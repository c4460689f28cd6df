/* A fake NVML for pkg/energy tests: compiled by the tests with cc. NDEV
   GPUs; -DNO_ENERGY makes nvmlDeviceGetTotalEnergyConsumption answer
   NOT_SUPPORTED (a pre-Volta GPU), -DINIT_RC sets nvmlInit_v2's result.
   The fake_nvml_* functions let the tests change readings and inject
   failures. Not part of the build. */
#include <string.h>
#ifndef NDEV
#define NDEV 2
#endif
#ifndef INIT_RC
#define INIT_RC 0
#endif

struct dev { int magic; int idx; };
static struct dev devs[NDEV > 0 ? NDEV : 1];
static unsigned long long energy_mj[NDEV > 0 ? NDEV : 1];
static unsigned int power_mw[NDEV > 0 ? NDEV : 1];
static int inits;
static char fail_call[64];
static int fail_rc;

static int check(const char *call) {
	if (fail_call[0] && strcmp(call, fail_call) == 0) return fail_rc;
	return 0;
}
static int valid(struct dev *d) { return d && d->magic == 0x4E564D4C; }

void fake_nvml_set(int i, unsigned long long mj, unsigned int mw) { energy_mj[i] = mj; power_mw[i] = mw; }
void fake_nvml_fail(const char *call, int rc) { strncpy(fail_call, call, sizeof fail_call - 1); fail_rc = rc; }
int fake_nvml_inits(void) { return inits; }

int nvmlInit_v2(void) {
	int rc = check("nvmlInit_v2");
	if (rc == 0) rc = INIT_RC;
	if (rc == 0) inits++;
	return rc;
}
int nvmlShutdown(void) {
	if (inits <= 0) return 1; /* UNINITIALIZED */
	inits--;
	return check("nvmlShutdown");
}
int nvmlDeviceGetCount_v2(unsigned int *n) {
	if (inits <= 0) return 1;
	int rc = check("nvmlDeviceGetCount_v2");
	if (rc == 0) *n = NDEV;
	return rc;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, struct dev **h) {
	if (inits <= 0) return 1;
	if (i >= NDEV) return 2;
	int rc = check("nvmlDeviceGetHandleByIndex_v2");
	if (rc == 0) { devs[i].magic = 0x4E564D4C; devs[i].idx = i; *h = &devs[i]; }
	return rc;
}
int nvmlDeviceGetPowerUsage(struct dev *d, unsigned int *mw) {
	if (inits <= 0) return 1;
	if (!valid(d)) return 2;
	int rc = check("nvmlDeviceGetPowerUsage");
	if (rc == 0) *mw = power_mw[d->idx];
	return rc;
}
int nvmlDeviceGetTotalEnergyConsumption(struct dev *d, unsigned long long *mj) {
	if (inits <= 0) return 1;
	if (!valid(d)) return 2;
#ifdef NO_ENERGY
	return 3; /* NOT_SUPPORTED */
#else
	int rc = check("nvmlDeviceGetTotalEnergyConsumption");
	if (rc == 0) *mj = energy_mj[d->idx];
	return rc;
#endif
}
