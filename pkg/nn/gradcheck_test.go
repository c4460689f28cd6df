package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/scibench/scibench/pkg/tensor"
)

// randTensor returns a tensor of the given shape with values uniform in
// [-1, 1) drawn from rng.
func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.Float64()*2 - 1)
	}
	return t
}

// gradCheck compares a layer's analytic gradients with central finite
// differences. The scalar loss is L = Σ y·r for a fixed random r, evaluated
// in float64, so dL/dy = r. It checks dL/dx and dL/dW for every param.
// The layer must be deterministic for a given input in the mode used
// (train selects the mode passed to Forward).
func gradCheck(t *testing.T, l Layer, params []*Param, x *tensor.Tensor, train bool) {
	t.Helper()
	const eps = 1e-2
	rng := rand.New(rand.NewPCG(7, 11))
	y := l.Forward(x, train)
	r := randTensor(rng, y.Shape...)
	loss := func() float64 {
		out := l.Forward(x, train)
		var s float64
		for i, v := range out.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	for _, p := range params {
		clear(p.G)
	}
	l.Forward(x, train)
	dx := l.Backward(r)
	dxCopy := append([]float32(nil), dx.Data...)
	grads := make([][]float32, len(params))
	for i, p := range params {
		grads[i] = append([]float32(nil), p.G...)
	}
	check := func(what string, vals []float32, analytic []float32) {
		t.Helper()
		bad := 0
		for i := range vals {
			old := vals[i]
			vals[i] = old + eps
			lp := loss()
			vals[i] = old - eps
			lm := loss()
			vals[i] = old
			num := (lp - lm) / (2 * eps)
			a := float64(analytic[i])
			if math.Abs(a-num) > 2e-3+2e-2*math.Max(math.Abs(a), math.Abs(num)) {
				if bad < 5 {
					t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", what, i, a, num)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d gradients differ", what, bad, len(vals))
		}
	}
	check("dx", x.Data, dxCopy)
	for i, p := range params {
		check("d"+p.Name, p.W, grads[i])
	}
}
