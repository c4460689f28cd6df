// Element-wise float32 kernels, reductions and bias helpers.
//
// Every kernel is extern "C" (so NVRTC keeps its name), takes float32
// buffers and element counts as int, and walks its range with a grid-stride
// loop, so any grid size is correct. The comment above each kernel names its
// CPU twin in pkg/nn, pkg/optim or pkg/tensor; the two compute the same
// thing, up to float32 rounding where the summation order differs.

#define GRID_STRIDE(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
	     i += (long long)blockDim.x * gridDim.x)

// CPU twin: tensor.Fill. y[i] = v.
extern "C" __global__ void fill_f32(float *y, float v, int n)
{
	GRID_STRIDE(i, n) { y[i] = v; }
}

// CPU twin: tensor.Add and nn.Add.Forward2. y[i] = a[i] + b[i].
extern "C" __global__ void add_f32(float *y, const float *a, const float *b, int n)
{
	GRID_STRIDE(i, n) { y[i] = a[i] + b[i]; }
}

// CPU twin: tensor.Mul. y[i] = a[i] * b[i].
extern "C" __global__ void mul_f32(float *y, const float *a, const float *b, int n)
{
	GRID_STRIDE(i, n) { y[i] = a[i] * b[i]; }
}

// CPU twin: tensor.Scale. y[i] = s * x[i] (y may be x).
extern "C" __global__ void scale_f32(float *y, const float *x, float s, int n)
{
	GRID_STRIDE(i, n) { y[i] = x[i] * s; }
}

// CPU twin: tensor.AXPY. y[i] += alpha * x[i].
extern "C" __global__ void axpy_f32(float *y, float alpha, const float *x, int n)
{
	GRID_STRIDE(i, n) { y[i] += alpha * x[i]; }
}

// CPU twin: nn.Dropout.Forward and nn.Dropout.Backward (y = x ⊙ mask, the
// mask holding 0 or 1/(1-rate), made on the host so CPU and GPU runs draw
// the same one). y may be x.
extern "C" __global__ void dropout_apply_f32(float *y, const float *x, const float *mask, int n)
{
	GRID_STRIDE(i, n) { y[i] = x[i] * mask[i]; }
}

// CPU twin: the bias rows of nn.Dense.Forward. y is rows×cols row-major;
// y[r][j] += b[j]. (Dense.Forward writes the bias first and accumulates the
// product; on the GPU the SGEMM runs first with beta 0.)
extern "C" __global__ void bias_add_rows_f32(float *y, const float *b, int rows, int cols)
{
	GRID_STRIDE(i, (long long)rows * cols) { y[i] += b[i % cols]; }
}

// CPU twin: the bias of nn.Conv2D.Forward. y is N×C×HW; y[n][c][i] += b[c].
extern "C" __global__ void bias_add_channels_f32(float *y, const float *b, int n, int c, int hw)
{
	GRID_STRIDE(i, (long long)n * c * hw) { y[i] += b[(i / hw) % c]; }
}

// CPU twin: the bias gradient of nn.Dense.Backward (g[j] += Σ_r dy[r][j]).
// One thread per column, rows summed in order in float32 as the CPU does.
extern "C" __global__ void bias_grad_rows_f32(float *g, const float *dy, int rows, int cols)
{
	GRID_STRIDE(j, cols) {
		float s = g[j];
		for (int r = 0; r < rows; r++) s += dy[(long long)r * cols + j];
		g[j] = s;
	}
}

// Block-wide sum of one double per thread (blockDim.x a power of two, at
// most 1024); the result is valid in thread 0.
__device__ double block_sum_f64(double v, double *sh)
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

// CPU twin: the bias gradient of nn.Conv2D.Backward
// (g[c] += Σ_n Σ_i dy[n][c][i]). One block per channel (gridDim.x ≥ c is
// not needed: blocks stride over channels); blockDim.x a power of two ≤ 1024;
// dynamic shared memory blockDim.x doubles. Summed in float64 (the CPU
// sums each image's plane in float32): equal up to rounding.
extern "C" __global__ void bias_grad_channels_f32(float *g, const float *dy, int n, int c, int hw)
{
	extern __shared__ double sh[];
	for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
		double s = 0;
		for (long long k = threadIdx.x; k < (long long)n * hw; k += blockDim.x) {
			long long b = k / hw, i = k % hw;
			s += dy[(b * c + ch) * hw + i];
		}
		s = block_sum_f64(s, sh);
		if (threadIdx.x == 0) g[ch] += (float)s;
	}
}

// CPU twin: tensor.Sum and the float64 loss sums of nn's losses: out[0] =
// Σ x[i] in float64. Run with one block (blockDim.x a power of two ≤ 1024,
// dynamic shared memory blockDim.x doubles).
extern "C" __global__ void sum_f64(double *out, const double *x, int n)
{
	extern __shared__ double sh[];
	double s = 0;
	for (long long i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
	s = block_sum_f64(s, sh);
	if (threadIdx.x == 0 && blockIdx.x == 0) out[0] = s;
}

// CPU twin: nn.GlobalAvgPool.Forward. y[p] = (Σ_i x[p][i]) / hw in float64,
// p over N·C planes of hw elements; one thread per plane.
extern "C" __global__ void gap_fwd_f32(float *y, const float *x, int planes, int hw)
{
	GRID_STRIDE(p, planes) {
		double s = 0;
		for (int i = 0; i < hw; i++) s += x[p * hw + i];
		y[p] = (float)(s * (1.0 / hw));
	}
}

// CPU twin: nn.GlobalAvgPool.Backward. dx[p][i] = dy[p] · (1/hw).
extern "C" __global__ void gap_bwd_f32(float *dx, const float *dy, int planes, int hw)
{
	float inv = 1.0f / (float)hw;
	GRID_STRIDE(i, (long long)planes * hw) { dx[i] = dy[i / hw] * inv; }
}
