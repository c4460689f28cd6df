package tensor

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkElementwise runs the element-wise ops on a 64×5270 batch (the
// candle-uno input width).
func BenchmarkElementwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y, d := randT(rng, 64, 5270), randT(rng, 64, 5270), New(64, 5270)
	n := int64(x.Len()) * 4
	ops := []struct {
		name  string
		bytes int64
		f     func()
	}{
		{"Add", 3 * n, func() { _ = Add(d, x, y) }},
		{"AXPY", 3 * n, func() { _ = AXPY(d, 0.5, x) }},
		{"Scale", 2 * n, func() { _ = Scale(d, x, 0.5) }},
		{"Dot", 2 * n, func() { _, _ = Dot(x, y) }},
	}
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			b.SetBytes(o.bytes)
			b.ReportAllocs()
			for b.Loop() {
				o.f()
			}
		})
	}
}

// BenchmarkTranspose2D transposes a 1000×5270 weight matrix.
func BenchmarkTranspose2D(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	src, dst := randT(rng, 1000, 5270), New(5270, 1000)
	b.SetBytes(int64(src.Len()) * 8)
	b.ReportAllocs()
	for b.Loop() {
		_ = Transpose2D(dst, src)
	}
}
