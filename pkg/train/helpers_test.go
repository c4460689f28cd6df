package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/scibench/scibench/pkg/nn"
)

// memGroup is an in-process communicator group: every all-reduce sums the
// ranks' buffers in rank order and hands the same bits to all of them.
type memGroup struct {
	n       int
	mu      sync.Mutex
	cond    *sync.Cond
	gen     int
	arrived int
	bufs    [][]float32
}

type memComm struct {
	g    *memGroup
	rank int
}

func newMemGroup(n int) []*memComm {
	g := &memGroup{n: n, bufs: make([][]float32, n)}
	g.cond = sync.NewCond(&g.mu)
	cs := make([]*memComm, n)
	for i := range cs {
		cs[i] = &memComm{g: g, rank: i}
	}
	return cs
}

func (c *memComm) Rank() int { return c.rank }
func (c *memComm) Size() int { return c.g.n }

func (c *memComm) AllReduceSum(ctx context.Context, buf []float32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g := c.g
	g.mu.Lock()
	defer g.mu.Unlock()
	gen := g.gen
	g.bufs[c.rank] = buf
	g.arrived++
	if g.arrived == g.n {
		for _, b := range g.bufs {
			if len(b) != len(buf) {
				panic(fmt.Sprintf("memComm: lengths %d vs %d", len(b), len(buf)))
			}
		}
		for i := range buf {
			var s float32
			for _, b := range g.bufs {
				s += b[i]
			}
			for _, b := range g.bufs {
				b[i] = s
			}
		}
		g.arrived = 0
		g.gen++
		g.cond.Broadcast()
		return nil
	}
	for g.gen == gen {
		g.cond.Wait()
	}
	return nil
}

func (c *memComm) Barrier(ctx context.Context) error {
	return c.AllReduceSum(ctx, []float32{0})
}

// mlpTask is a 2-layer tanh MLP regression with a fixed random data set;
// it is allocation-free per step and marks gradients ready in backward
// order.
type mlpTask struct {
	arena          *nn.Arena
	w1, b1, w2, b2 *nn.Param
	in, hid, out   int
	x, y           []float32 // [n,in], [n,out]
	n              int
	nEval          int
	// step buffers
	idx    []int
	h, act []float32 // [B,hid]
	pred   []float32 // [B,out]
	dpred  []float32
	dact   []float32
}

func newMLPTask(seed uint64, n int) *mlpTask {
	t := &mlpTask{in: 5, hid: 7, out: 3, n: n, nEval: 13}
	a := nn.NewArena()
	t.arena = a
	t.w1 = a.Param("w1", t.hid, t.in)
	t.b1 = a.Param("b1", t.hid)
	t.w2 = a.Param("w2", t.out, t.hid)
	t.b2 = a.Param("b2", t.out)
	a.Build()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range a.Data {
		a.Data[i] = float32(rng.NormFloat64() * 0.4)
	}
	drng := rand.New(rand.NewPCG(99, 2))
	t.x = make([]float32, (n+t.nEval)*t.in)
	t.y = make([]float32, (n+t.nEval)*t.out)
	for i := range t.x {
		t.x[i] = float32(drng.NormFloat64())
	}
	for s := 0; s < n+t.nEval; s++ {
		for o := 0; o < t.out; o++ {
			v := 0.0
			for j := 0; j < t.in; j++ {
				v += math.Sin(float64(o+j)) * float64(t.x[s*t.in+j])
			}
			t.y[s*t.out+o] = float32(math.Tanh(v))
		}
	}
	maxB := max(n, t.nEval)
	t.idx = make([]int, 0, maxB)
	t.h = make([]float32, maxB*t.hid)
	t.act = make([]float32, maxB*t.hid)
	t.pred = make([]float32, maxB*t.out)
	t.dpred = make([]float32, maxB*t.out)
	t.dact = make([]float32, maxB*t.hid)
	return t
}

func (t *mlpTask) Arena() *nn.Arena { return t.arena }
func (t *mlpTask) NumTrain() int    { return t.n }

func (t *mlpTask) Load(ctx context.Context, idx []int) error {
	t.idx = append(t.idx[:0], idx...)
	return nil
}

func (t *mlpTask) forward(samples []int) float64 {
	loss := 0.0
	for b, s := range samples {
		for k := 0; k < t.hid; k++ {
			v := t.b1.W[k]
			for j := 0; j < t.in; j++ {
				v += t.w1.W[k*t.in+j] * t.x[s*t.in+j]
			}
			t.h[b*t.hid+k] = v
			t.act[b*t.hid+k] = float32(math.Tanh(float64(v)))
		}
		for o := 0; o < t.out; o++ {
			v := t.b2.W[o]
			for k := 0; k < t.hid; k++ {
				v += t.w2.W[o*t.hid+k] * t.act[b*t.hid+k]
			}
			t.pred[b*t.out+o] = v
			d := v - t.y[s*t.out+o]
			t.dpred[b*t.out+o] = 2 * d
			loss += float64(d * d)
		}
	}
	return loss
}

func (t *mlpTask) Forward(ctx context.Context, info StepInfo) (float64, error) {
	return t.forward(t.idx), nil
}

func (t *mlpTask) Backward(ctx context.Context) error {
	for b, s := range t.idx {
		for o := 0; o < t.out; o++ {
			g := t.dpred[b*t.out+o]
			t.b2.G[o] += g
			for k := 0; k < t.hid; k++ {
				t.w2.G[o*t.hid+k] += g * t.act[b*t.hid+k]
			}
		}
		_ = s
	}
	t.b2.MarkReady()
	for b, s := range t.idx {
		for k := 0; k < t.hid; k++ {
			var g float32
			for o := 0; o < t.out; o++ {
				g += t.dpred[b*t.out+o] * t.w2.W[o*t.hid+k]
			}
			a := t.act[b*t.hid+k]
			g *= 1 - a*a
			t.b1.G[k] += g
			for j := 0; j < t.in; j++ {
				t.w1.G[k*t.in+j] += g * t.x[s*t.in+j]
			}
		}
	}
	t.w2.MarkReady() // after the last read of w2.W (dx above)
	t.b1.MarkReady()
	t.w1.MarkReady()
	return nil
}

// EvalSums returns [sse, count] over this rank's share of the eval samples.
func (t *mlpTask) EvalSums(ctx context.Context, rank, size int) ([]float64, error) {
	lo, hi := RankBlock(t.nEval, size, rank)
	s := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		s = append(s, t.n+i)
	}
	return []float64{t.forward(s), float64(len(s) * t.out)}, nil
}

func (t *mlpTask) Metrics(sums []float64) ([]Metric, error) {
	return []Metric{{Name: "val_mse", Key: "eval_loss", Value: sums[0] / sums[1]}}, nil
}

// momentum is a test optimizer with state (SGD with momentum).
type momentum struct {
	lr float64
	v  []float32
}

func (m *momentum) Step(w, g []float32) {
	for i := range w {
		m.v[i] = 0.9*m.v[i] + g[i]
		w[i] -= float32(m.lr) * m.v[i]
	}
}
func (m *momentum) SetLR(lr float64) { m.lr = lr }
func (m *momentum) LR() float64      { return m.lr }
func (m *momentum) Name() string     { return "momentum" }
func (m *momentum) SaveState(w io.Writer) error {
	return binary.Write(w, binary.LittleEndian, m.v)
}
func (m *momentum) LoadState(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	if b.Len() != 4*len(m.v) {
		return fmt.Errorf("momentum state: %d bytes, want %d", b.Len(), 4*len(m.v))
	}
	return binary.Read(&b, binary.LittleEndian, m.v)
}
