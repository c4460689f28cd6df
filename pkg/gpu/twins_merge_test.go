//go:build linux && (amd64 || arm64)

package gpu_test

import (
	"math"
	"testing"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// The kernels of kernels/merge.cu (concat_fwd_f32, concat_bwd_f32,
// softmax_fwd_f32, softmax_bwd_f32) against their CPU twins, with guard
// bands, on the emulator and on a real GPU when there is one.

func runMergeTwins(t *testing.T, c *gpu.Context, m *gpu.Module, block, maxGrid int) {
	mk := envMaker(t, c, m, block, maxGrid, 11)
	t.Run("concat", func(t *testing.T) { testMergeConcat(mk(t)) })
	t.Run("softmax", func(t *testing.T) { testMergeSoftmax(mk(t)) })
}

func testMergeConcat(e *env) {
	t := e.t
	for _, sh := range [][2][]int{{{3, 2, 4, 5}, {3, 5, 4, 5}}, {{7, 3}, {7, 1}}, {{1, 1, 2}, {1, 6, 2}}} {
		a, b := e.rand32(mergeProd(sh[0]), -2, 2), e.rand32(mergeProd(sh[1]), -2, 2)
		l := nn.NewConcat()
		want := l.Forward2(tensor.FromSlice(a, sh[0]...), tensor.FromSlice(b, sh[1]...))
		n := sh[0][0]
		ea, eb := len(a)/n, len(b)/n
		da, db := e.f32(a), e.f32(b)
		y := e.zeros(len(want.Data))
		e.run("concat_fwd_f32", len(want.Data), y.p(), da.p(), db.p(), n, ea, eb)
		check32(t, "concat_fwd_f32", e.read32("concat_fwd_f32", y), want.Data, 0, 0)

		dy := e.rand32(len(want.Data), -1, 1)
		wa, wb := l.Backward2(tensor.FromSlice(dy, want.Shape...))
		ga, gb := e.zeros(len(a)), e.zeros(len(b))
		e.run("concat_bwd_f32", len(dy), ga.p(), gb.p(), e.f32(dy).p(), n, ea, eb)
		check32(t, "concat_bwd_f32 da", e.read32("concat_bwd_f32 da", ga), wa.Data, 0, 0)
		check32(t, "concat_bwd_f32 db", e.read32("concat_bwd_f32 db", gb), wb.Data, 0, 0)
	}
}

func testMergeSoftmax(e *env) {
	t := e.t
	for _, sh := range [][]int{{9, 7}, {2, 3, 5}, {4, 1}, {40, 3}} {
		n := mergeProd(sh)
		x := e.rand32(n, -8, 8)
		x[0] = 60 // large logits: the max is subtracted
		if n > 3 {
			x[2] = float32(math.Inf(-1))
		}
		l := nn.NewSoftmax()
		want := l.Forward(tensor.FromSlice(x, sh...), true)
		rows, k := n/sh[len(sh)-1], sh[len(sh)-1]
		y := e.zeros(n)
		e.run("softmax_fwd_f32", rows, y.p(), e.f32(x).p(), rows, k)
		check32(t, "softmax_fwd_f32", e.read32("softmax_fwd_f32", y), want.Data, 1e-6, 1e-9)

		dy := e.rand32(n, -1, 1)
		wdx := l.Backward(tensor.FromSlice(dy, sh...))
		cy := e.f32(want.Data) // the CPU's y, so the backward is compared alone
		dx := e.zeros(n)
		e.run("softmax_bwd_f32", rows, dx.p(), e.f32(dy).p(), cy.p(), rows, k)
		check32(t, "softmax_bwd_f32", e.read32("softmax_bwd_f32", dx), wdx.Data, 1e-5, 1e-7)
	}
}

func mergeProd(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
