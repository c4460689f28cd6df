// Fused optimizer updates (pkg/optim). The per-step scalars are computed
// on the host in float64 and rounded to float32 as the CPU code does, then
// passed in; each kernel is one pass over the parameters.

#define GRID_STRIDE(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
	     i += (long long)blockDim.x * gridDim.x)

// CPU twin: optim.Adam.StepRange (Adam and AdamW). With l2 ≠ 0 (L2 weight
// decay, not decoupled) g += l2·θ first; decay is 1 − lr·wd for AdamW, else 1:
//
//	m ← b1·m + c1·g;  v ← b2·v + c2·g·g;  θ ← θ·decay − lrt·m/(√v + eps)
extern "C" __global__ void adam_f32(float *w, const float *g, float *m, float *v, int n, float lrt, float b1,
	float c1, float b2, float c2, float eps, float decay, float l2)
{
	GRID_STRIDE(i, n) {
		float gi = g[i];
		if (l2 != 0.0f) gi += l2 * w[i];
		float mi = b1 * m[i] + c1 * gi;
		float vi = b2 * v[i] + c2 * gi * gi;
		m[i] = mi;
		v[i] = vi;
		w[i] = w[i] * decay - lrt * mi / (sqrtf(vi) + eps);
	}
}

// CPU twin: optim.Adamax.StepRange. l2 and decay as for adam_f32:
//
//	m ← b1·m + c1·g;  u ← max(b2·u, |g|);  θ ← θ·decay − lrt·m/(u + eps)
extern "C" __global__ void adamax_f32(float *w, const float *g, float *m, float *u, int n, float lrt, float b1,
	float c1, float b2, float eps, float decay, float l2)
{
	GRID_STRIDE(i, n) {
		float gi = g[i];
		if (l2 != 0.0f) gi += l2 * w[i];
		float mi = b1 * m[i] + c1 * gi;
		float a = b2 * u[i], b = fabsf(gi);
		float ui = a > b ? a : b; // optim.max32: a NaN gradient propagates, as on the CPU
		m[i] = mi;
		u[i] = ui;
		w[i] = w[i] * decay - lrt * mi / (ui + eps);
	}
}

// CPU twin: optim.SGD.Step without momentum: θ ← θ − lr·(g + wd·θ).
extern "C" __global__ void sgd_f32(float *w, const float *g, int n, float lr, float wd)
{
	GRID_STRIDE(i, n) { w[i] -= lr * (g[i] + wd * w[i]); }
}

// CPU twin: optim.SGD.Step with momentum mu (Keras form):
//
//	v ← mu·v − lr·(g + wd·θ);  θ ← θ + v
//	Nesterov (nesterov 1): g' = g + wd·θ; v ← mu·v − lr·g'; θ ← θ + mu·v − lr·g'
extern "C" __global__ void sgd_momentum_f32(float *w, const float *g, float *v, int n, float lr, float mu,
	float wd, int nesterov)
{
	GRID_STRIDE(i, n) {
		float gi = g[i] + wd * w[i];
		float vi = mu * v[i] - lr * gi;
		v[i] = vi;
		if (nesterov) w[i] += mu * vi - lr * gi;
		else w[i] += vi;
	}
}
