package nn

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/blas"
)

// unetConvs are the convolutions of the reference U-Net at train-bench's
// 128×128 input (BENCHMARKS.md §2.3 halves every side of the 256² table).
var unetConvs = []struct {
	name        string
	cin, cout   int
	hw, k, s, p int
}{
	{"9-32@128", 9, 32, 128, 3, 1, 1},
	{"32-32@128", 32, 32, 128, 3, 1, 1},
	{"64-64@64", 64, 64, 64, 3, 1, 1},
	{"128-128@32", 128, 128, 32, 3, 1, 1},
	{"256-256@16", 256, 256, 16, 3, 1, 1},
	{"384-128@32", 384, 128, 32, 3, 1, 1},
	{"96-32@128", 96, 32, 128, 3, 1, 1},
	{"1x1-32-1@128", 32, 1, 128, 1, 1, 0},
	// ResNet-50 at 128²: stem, a stride-2 3×3 and a 1×1 bottleneck conv.
	{"r50-stem-3-64@128/2", 3, 64, 128, 7, 2, 3},
	{"r50-3x3-128@32/2", 128, 128, 32, 3, 2, 1},
	{"r50-1x1-256-64@32", 256, 64, 32, 1, 1, 0},
	{"r50-3x3-64-64@32", 64, 64, 32, 3, 1, 1},
	{"r50-3x3-256-256@8", 256, 256, 8, 3, 1, 1},
	{"r50-3x3-512-512@4", 512, 512, 4, 3, 1, 1},
}

const benchBatch = 4

// convCPUSeconds is the process's user+system CPU time. The machine is shared
// (load often 10+ on 2 cores), so benchmarks report GFLOP per CPU-second
// ("GFLOP/cpu-s") beside the wall-clock rate: the former is what the code
// achieves when it has a core.
func convCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// convRate runs f b.N times and reports GFLOP/s and GFLOP/cpu-s for flops per
// call.
func convRate(b *testing.B, flops float64, f func()) {
	b.Helper()
	start, cpu0 := time.Now(), convCPUSeconds()
	for b.Loop() {
		f()
	}
	total := flops * float64(b.N) / 1e9
	b.ReportMetric(total/time.Since(start).Seconds(), "GFLOP/s")
	if c := convCPUSeconds() - cpu0; c > 0 {
		b.ReportMetric(total/c, "GFLOP/cpu-s")
	}
}

func newBenchConv(b *testing.B, cin, cout, hw, k, s, p int) (*Conv2D, *Arena, float64) {
	b.Helper()
	a := NewArena()
	l, err := NewConv2D(a, "c", Conv2DConfig{InChannels: cin, OutChannels: cout, Kernel: k, Stride: s, Padding: p, Bias: true})
	if err != nil {
		b.Fatal(err)
	}
	a.Build()
	fillRand(rand.New(rand.NewPCG(1, 1)), a.Data, 0.1)
	return l, a, float64(benchBatch) * l.FLOPs(hw, hw)
}

// BenchmarkConv2D reports forward and backward GFLOP/s (forward FLOPs
// 2·K²·Cin·Cout·OH·OW per sample; backward counts twice that: dW and dx).
func BenchmarkConv2D(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range unetConvs {
		l, _, flops := newBenchConv(b, c.cin, c.cout, c.hw, c.k, c.s, c.p)
		x := randTensor(rng, benchBatch, c.cin, c.hw, c.hw)
		dy := randTensor(rng, l.Forward(x, true).Shape...)
		b.Run("fwd/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			convRate(b, flops, func() { l.Forward(x, true) })
		})
		b.Run("bwd/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			l.Forward(x, true)
			convRate(b, 2*flops, func() { l.Backward(dy) })
		})
		if l.direct {
			continue
		}
		if c.s == 1 {
			// The same layer with dx forced through col2im and through
			// the flipped-kernel convolution of dy.
			for _, mode := range []int{-1, 1} {
				f, _, _ := newBenchConv(b, c.cin, c.cout, c.hw, c.k, c.s, c.p)
				f.flipMode = mode
				f.Forward(x, true)
				b.Run(map[int]string{-1: "bwd-col2im/", 1: "bwd-flip/"}[mode]+c.name, func(b *testing.B) {
					convRate(b, 2*flops, func() { f.Backward(dy) })
				})
			}
		}
		// The same layer with one column matrix per sample (no tiling).
		u, _, _ := newBenchConv(b, c.cin, c.cout, c.hw, c.k, c.s, c.p)
		u.maxTileCols = 1 << 30
		b.Run("fwd-untiled/"+c.name, func(b *testing.B) {
			convRate(b, flops, func() { u.Forward(x, true) })
		})
		b.Run("bwd-untiled/"+c.name, func(b *testing.B) {
			u.Forward(x, true)
			convRate(b, 2*flops, func() { u.Backward(dy) })
		})
	}
}

// BenchmarkConvGEMMShape compares the per-sample GEMMs Conv2D runs (N
// products Cout×CKK·CKK×HW) with one batched product Cout×CKK·CKK×(N·HW)
// of the same FLOPs, which would need a batch-wide column matrix and an
// output transpose. Equal rates mean the batch loop loses nothing.
func BenchmarkConvGEMMShape(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range unetConvs[1:6] {
		ckk, hw := c.cin*c.k*c.k, c.hw*c.hw
		w := make([]float32, c.cout*ckk)
		col := make([]float32, ckk*hw*benchBatch)
		y := make([]float32, c.cout*hw*benchBatch)
		fillRand(rng, w, 1)
		fillRand(rng, col, 1)
		flops := 2 * float64(c.cout*ckk) * float64(hw*benchBatch)
		b.Run(fmt.Sprintf("loop/%s", c.name), func(b *testing.B) {
			convRate(b, flops, func() {
				for n := 0; n < benchBatch; n++ {
					blas.Sgemm(false, false, c.cout, hw, ckk, 1, w, ckk, col[n*ckk*hw:], hw, 0, y[n*c.cout*hw:], hw)
				}
			})
		})
		b.Run(fmt.Sprintf("batched/%s", c.name), func(b *testing.B) {
			convRate(b, flops, func() {
				blas.Sgemm(false, false, c.cout, hw*benchBatch, ckk, 1, w, ckk, col, hw*benchBatch, 0, y, hw*benchBatch)
			})
		})
	}
}

// BenchmarkIm2col measures the column-matrix build and its adjoint alone.
func BenchmarkIm2col(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, c := range []int{1, 6} {
		cc := unetConvs[c]
		var g convGeom
		g.set(cc.cin, cc.hw, cc.hw, cc.k, cc.k, cc.s, cc.s, cc.p, cc.p)
		x := make([]float32, cc.cin*cc.hw*cc.hw)
		col := make([]float32, g.colRows()*g.oh*g.ow)
		fillRand(rng, x, 1)
		b.Run("im2col/"+cc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			for b.Loop() {
				im2col(&g, x, col, 0, g.oh)
			}
		})
		b.Run("col2im/"+cc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			for b.Loop() {
				col2im(&g, col, x, 0, g.oh)
			}
		})
	}
}
