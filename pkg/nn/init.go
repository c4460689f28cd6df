package nn

import (
	"math"
	"math/rand/v2"
)

// truncScale is the standard deviation of a unit normal truncated to
// [-2, 2]; Keras divides by it so the truncated draw keeps the target σ.
const truncScale = 0.87962566103423978

// Init fills w, a parameter viewed as a rows×cols matrix (fan_in = rows,
// fan_out = cols, as Keras computes fans for a Dense kernel), with values
// drawn from rng. Every initialiser is deterministic for a given rng state.
type Init func(w []float32, rows, cols int, rng *rand.Rand)

// NewRand returns the package's seeded generator (PCG). Equal seeds give
// equal streams on every platform.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5c1be7c4))
}

// Zeros sets every element to 0.
func Zeros(w []float32, _, _ int, _ *rand.Rand) { clear(w) }

// GlorotUniform draws U(-l, l) with l = sqrt(6/(fan_in+fan_out)).
func GlorotUniform(w []float32, rows, cols int, rng *rand.Rand) {
	l := math.Sqrt(6 / float64(rows+cols))
	for i := range w {
		w[i] = float32((rng.Float64()*2 - 1) * l)
	}
}

// truncNormal draws N(0, σ²) truncated at ±2σ by resampling, as Keras'
// TruncatedNormal does.
func truncNormal(w []float32, sigma float64, rng *rand.Rand) {
	for i := range w {
		v := rng.NormFloat64()
		for v < -2 || v > 2 {
			v = rng.NormFloat64()
		}
		w[i] = float32(v * sigma)
	}
}

// GlorotNormal draws a normal truncated at 2σ' with
// σ' = sqrt(2/(fan_in+fan_out))/0.87962566 (Keras glorot_normal).
func GlorotNormal(w []float32, rows, cols int, rng *rand.Rand) {
	truncNormal(w, math.Sqrt(2/float64(rows+cols))/truncScale, rng)
}

// HeNormal draws a normal truncated at 2σ' with
// σ' = sqrt(2/fan_in)/0.87962566 (Keras he_normal).
func HeNormal(w []float32, rows, cols int, rng *rand.Rand) {
	truncNormal(w, math.Sqrt(2/float64(rows))/truncScale, rng)
}

// Orthogonal fills the rows×cols matrix with a random orthogonal matrix
// (Keras orthogonal, gain 1): orthonormal rows when rows ≤ cols, orthonormal
// columns otherwise. It orthonormalises a standard normal matrix with
// modified Gram-Schmidt in float64, which equals QR with the sign of R's
// diagonal made positive.
func Orthogonal(w []float32, rows, cols int, rng *rand.Rand) {
	// Work on the short side: k vectors of length n.
	k, n := rows, cols
	if rows > cols {
		k, n = cols, rows
	}
	v := make([]float64, k*n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	for i := 0; i < k; i++ {
		vi := v[i*n : (i+1)*n]
		for j := 0; j < i; j++ {
			vj := v[j*n : (j+1)*n]
			var d float64
			for t := range vi {
				d += vi[t] * vj[t]
			}
			for t := range vi {
				vi[t] -= d * vj[t]
			}
		}
		var s float64
		for _, x := range vi {
			s += x * x
		}
		s = math.Sqrt(s)
		if s == 0 {
			s = 1
		}
		for t := range vi {
			vi[t] /= s
		}
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if rows <= cols {
				w[r*cols+c] = float32(v[r*n+c])
			} else {
				w[r*cols+c] = float32(v[c*n+r])
			}
		}
	}
}
