// Multi-input merges and the row softmax (pkg/nn/concat.go, activation.go).
// Tensors are contiguous, batch first.

#define GRID_STRIDE(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
	     i += (long long)blockDim.x * gridDim.x)

// CPU twin: nn.Concat.Forward2. For n samples, a holds ea and b eb
// elements per sample; sample i of y is a's sample i followed by b's
// (ea = Ca·inner, eb = Cb·inner for a join along axis 1).
extern "C" __global__ void concat_fwd_f32(float *y, const float *a, const float *b, int n, int ea, int eb)
{
	long long e = (long long)ea + eb;
	GRID_STRIDE(k, (long long)n * e) {
		long long i = k / e, r = k % e;
		y[k] = r < ea ? a[i * ea + r] : b[i * eb + (r - ea)];
	}
}

// CPU twin: nn.Concat.Backward2, the adjoint of concat_fwd_f32: dy is split
// back into da (ea per sample) and db (eb per sample).
extern "C" __global__ void concat_bwd_f32(float *da, float *db, const float *dy, int n, int ea, int eb)
{
	long long e = (long long)ea + eb;
	GRID_STRIDE(k, (long long)n * e) {
		long long i = k / e, r = k % e;
		if (r < ea)
			da[i * ea + r] = dy[k];
		else
			db[i * eb + (r - ea)] = dy[k];
	}
}

// CPU twin: nn.Softmax.Forward (nn.softmaxRows). One thread per row of k:
// m = max of the row (float32 max, as Go's max), e = exp(float64(x − m)),
// the sum in float64 in row order, y = float32(e)·float32(1/sum).
extern "C" __global__ void softmax_fwd_f32(float *y, const float *x, int rows, int k)
{
	GRID_STRIDE(r, rows) {
		const float *xr = x + r * k;
		float *yr = y + r * k;
		float m = xr[0];
		for (int i = 0; i < k; i++) {
			float v = xr[i];
			// Go's max: a NaN wins
			m = (v != v || m != m) ? (m != m ? m : v) : (v > m ? v : m);
		}
		double s = 0;
		for (int i = 0; i < k; i++) {
			double e = exp((double)(xr[i] - m));
			yr[i] = (float)e;
			s += e;
		}
		float inv = (float)(1.0 / s);
		for (int i = 0; i < k; i++) yr[i] *= inv;
	}
}

// CPU twin: nn.Softmax.Backward. One thread per row of k:
// s = Σ y·dy in float32 in row order, dx = y·(dy − s).
extern "C" __global__ void softmax_bwd_f32(float *dx, const float *dy, const float *y, int rows, int k)
{
	GRID_STRIDE(r, rows) {
		const float *yr = y + r * k, *dr = dy + r * k;
		float *xr = dx + r * k;
		float s = 0.0f;
		for (int i = 0; i < k; i++) s += yr[i] * dr[i];
		for (int i = 0; i < k; i++) xr[i] = yr[i] * (dr[i] - s);
	}
}
