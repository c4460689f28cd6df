// Batched convolution helpers: im2col and col2im over all the samples of
// a batch in one launch, and the sum over samples of per-sample weight
// gradients (pkg/gpu/gpunn's Conv2D). Tensors are N×C×H×W, contiguous.

#define GRID_STRIDE(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
	     i += (long long)blockDim.x * gridDim.x)

// CPU twin: nn.im2col (whole output rows, applied to each sample). For n
// images x (n×C×H×W) col is n × (C·KH·KW) × (OH·OW), row-major:
//
//	col[b][(c·KH+i)·KW+j][oy·OW+ox] = x[b][c][oy·sh−ph+i][ox·sw−pw+j]  (0 outside x)
extern "C" __global__ void im2col_batch_f32(float *col, const float *x, int n, int c, int h, int w, int kh, int kw,
	int sh, int sw, int ph, int pw, int oh, int ow)
{
	long long t = (long long)oh * ow, rows = (long long)c * kh * kw;
	GRID_STRIDE(k, (long long)n * rows * t) {
		long long b = k / (rows * t), r = (k / t) % rows, q = k % t;
		int j = (int)(r % kw), i = (int)((r / kw) % kh), ch = (int)(r / ((long long)kw * kh));
		int oy = (int)(q / ow), ox = (int)(q % ow);
		int iy = oy * sh - ph + i, ix = ox * sw - pw + j;
		col[k] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((b * c + ch) * h + iy) * w + ix] : 0.0f;
	}
}

// CPU twin: nn.col2im (whole output rows, each sample's dx cleared first),
// the adjoint of im2col_batch_f32: dx[b][c][y][x] is overwritten with the
// sum of the entries of col[b] read from that position, gathered by one
// thread per input element in the CPU's order of (i, j), so no atomics and
// no clearing launch are needed.
extern "C" __global__ void col2im_batch_f32(float *dx, const float *col, int n, int c, int h, int w, int kh, int kw,
	int sh, int sw, int ph, int pw, int oh, int ow)
{
	long long t = (long long)oh * ow, rows = (long long)c * kh * kw;
	GRID_STRIDE(k, (long long)n * c * h * w) {
		int ix = (int)(k % w), iy = (int)((k / w) % h), ch = (int)((k / ((long long)w * h)) % c);
		long long b = k / ((long long)w * h * c);
		const float *cb = col + b * rows * t;
		float s = 0.0f;
		for (int i = 0; i < kh; i++) {
			int ty = iy + ph - i;
			if (ty < 0 || ty % sh != 0) continue;
			int oy = ty / sh;
			if (oy >= oh) continue;
			for (int j = 0; j < kw; j++) {
				int tx = ix + pw - j;
				if (tx < 0 || tx % sw != 0) continue;
				int ox = tx / sw;
				if (ox >= ow) continue;
				s += cb[(((long long)ch * kh + i) * kw + j) * t + (long long)oy * ow + ox];
			}
		}
		dx[k] = s;
	}
}

// CPU twin: nn.Conv2D.Backward (weight gradient: the per-sample products
// summed over the batch). g[i] += Σ_b s[b·len + i], the samples summed in
// order b = 0, 1, … in float32 before the one addition into g.
extern "C" __global__ void sum_samples_f32(float *g, const float *s, int n, int len)
{
	GRID_STRIDE(i, len) {
		float acc = 0.0f;
		for (int b = 0; b < n; b++) acc += s[(long long)b * len + i];
		g[i] += acc;
	}
}
