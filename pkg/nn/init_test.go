package nn

import (
	"math"
	"testing"
)

func moments(w []float32) (mean, std, maxAbs float64) {
	for _, v := range w {
		mean += float64(v)
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
	}
	mean /= float64(len(w))
	for _, v := range w {
		std += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(std / float64(len(w))), maxAbs
}

func TestInitDistributions(t *testing.T) {
	const rows, cols = 300, 500
	for _, c := range []struct {
		name    string
		init    Init
		std     float64 // of the result
		maxAbs  float64 // bound on |w|
		nearMax bool    // values reach close to the bound
	}{
		{"glorot_uniform", GlorotUniform, math.Sqrt(2.0 / (rows + cols)), math.Sqrt(6.0 / (rows + cols)), true},
		{"glorot_normal", GlorotNormal, math.Sqrt(2.0 / (rows + cols)), 2 * math.Sqrt(2.0/(rows+cols)) / truncScale, true},
		{"he_normal", HeNormal, math.Sqrt(2.0 / rows), 2 * math.Sqrt(2.0/rows) / truncScale, true},
	} {
		w := make([]float32, rows*cols)
		c.init(w, rows, cols, NewRand(2018))
		mean, std, m := moments(w)
		if math.Abs(mean) > 0.01*c.std || math.Abs(std-c.std) > 0.01*c.std {
			t.Errorf("%s: mean %g std %g, want 0 and %g", c.name, mean, std, c.std)
		}
		if m > c.maxAbs*(1+1e-6) || m < 0.98*c.maxAbs {
			t.Errorf("%s: max |w| %g, want just under %g", c.name, m, c.maxAbs)
		}
		w2 := make([]float32, rows*cols)
		c.init(w2, rows, cols, NewRand(2018))
		for i := range w {
			if w[i] != w2[i] {
				t.Fatalf("%s: not reproducible for a seed", c.name)
			}
		}
	}
}

func TestOrthogonal(t *testing.T) {
	for _, s := range [][2]int{{16, 64}, {48, 192}, {7, 7}, {20, 5}} {
		rows, cols := s[0], s[1]
		w := make([]float32, rows*cols)
		Orthogonal(w, rows, cols, NewRand(uint64(rows)))
		// Gram matrix of the short side must be the identity.
		k, n := rows, cols
		at := func(i, j int) float64 { return float64(w[i*cols+j]) }
		if rows > cols {
			k, n = cols, rows
			at = func(i, j int) float64 { return float64(w[j*cols+i]) }
		}
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				var d float64
				for x := 0; x < n; x++ {
					d += at(i, x) * at(j, x)
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(d-want) > 1e-5 {
					t.Fatalf("%dx%d: gram[%d][%d] = %g, want %g", rows, cols, i, j, d, want)
				}
			}
		}
	}
}
