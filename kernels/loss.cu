// Losses, forward and gradient in one pass (pkg/nn/loss.go). Each writes
// the per-row or per-element loss in float64 (out); sum_f64 adds them up,
// and the caller multiplies by the batch scale as the CPU code does.

#define GRID_STRIDE(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
	     i += (long long)blockDim.x * gridDim.x)

// CPU twin: nn.SoftmaxCrossEntropy.Loss. logits is rows×c; per row
// out[r] = log Σ exp(z−max) + max − z[label] and
// grad = (softmax(z) − onehot(label))·scale. A label outside [0, c) writes
// NaN for the row and sets *bad to the first such row + 1 (the host turns
// that into an error naming the row and label); *bad must be 0 before the
// launch. One thread per row.
extern "C" __global__ void softmax_xent_f32(double *out, float *grad, const float *logits, const int *labels,
	int *bad, int rows, int c, double scale)
{
	GRID_STRIDE(r, rows) {
		const float *z = logits + r * c;
		float *g = grad + r * c;
		int lab = labels[r];
		if (lab < 0 || lab >= c) {
			atomicCAS(bad, 0, (int)r + 1);
			out[r] = __longlong_as_double(0x7ff8000000000000LL);
			for (int i = 0; i < c; i++) g[i] = 0.0f;
			continue;
		}
		float m = z[0];
		for (int i = 0; i < c; i++) m = (z[i] > m || z[i] != z[i]) ? z[i] : m; // Go's max: NaN propagates
		double se = 0;
		for (int i = 0; i < c; i++) se += exp((double)(z[i] - m));
		double lse = log(se) + (double)m;
		out[r] = lse - (double)z[lab];
		for (int i = 0; i < c; i++) g[i] = (float)(exp((double)z[i] - lse) * scale);
		g[lab] -= (float)scale;
	}
}

// CPU twin: nn.sigmoid.
__device__ float loss_sigmoid_f32(float v)
{
	if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
	float e = expf(v);
	return e / (1.0f + e);
}

// CPU twin: nn.BCEWithLogits.Loss. Per element, in float64,
// out[i] = max(z,0) − z·y + log1p(e^−|z|) and grad[i] = (σ(z) − y)·scale,
// σ in float32 as on the CPU; scale = batch scale / elements per sample.
extern "C" __global__ void bce_logits_f32(double *out, float *grad, const float *logits, const float *target,
	int n, double scale)
{
	GRID_STRIDE(i, n) {
		double z = logits[i], y = target[i];
		double zp = (z > 0.0 || z != z) ? z : 0.0; // math.Max(z, 0): NaN propagates
		out[i] = zp - z * y + log1p(exp(-fabs(z)));
		grad[i] = (float)(((double)loss_sigmoid_f32(logits[i]) - y) * scale);
	}
}

// CPU twin: nn.MSE.Loss. Per element with a non-NaN target, in float64,
// d = pred − target, w = weights[i % last] (or uniform when weights is
// NULL), out[i] = w·d² and grad[i] = 2·w·d·bs; a NaN target gives 0 for
// both (masked out).
extern "C" __global__ void mse_masked_f32(double *out, float *grad, const float *pred, const float *target,
	const float *weights, int n, int last, double uniform, double bs)
{
	GRID_STRIDE(i, n) {
		float y = target[i];
		if (y != y) {
			out[i] = 0;
			grad[i] = 0.0f;
			continue;
		}
		double w = weights ? (double)weights[i % last] : uniform;
		double d = (double)pred[i] - (double)y;
		out[i] = w * d * d;
		grad[i] = (float)(2 * w * d * bs);
	}
}
