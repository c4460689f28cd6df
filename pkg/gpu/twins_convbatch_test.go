//go:build linux && (amd64 || arm64)

package gpu_test

import (
	"fmt"
	"testing"

	"github.com/scibench/scibench/pkg/gpu"
)

// The kernels of kernels/conv_batch.cu (im2col_batch_f32,
// col2im_batch_f32, sum_samples_f32) against their CPU twins, applied
// sample by sample, with guard bands, on the emulator and on a real GPU
// when there is one.

func runConvBatchTwins(t *testing.T, c *gpu.Context, m *gpu.Module, block, maxGrid int) {
	mk := envMaker(t, c, m, block, maxGrid, 13)
	t.Run("im2col batch", func(t *testing.T) { testIm2colBatch(mk(t)) })
	t.Run("sum samples", func(t *testing.T) { testSumSamples(mk(t)) })
}

func testIm2colBatch(e *env) {
	t := e.t
	for _, g := range []struct{ n, c, h, w, k, s, p int }{
		{3, 2, 5, 6, 3, 1, 1}, {2, 3, 7, 6, 3, 2, 1}, {1, 1, 4, 4, 2, 2, 0}, {2, 2, 6, 5, 5, 1, 2}, {3, 2, 3, 4, 1, 2, 0},
	} {
		oh, ow := (g.h+2*g.p-g.k)/g.s+1, (g.w+2*g.p-g.k)/g.s+1
		name := fmt.Sprintf("n%d c%d h%d w%d k%d s%d p%d", g.n, g.c, g.h, g.w, g.k, g.s, g.p)
		chw, rows := g.c*g.h*g.w, g.c*g.k*g.k*oh*ow
		x := e.rand32(g.n*chw, -1, 1)
		var want []float32
		for b := 0; b < g.n; b++ {
			want = append(want, im2colRef(x[b*chw:(b+1)*chw], g.c, g.h, g.w, g.k, g.s, g.p, ow, 0, oh)...)
		}
		col := e.f32(e.rand32(len(want), 7, 8))
		geo := []any{g.n, g.c, g.h, g.w, g.k, g.k, g.s, g.s, g.p, g.p, oh, ow}
		e.run("im2col_batch_f32", len(want), append([]any{col.p(), e.f32(x).p()}, geo...)...)
		check32(t, name+" im2col_batch_f32", e.read32(name, col), want, 0, 0)

		cv := e.rand32(len(want), -1, 1)
		wdx := make([]float32, len(x))
		for b := 0; b < g.n; b++ {
			col2imRef(cv[b*rows:(b+1)*rows], wdx[b*chw:(b+1)*chw], g.c, g.h, g.w, g.k, g.s, g.p, ow, 0, oh)
		}
		gdx := e.f32(e.rand32(len(x), 5, 6)) // overwritten
		e.run("col2im_batch_f32", len(x), append([]any{gdx.p(), e.f32(cv).p()}, geo...)...)
		check32(t, name+" col2im_batch_f32", e.read32(name+" col2im", gdx), wdx, 1e-6, 1e-6)
	}
}

func testSumSamples(e *env) {
	t := e.t
	for _, sh := range [][2]int{{1, 7}, {3, 50}, {4, 1}, {2, 130}} {
		n, l := sh[0], sh[1]
		s := e.rand32(n*l, -1, 1)
		g0 := e.rand32(l, -2, 2)
		want := make([]float32, l)
		for i := range want {
			var acc float32
			for b := 0; b < n; b++ {
				acc += s[b*l+i]
			}
			want[i] = g0[i] + acc
		}
		g := e.f32(g0)
		e.run("sum_samples_f32", l, g.p(), e.f32(s).p(), n, l)
		check32(t, fmt.Sprintf("sum_samples_f32 n%d len%d", n, l), e.read32("sum_samples", g), want, 0, 0)
	}
}
