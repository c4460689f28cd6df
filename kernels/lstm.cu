// LSTM kernels (pkg/nn/lstm.go): the fused gate step of the forward pass,
// the fused gate-gradient step of backpropagation through time, the keyed
// dropout masks and their application over time steps. The matrix
// products (x·W, h·U and their gradients) are cuBLAS SGEMMs queued by
// pkg/gpu/gpunn between these launches.
//
// Gates are packed in Keras order i, f, c (g), o along rows of 4H. The
// activations are nn.Activation codes: 0 linear, 1 ReLU, 2 SELU,
// 3 sigmoid, 4 tanh.

#define GRID_STRIDE(i, n) \
	for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
	     i += (long long)blockDim.x * gridDim.x)

#define LSTM_SELU_SCALE 1.0507009873554804934193349852946f
#define LSTM_SELU_SCALE_ALPHA 1.7580993408473768599402175208123f

// CPU twin: nn.Activation.scalar. f(v) for activation code act.
__device__ float lstm_act(int act, float v)
{
	switch (act) {
	case 1:
		return __float_as_int(v) <= 0 ? 0.0f : v;
	case 2:
		return v > 0.0f ? LSTM_SELU_SCALE * v : LSTM_SELU_SCALE_ALPHA * expm1f(v);
	case 3:
		if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
		{
			float e = expf(v);
			return e / (1.0f + e);
		}
	case 4:
		return tanhf(v);
	}
	return v;
}

// CPU twin: nn.Activation.deriv. f'(x) from y = f(x).
__device__ float lstm_deriv(int act, float y)
{
	switch (act) {
	case 1:
		return y > 0.0f ? 1.0f : 0.0f;
	case 2:
		return y > 0.0f ? LSTM_SELU_SCALE : y + LSTM_SELU_SCALE_ALPHA;
	case 3:
		return y * (1.0f - y);
	case 4:
		return 1.0f - y * y;
	}
	return 1.0f;
}

// CPU twin: nn.LSTM.Forward (gates). Step t of the recurrence for every
// sample s < n and unit j < h, one thread per (s, j). z [n, T, 4h] holds
// x_t·W + h_{t−1}·U without the bias; it is replaced by the gate
// activations i, f, g, o (kept for backward). c, ac and hs [n, T, h]
// receive c_t, Act(c_t) and h_t; hd [n, T, h] receives row t+1 =
// h_t⊙m_h (m_h [n, h] when dropH, else 1), the next step's SGEMM input,
// and row 0 = 0 at t = 0. With last (not 0), last [n, h] receives h_t at
// t = T−1.
extern "C" __global__ void lstm_gates_fwd_f32(float *z, float *c, float *ac, float *hs, float *hd, float *lastOut,
	const float *b, const float *mh, int n, int T, int h, int t, int act, int rec, int dropH, int last)
{
	GRID_STRIDE(k, (long long)n * h) {
		long long s = k / h;
		int j = (int)(k % h);
		long long r = s * T + t;
		float *zr = z + r * 4 * h;
		float zi = lstm_act(rec, zr[j] + b[j]);
		float zf = lstm_act(rec, zr[h + j] + b[h + j]);
		float zg = lstm_act(act, zr[2 * h + j] + b[2 * h + j]);
		float zo = lstm_act(rec, zr[3 * h + j] + b[3 * h + j]);
		zr[j] = zi;
		zr[h + j] = zf;
		zr[2 * h + j] = zg;
		zr[3 * h + j] = zo;
		long long o = r * h + j;
		float cp = t > 0 ? c[o - h] : 0.0f;
		float cc = zf * cp + zi * zg;
		float a = lstm_act(act, cc);
		float hv = zo * a;
		c[o] = cc;
		ac[o] = a;
		hs[o] = hv;
		if (t == 0) hd[o] = 0.0f;
		if (t + 1 < T) hd[o + h] = dropH ? hv * mh[s * h + j] : hv;
		if (last && t == T - 1) lastOut[s * h + j] = hv;
	}
}

// CPU twin: nn.LSTM.Backward (gate gradients). Step t of backpropagation
// through time for every sample s < n and unit j < h, one thread per
// (s, j). z holds the gate activations and c, ac the cell states of the
// forward pass; dz [n, T, 4h] receives row t's gate gradients. dhn [n, h]
// is dz_{t+1}·Uᵀ (scaled by m_h when dropH) and dcn [n, h] the carried
// cell gradient; at t = T−1 both are taken as 0 and not read. dy is
// [n, T, h] when seq, else [n, h] (read at t = T−1 only). dcn receives
// dc_t⊙f_t.
extern "C" __global__ void lstm_gates_bwd_f32(float *dz, float *dcn, const float *dhn, const float *z, const float *c,
	const float *ac, const float *dy, const float *mh, int n, int T, int h, int t, int act, int rec, int dropH,
	int seq)
{
	GRID_STRIDE(k, (long long)n * h) {
		long long s = k / h;
		int j = (int)(k % h);
		long long r = s * T + t;
		long long o = r * h + j;
		long long q = s * h + j;
		float dh = 0.0f, dcin = 0.0f;
		if (t < T - 1) {
			dh = dropH ? dhn[q] * mh[q] : dhn[q];
			dcin = dcn[q];
		}
		if (seq) dh += dy[o];
		else if (t == T - 1) dh += dy[q];
		const float *zr = z + r * 4 * h;
		float i = zr[j], f = zr[h + j], g = zr[2 * h + j], og = zr[3 * h + j];
		float a = ac[o];
		float dc = dcin + dh * og * lstm_deriv(act, a);
		float cp = t > 0 ? c[o - h] : 0.0f;
		float *dr = dz + r * 4 * h;
		dr[j] = dc * g * lstm_deriv(rec, i);
		dr[h + j] = dc * cp * lstm_deriv(rec, f);
		dr[2 * h + j] = dc * i * lstm_deriv(act, g);
		dr[3 * h + j] = dh * a * lstm_deriv(rec, og);
		dcn[q] = dc * f;
	}
}

// 64×64 → high 64 bits of the product, in 32-bit halves (bits.Mul64).
__device__ unsigned long long lstm_mulhi64(unsigned long long a, unsigned long long b)
{
	unsigned long long a0 = a & 0xffffffffULL, a1 = a >> 32, b0 = b & 0xffffffffULL, b1 = b >> 32;
	unsigned long long p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	unsigned long long mid = (p00 >> 32) + (p01 & 0xffffffffULL) + (p10 & 0xffffffffULL);
	return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

// CPU twin: rand.PCG.Uint64 of Go's math/rand/v2 (128-bit LCG, DXSM
// output) on the state (hi, lo).
__device__ unsigned long long lstm_pcg_next(unsigned long long *hi, unsigned long long *lo)
{
	const unsigned long long mulHi = 2549297995355413924ULL, mulLo = 4865540595714422341ULL;
	const unsigned long long incHi = 6364136223846793005ULL, incLo = 1442695040888963407ULL;
	unsigned long long h = lstm_mulhi64(*lo, mulLo) + *hi * mulLo + *lo * mulHi;
	unsigned long long l = *lo * mulLo;
	unsigned long long l2 = l + incLo;
	h += incHi + (l2 < l ? 1ULL : 0ULL);
	*hi = h;
	*lo = l2;
	h ^= h >> 32;
	h *= 0xda942042e4dd58b5ULL;
	h ^= h >> 48;
	h *= (l2 | 1ULL);
	return h;
}

// CPU twin: nn.maskKey.fill (keyed). The keyed dropout masks of n samples
// of per elements each, one thread per sample: sample j's stream is a PCG
// seeded with (key, (first+j) ^ 0x9e3779b97f4a7c15), key already XORed
// with the layer's salt and given as two 32-bit halves; each Uint64 gives
// four 16-bit draws, kept (m = scale) when not below thr, else m = 0.
extern "C" __global__ void lstm_mask_f32(float *m, int n, int per, int keyHi, int keyLo, int first, int thr,
	float scale)
{
	GRID_STRIDE(j, n) {
		unsigned long long hi = ((unsigned long long)(unsigned)keyHi << 32) | (unsigned long long)(unsigned)keyLo;
		unsigned long long lo = (unsigned long long)((long long)first + j) ^ 0x9e3779b97f4a7c15ULL;
		float *mr = m + j * per;
		for (int i = 0; i < per;) {
			unsigned long long u = lstm_pcg_next(&hi, &lo);
			for (int q = 0; q < 4 && i < per; q++, i++) {
				mr[i] = (u & 0xffffULL) < (unsigned long long)(unsigned)thr ? 0.0f : scale;
				u >>= 16;
			}
		}
	}
}

// CPU twin: nn.LSTM.Forward (input dropout), nn.LSTM.Backward (input
// gradient dropout). y[s][t][j] = x[s][t][j]·m[s][j] over [n, T, f] with a
// per-sample mask m [n, f] fixed across time steps; y may be x.
extern "C" __global__ void lstm_mask_steps_f32(float *y, const float *x, const float *m, int n, int T, int f)
{
	GRID_STRIDE(k, (long long)n * T * f) {
		long long s = k / ((long long)T * f);
		y[k] = x[k] * m[s * f + k % f];
	}
}
