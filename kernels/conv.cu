// Convolution helpers, pooling, upsampling and batch normalisation
// (pkg/nn/im2col.go, pool.go, upsample.go, batchnorm.go). Tensors are
// N×C×H×W, contiguous.

#define GRID_STRIDE(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
	     i += (long long)blockDim.x * gridDim.x)

// CPU twin: nn.im2col. For one image x (C×H×W) and output rows
// [oy0, oy1), col is (C·KH·KW) × ((oy1−oy0)·OW), row-major:
//
//	col[(c·KH+i)·KW+j][(oy−oy0)·OW+ox] = x[c][oy·sh−ph+i][ox·sw−pw+j]  (0 outside x)
extern "C" __global__ void im2col_f32(float *col, const float *x, int c, int h, int w, int kh, int kw,
	int sh, int sw, int ph, int pw, int ow, int oy0, int oy1)
{
	long long t = (long long)(oy1 - oy0) * ow;
	GRID_STRIDE(k, (long long)c * kh * kw * t) {
		long long r = k / t, q = k % t;
		int j = (int)(r % kw), i = (int)((r / kw) % kh), ch = (int)(r / ((long long)kw * kh));
		int oy = oy0 + (int)(q / ow), ox = (int)(q % ow);
		int iy = oy * sh - ph + i, ix = ox * sw - pw + j;
		col[k] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((long long)ch * h + iy) * w + ix] : 0.0f;
	}
}

// CPU twin: nn.col2im, the adjoint of im2col_f32 for the same rows: every
// entry of col is added into the input position it was read from. dx is
// accumulated into (the caller clears it before the first tile). One thread
// per input element gathers its entries in the CPU's order of (i, j), so
// no atomics are needed.
extern "C" __global__ void col2im_f32(float *dx, const float *col, int c, int h, int w, int kh, int kw,
	int sh, int sw, int ph, int pw, int ow, int oy0, int oy1)
{
	long long t = (long long)(oy1 - oy0) * ow;
	GRID_STRIDE(k, (long long)c * h * w) {
		int ix = (int)(k % w), iy = (int)((k / w) % h), ch = (int)(k / ((long long)w * h));
		float s = 0.0f;
		for (int i = 0; i < kh; i++) {
			int ty = iy + ph - i;
			if (ty < 0 || ty % sh != 0) continue;
			int oy = ty / sh;
			if (oy < oy0 || oy >= oy1) continue;
			for (int j = 0; j < kw; j++) {
				int tx = ix + pw - j;
				if (tx < 0 || tx % sw != 0) continue;
				int ox = tx / sw;
				if (ox >= ow) continue;
				s += col[(((long long)ch * kh + i) * kw + j) * t + (long long)(oy - oy0) * ow + ox];
			}
		}
		dx[k] += s;
	}
}

// CPU twin: nn.MaxPool2D.Forward. planes = N·C; y[p][oy][ox] is the max of
// the window clipped to the input, arg its flat index in the plane (the
// first maximum in row-major order; a window of NaNs keeps -Inf and its
// first index, as on the CPU).
extern "C" __global__ void maxpool_fwd_f32(float *y, int *arg, const float *x, int planes, int h, int w,
	int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow)
{
	GRID_STRIDE(k, (long long)planes * oh * ow) {
		int ox = (int)(k % ow), oy = (int)((k / ow) % oh);
		long long p = k / ((long long)ow * oh);
		const float *xp = x + p * h * w;
		int y0 = oy * sh - ph, x0 = ox * sw - pw;
		int ylo = max(y0, 0), yhi = min(y0 + kh, h), xlo = max(x0, 0), xhi = min(x0 + kw, w);
		float best = -__int_as_float(0x7f800000);
		int bi = ylo * w + xlo;
		for (int iy = ylo; iy < yhi; iy++)
			for (int ix = xlo; ix < xhi; ix++) {
				float v = xp[iy * w + ix];
				if (v > best) { best = v; bi = iy * w + ix; }
			}
		y[k] = best;
		arg[k] = bi;
	}
}

// CPU twin: nn.MaxPool2D.Backward. dx[p][i] = Σ dy[p][o] over the outputs o
// whose arg is i, summed in increasing o as on the CPU; dx is overwritten
// (the CPU clears it first). One thread per input element scans the outputs
// whose window can contain it.
extern "C" __global__ void maxpool_bwd_f32(float *dx, const float *dy, const int *arg, int planes, int h, int w,
	int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow)
{
	GRID_STRIDE(k, (long long)planes * h * w) {
		int ix = (int)(k % w), iy = (int)((k / w) % h);
		long long p = k / ((long long)w * h);
		int idx = iy * w + ix;
		// oy·sh − ph ≤ iy < oy·sh − ph + kh
		int oylo = max(0, (iy + ph - kh + sh) / sh), oyhi = min(oh - 1, (iy + ph) / sh);
		int oxlo = max(0, (ix + pw - kw + sw) / sw), oxhi = min(ow - 1, (ix + pw) / sw);
		if (iy + ph - kh + sh < 0) oylo = 0;
		if (ix + pw - kw + sw < 0) oxlo = 0;
		float s = 0.0f;
		for (int oy = oylo; oy <= oyhi; oy++)
			for (int ox = oxlo; ox <= oxhi; ox++) {
				long long o = (p * oh + oy) * ow + ox;
				if (arg[o] == idx) s += dy[o];
			}
		dx[k] = s;
	}
}

// CPU twin: nn.Upsample2D.Forward (nearest, factor s): planes = N·C,
// y[p][oy][ox] = x[p][oy/s][ox/s], y being (h·s)×(w·s).
extern "C" __global__ void upsample_nearest_fwd_f32(float *y, const float *x, int planes, int h, int w, int s)
{
	int ow = w * s, oh = h * s;
	GRID_STRIDE(k, (long long)planes * oh * ow) {
		int ox = (int)(k % ow), oy = (int)((k / ow) % oh);
		long long p = k / ((long long)ow * oh);
		y[k] = x[(p * h + oy / s) * w + ox / s];
	}
}

// CPU twin: nn.Upsample2D.Backward: dx[p][i][j] = Σ_k Σ_m dy[p][i·s+k][j·s+m],
// in the CPU's order (k, then m); dx is overwritten.
extern "C" __global__ void upsample_nearest_bwd_f32(float *dx, const float *dy, int planes, int h, int w, int s)
{
	int ow = w * s, oh = h * s;
	GRID_STRIDE(q, (long long)planes * h * w) {
		int j = (int)(q % w), i = (int)((q / w) % h);
		long long p = q / ((long long)w * h);
		float acc = 0.0f;
		for (int k = 0; k < s; k++)
			for (int m = 0; m < s; m++) acc += dy[(p * oh + (long long)i * s + k) * ow + (long long)j * s + m];
		dx[q] = acc;
	}
}

// Block-wide sum of one double per thread (blockDim.x a power of two ≤ 1024).
__device__ double bn_block_sum(double v, double *sh)
{
	sh[threadIdx.x] = v;
	__syncthreads();
	for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
		__syncthreads();
	}
	double r = sh[0];
	__syncthreads();
	return r;
}

// CPU twin: the statistics pass of nn.BatchNorm.Forward in train mode: per
// channel Σx and Σx² in float64, then mean, 1/sqrt(var+eps) (biased
// variance, clamped at 0) and the running averages with the unbiased
// variance: running = (1−momentum)·running + momentum·batch. One block per
// channel (blocks stride over channels); blockDim.x a power of two ≤ 1024;
// dynamic shared memory 2·blockDim.x doubles.
extern "C" __global__ void batchnorm_stats_f32(double *mean, double *invstd, float *run_mean, float *run_var,
	const float *x, int n, int c, int hw, double momentum, double eps)
{
	extern __shared__ double sh[];
	for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
		double s = 0, ss = 0;
		for (long long k = threadIdx.x; k < (long long)n * hw; k += blockDim.x) {
			long long b = k / hw, i = k % hw;
			double f = x[(b * c + ch) * hw + i];
			s += f;
			ss += f * f;
		}
		s = bn_block_sum(s, sh);
		ss = bn_block_sum(ss, sh + blockDim.x);
		if (threadIdx.x == 0) {
			double m = (double)n * hw;
			double mu = s / m;
			double v = fmax(ss / m - mu * mu, 0.0);
			mean[ch] = mu;
			invstd[ch] = 1.0 / sqrt(v + eps);
			double unbiased = m > 1 ? v * m / (m - 1) : v;
			run_mean[ch] = (float)((1 - momentum) * (double)run_mean[ch] + momentum * mu);
			run_var[ch] = (float)((1 - momentum) * (double)run_var[ch] + momentum * unbiased);
		}
	}
}

// CPU twin: the eval branch of nn.BatchNorm.Forward: mean = running mean,
// invstd = 1/sqrt(running var + eps), in float64.
extern "C" __global__ void batchnorm_eval_stats_f32(double *mean, double *invstd, const float *run_mean,
	const float *run_var, int c, double eps)
{
	GRID_STRIDE(ch, c) {
		mean[ch] = (double)run_mean[ch];
		invstd[ch] = 1.0 / sqrt((double)run_var[ch] + eps);
	}
}

// CPU twin: the normalisation of nn.BatchNorm.Forward: x̂ = (x−μ)·σ⁻¹ and
// y = γ·x̂ + β in float32 (μ and σ⁻¹ rounded to float32 first), then
// max(y, 0) when relu is 1 (the fused ReLU); other fused activations run
// as their own kernel on y, as Activation.apply does on the CPU.
extern "C" __global__ void batchnorm_fwd_f32(float *y, float *xhat, const float *x, const double *mean,
	const double *invstd, const float *gamma, const float *beta, int n, int c, int hw, int relu)
{
	GRID_STRIDE(k, (long long)n * c * hw) {
		int ch = (int)((k / hw) % c);
		float mu = (float)mean[ch], is = (float)invstd[ch];
		float h = (x[k] - mu) * is;
		xhat[k] = h;
		float v = gamma[ch] * h + beta[ch];
		// Go's max(v, 0): NaN stays NaN, -0 gives +0 (fmaxf would drop the NaN)
		y[k] = relu ? (v > 0.0f || v != v ? v : 0.0f) : v;
	}
}

// CPU twin: the reduction of nn.BatchNorm.Backward: per channel
// sum = Σ g and dot = Σ g·x̂ in float64, γ.G += float32(dot) and
// β.G += float32(sum), where g is dy already multiplied by the fused
// activation's derivative. One block per channel (blocks stride over
// channels); blockDim.x a power of two ≤ 1024; dynamic shared memory
// 2·blockDim.x doubles.
extern "C" __global__ void batchnorm_bwd_reduce_f32(double *sum, double *dot, float *dgamma, float *dbeta,
	const float *g, const float *xhat, int n, int c, int hw)
{
	extern __shared__ double sh[];
	for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
		double s = 0, d = 0;
		for (long long k = threadIdx.x; k < (long long)n * hw; k += blockDim.x) {
			long long o = (k / hw * c + ch) * hw + k % hw;
			double v = g[o];
			s += v;
			d += v * (double)xhat[o];
		}
		s = bn_block_sum(s, sh);
		d = bn_block_sum(d, sh + blockDim.x);
		if (threadIdx.x == 0) {
			sum[ch] = s;
			dot[ch] = d;
			dgamma[ch] += (float)d;
			dbeta[ch] += (float)s;
		}
	}
}

// CPU twin: the input gradient of nn.BatchNorm.Backward, with
// k = float32(γ·σ⁻¹): in train mode (train 1) dx = k·(g − sum/m − x̂·dot/m),
// m = n·hw, in eval mode dx = k·g. dx may be g.
extern "C" __global__ void batchnorm_bwd_dx_f32(float *dx, const float *g, const float *xhat,
	const double *sum, const double *dot, const double *invstd, const float *gamma, int n, int c, int hw, int train)
{
	double m = (double)n * hw;
	GRID_STRIDE(i, (long long)n * c * hw) {
		int ch = (int)((i / hw) % c);
		float k = (float)((double)gamma[ch] * invstd[ch]);
		if (!train) {
			dx[i] = k * g[i];
		} else {
			float ms = (float)(sum[ch] / m), md = (float)(dot[ch] / m);
			dx[i] = k * (g[i] - ms - xhat[i] * md);
		}
	}
}
