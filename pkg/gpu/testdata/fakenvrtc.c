/* A fake NVRTC for pkg/gpu tests, compiled by the tests with cc. Not part
   of the build. -DNO_CUBIN leaves out nvrtcGetCUBIN(Size) (NVRTC before
   11.1), -DNO_ARCHS nvrtcGet(Num)SupportedArchs (before 11.2).

   Compiling succeeds unless the source contains "#error" (the log then
   names the file and line, as NVRTC does) or an option is not one NVRTC
   knows. The "PTX" (or "CUBIN") is the text "FAKEPTX <arch>\n", the
   options, a line "--\n" and the source: the fake libcuda loads it and
   finds the kernels in it. fake_nvrtc_last returns the options of the last
   compilation. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#define SUCCESS 0
#define INVALID_INPUT 3
#define INVALID_PROGRAM 4
#define INVALID_OPTION 5
#define COMPILATION 6

struct prog { int magic; char *src, *name, *out, *log; int compiled; int sm; };
#define PROG_MAGIC 0x9C
static char last_opts[4096];
static long live_progs;
static const int archs[] = {50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90};
#define NARCHS (int)(sizeof archs / sizeof archs[0])

const char *nvrtcGetErrorString(int r) {
	switch (r) {
	case SUCCESS: return "NVRTC_SUCCESS";
	case INVALID_INPUT: return "NVRTC_ERROR_INVALID_INPUT";
	case INVALID_PROGRAM: return "NVRTC_ERROR_INVALID_PROGRAM";
	case INVALID_OPTION: return "NVRTC_ERROR_INVALID_OPTION";
	case COMPILATION: return "NVRTC_ERROR_COMPILATION";
	}
	return "NVRTC_ERROR_UNKNOWN";
}
int nvrtcVersion(int *major, int *minor) { *major = 12; *minor = 4; return SUCCESS; }
#ifndef NO_ARCHS
int nvrtcGetNumSupportedArchs(int *n) { *n = NARCHS; return SUCCESS; }
int nvrtcGetSupportedArchs(int *a) { memcpy(a, archs, sizeof archs); return SUCCESS; }
#endif
static char *dup(const char *s) { size_t n = strlen(s) + 1; char *d = malloc(n); memcpy(d, s, n); return d; }

int nvrtcCreateProgram(struct prog **pp, const char *src, const char *name, int nh, const char **h, const char **inc) {
	(void)h; (void)inc;
	if (!pp || !src || nh != 0) return INVALID_INPUT;
	struct prog *p = calloc(1, sizeof *p);
	p->magic = PROG_MAGIC; p->src = dup(src); p->name = dup(name ? name : "default_program");
	*pp = p; live_progs++;
	return SUCCESS;
}
static int check(struct prog *p) { return p && p->magic == PROG_MAGIC ? SUCCESS : INVALID_PROGRAM; }
static int known_arch(const char *a, int *sm) {
	int v;
	if (strncmp(a, "sm_", 3) == 0) { *sm = 1; v = atoi(a + 3); }
	else if (strncmp(a, "compute_", 8) == 0) { *sm = 0; v = atoi(a + 8); }
	else return 0;
	for (int i = 0; i < NARCHS; i++) if (archs[i] == v) return 1;
	return 0;
}
int nvrtcCompileProgram(struct prog *p, int nopts, const char **opts) {
	int rc = check(p);
	if (rc) return rc;
	if (nopts < 0 || (nopts > 0 && !opts)) return INVALID_INPUT;
	free(p->log); free(p->out); p->log = p->out = NULL; p->compiled = 0;
	last_opts[0] = 0;
	const char *arch = "compute_52"; /* NVRTC's default */
	char log[1024] = "";
	for (int i = 0; i < nopts; i++) {
		strncat(last_opts, opts[i], sizeof last_opts - strlen(last_opts) - 2);
		strcat(last_opts, "\n");
		if (strncmp(opts[i], "--gpu-architecture=", 19) == 0) arch = opts[i] + 19;
		else if (strcmp(opts[i], "--use_fast_math") && strncmp(opts[i], "--fmad=", 7) && strcmp(opts[i], "-lineinfo")) {
			snprintf(log, sizeof log, "nvrtc: error: unrecognized option %s\n", opts[i]);
			p->log = dup(log);
			return INVALID_OPTION;
		}
	}
	if (!known_arch(arch, &p->sm)) {
		snprintf(log, sizeof log, "nvrtc: error: invalid value for --gpu-architecture (-arch): %s\n", arch);
		p->log = dup(log);
		return INVALID_OPTION;
	}
	const char *e = strstr(p->src, "#error");
	if (e) {
		int line = 1;
		for (const char *c = p->src; c < e; c++) line += *c == '\n';
		const char *end = strchr(e, '\n');
		int n = end ? (int)(end - e) : (int)strlen(e);
		snprintf(log, sizeof log, "%s(%d): error: %.*s\n\n1 error detected in the compilation of \"%s\".\n", p->name, line, n, e, p->name);
		p->log = dup(log);
		return COMPILATION;
	}
	size_t n = strlen(arch) + strlen(last_opts) + strlen(p->src) + 32;
	p->out = malloc(n);
	snprintf(p->out, n, "FAKEPTX %s\n%s--\n%s", arch, last_opts, p->src);
	p->log = dup("");
	p->compiled = 1;
	return SUCCESS;
}
int nvrtcGetProgramLogSize(struct prog *p, size_t *n) {
	int rc = check(p);
	if (rc) return rc;
	*n = p->log ? strlen(p->log) + 1 : 1;
	return SUCCESS;
}
int nvrtcGetProgramLog(struct prog *p, char *buf) {
	int rc = check(p);
	if (rc) return rc;
	strcpy(buf, p->log ? p->log : "");
	return SUCCESS;
}
int nvrtcGetPTXSize(struct prog *p, size_t *n) {
	int rc = check(p);
	if (rc) return rc;
	if (!p->compiled) return INVALID_INPUT;
	*n = strlen(p->out) + 1;
	return SUCCESS;
}
int nvrtcGetPTX(struct prog *p, char *buf) {
	int rc = check(p);
	if (rc) return rc;
	if (!p->compiled) return INVALID_INPUT;
	strcpy(buf, p->out);
	return SUCCESS;
}
#ifndef NO_CUBIN
/* A CUBIN exists only for a real architecture (sm_XY), as with NVRTC. */
int nvrtcGetCUBINSize(struct prog *p, size_t *n) {
	int rc = check(p);
	if (rc) return rc;
	if (!p->compiled || !p->sm) return INVALID_INPUT;
	*n = strlen(p->out) + 1;
	return SUCCESS;
}
int nvrtcGetCUBIN(struct prog *p, char *buf) {
	int rc = check(p);
	if (rc) return rc;
	if (!p->compiled || !p->sm) return INVALID_INPUT;
	strcpy(buf, p->out);
	return SUCCESS;
}
#endif
int nvrtcDestroyProgram(struct prog **pp) {
	if (!pp || check(*pp)) return INVALID_PROGRAM;
	struct prog *p = *pp;
	p->magic = 0; free(p->src); free(p->name); free(p->out); free(p->log); free(p);
	*pp = NULL; live_progs--;
	return SUCCESS;
}
/* out: the options of the last compilation, one a line; returns the live programs. */
long fake_nvrtc_last(char *out, int n) {
	strncpy(out, last_opts, n - 1); out[n - 1] = 0;
	return live_progs;
}
