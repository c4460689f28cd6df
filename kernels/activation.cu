// Activations and their backward passes (pkg/nn/activation.go). Backward
// passes take the forward output y, as the CPU code does.

#define GRID_STRIDE(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
	     i += (long long)blockDim.x * gridDim.x)

#define SELU_SCALE 1.0507009873554804934193349852946f
#define SELU_SCALE_ALPHA 1.7580993408473768599402175208123f // scale·alpha

// CPU twin: nn.Activation.apply for ReLUAct. Negative values and -0 give
// +0, a NaN with the sign bit set gives +0, one with it clear passes: the
// CPU code tests the sign of the bits, and so does this.
extern "C" __global__ void relu_fwd_f32(float *y, const float *x, int n)
{
	GRID_STRIDE(i, n) {
		int b = __float_as_int(x[i]);
		y[i] = b <= 0 ? 0.0f : x[i];
	}
}

// CPU twin: nn.Activation.backward for ReLUAct. dx = dy where y > 0, else 0.
extern "C" __global__ void relu_bwd_f32(float *dx, const float *dy, const float *y, int n)
{
	GRID_STRIDE(i, n) { dx[i] = y[i] > 0.0f ? dy[i] : 0.0f; }
}

// CPU twin: nn.Activation.apply for SELUAct (scale·x for x > 0, else
// scale·alpha·(eˣ−1)).
extern "C" __global__ void selu_fwd_f32(float *y, const float *x, int n)
{
	GRID_STRIDE(i, n) {
		float v = x[i];
		y[i] = v > 0.0f ? SELU_SCALE * v : SELU_SCALE_ALPHA * expm1f(v);
	}
}

// CPU twin: nn.seluBackward. dx = dy·scale where y > 0, else dy·(y + scale·alpha).
extern "C" __global__ void selu_bwd_f32(float *dx, const float *dy, const float *y, int n)
{
	GRID_STRIDE(i, n) {
		float v = y[i];
		dx[i] = dy[i] * (v > 0.0f ? SELU_SCALE : v + SELU_SCALE_ALPHA);
	}
}

// CPU twin: nn.sigmoid (the same two branches, stable for large |x|).
__device__ float sigmoid_f32(float v)
{
	if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
	float e = expf(v);
	return e / (1.0f + e);
}

// CPU twin: nn.Activation.apply for SigmoidAct.
extern "C" __global__ void sigmoid_fwd_f32(float *y, const float *x, int n)
{
	GRID_STRIDE(i, n) { y[i] = sigmoid_f32(x[i]); }
}

// CPU twin: nn.Activation.backward for SigmoidAct. dx = dy·y·(1−y).
extern "C" __global__ void sigmoid_bwd_f32(float *dx, const float *dy, const float *y, int n)
{
	GRID_STRIDE(i, n) { dx[i] = dy[i] * y[i] * (1.0f - y[i]); }
}

// CPU twin: nn.Activation.apply for TanhAct (nn.tanh32).
extern "C" __global__ void tanh_fwd_f32(float *y, const float *x, int n)
{
	GRID_STRIDE(i, n) { y[i] = tanhf(x[i]); }
}

// CPU twin: nn.Activation.backward for TanhAct. dx = dy·(1−y²).
extern "C" __global__ void tanh_bwd_f32(float *dx, const float *dy, const float *y, int n)
{
	GRID_STRIDE(i, n) { dx[i] = dy[i] * (1.0f - y[i] * y[i]); }
}
