//go:build linux && (amd64 || arm64)

package gpu_test

import (
	"fmt"
	"testing"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// The LSTM kernels (kernels/lstm.cu) against their CPU twins: the keyed
// masks against nn.Dropout's keyed masks (the same nn.maskKey.fill), the
// per-step mask against its loop, and the gate kernels stepped through a
// recurrence whose matrix products are done here on the host, against
// nn.LSTM.Forward and nn.LSTM.Backward.

func runLSTMTwins(t *testing.T, c *gpu.Context, m *gpu.Module, block, maxGrid int) {
	mk := envMaker(t, c, m, block, maxGrid, 11)
	t.Run("masks", func(t *testing.T) { testLSTMMasks(mk(t)) })
	for i, g := range []lstmGateCase{
		{act: nn.TanhAct, rec: nn.SigmoidAct, seq: true},
		{act: nn.SELUAct, rec: nn.SigmoidAct, rdrop: 0.3},
		{act: nn.ReLUAct, rec: nn.TanhAct, seq: true, rdrop: 0.5},
		{act: nn.Linear, rec: nn.SigmoidAct},
	} {
		t.Run(fmt.Sprintf("gates %d", i), func(t *testing.T) { testLSTMGates(mk(t), g) })
	}
}

func lstmMask(rate float64, key uint64, first, n, per int) []float32 {
	d := nn.NewDropout(rate, 1)
	d.SetMaskKey(key, first)
	ones := tensor.New(n, per)
	_ = tensor.Fill(ones, 1)
	return append([]float32(nil), d.Forward(ones, true).Data...)
}

func testLSTMMasks(e *env) {
	t := e.t
	for _, c := range []struct {
		n, per int
		rate   float64
		key    uint64
		first  int
	}{{3, 7, 0.3, 0xdeadbeefcafef00d, 5}, {5, 4, 0.5, 1<<63 | 12345, 0}, {2, 33, 0.2, 42, 1000}, {4, 1, 0.9, 7, 3}} {
		want := lstmMask(c.rate, c.key, c.first, c.n, c.per)
		g := e.zeros(c.n * c.per)
		thr := int(uint64(c.rate * (1 << 16)))
		e.run("lstm_mask_f32", c.n, g.p(), c.n, c.per, int32(uint32(c.key>>32)), int32(uint32(c.key)), c.first, thr, float32(1/(1-c.rate)))
		check32(t, fmt.Sprintf("lstm_mask_f32 %+v", c), e.read32("lstm mask", g), want, 0, 0)
	}
	const n, T, f = 3, 4, 5
	x := e.rand32(n*T*f, -2, 2)
	mask := lstmMask(0.4, 99, 0, n, f)
	want := make([]float32, len(x))
	for s := 0; s < n; s++ {
		for k := 0; k < T*f; k++ {
			want[s*T*f+k] = x[s*T*f+k] * mask[s*f+k%f]
		}
	}
	dx, dm := e.f32(x), e.f32(mask)
	y := e.zeros(n * T * f)
	e.run("lstm_mask_steps_f32", n*T*f, y.p(), dx.p(), dm.p(), n, T, f)
	check32(t, "lstm_mask_steps_f32", e.read32("mask steps", y), want, 0, 0)
	e.run("lstm_mask_steps_f32", n*T*f, dx.p(), dx.p(), dm.p(), n, T, f) // in place
	check32(t, "lstm_mask_steps_f32 in place", e.read32("mask steps in place", dx), want, 0, 0)
}

// lstmGateCase is one configuration of the gate-kernel twin test.
type lstmGateCase struct {
	act, rec nn.Activation
	seq      bool // the kernel's dy layout (the CPU layer always returns sequences)
	rdrop    float64
}

// rowTimes returns the 1×k row a times the k×m matrix b (row-major),
// transposed when tb (b is m×k), summed in float64.
func rowTimes(a []float32, b []float32, k, m int, tb bool) []float64 {
	out := make([]float64, m)
	for j := 0; j < m; j++ {
		var s float64
		for q := 0; q < k; q++ {
			if tb {
				s += float64(a[q]) * float64(b[j*k+q])
			} else {
				s += float64(a[q]) * float64(b[q*m+j])
			}
		}
		out[j] = s
	}
	return out
}

func testLSTMGates(e *env, c lstmGateCase) {
	t := e.t
	rng := e.rng
	n, T, F, H := 2+rng.IntN(2), 3+rng.IntN(3), 2+rng.IntN(3), 3+rng.IntN(4)
	G := 4 * H
	a := nn.NewArena()
	cfg := nn.DefaultLSTMConfig(F, H)
	cfg.Act, cfg.RecAct, cfg.ReturnSequences, cfg.RecurrentDropout = c.act, c.rec, true, c.rdrop
	l := nn.NewLSTM(a, "l", cfg, nn.NewRand(3))
	a.Build()
	for _, p := range l.Params() {
		copy(p.W, e.rand32(len(p.W), -0.8, 0.8))
	}
	key, first := rng.Uint64(), rng.IntN(50)
	l.SetMaskKey(key, first)
	x := e.rand32(n*T*F, -1.5, 1.5)
	y := l.Forward(tensor.FromSlice(x, n, T, F), true).Data
	dropH := 0
	mh := make([]float32, n*H)
	_ = tensor.Fill(tensor.FromSlice(mh, n*H), 1)
	if c.rdrop > 0 {
		dropH = 1
		mh = lstmMask(c.rdrop, key^0x5bd1e995, first, n, H) // nn.LSTM's recurrent salt
	}
	// pre-activations without the bias from the CPU's h_{t−1}
	zpre := make([]float32, n*T*G)
	hdWant := make([]float32, n*T*H)
	for s := 0; s < n; s++ {
		for tt := 0; tt < T; tt++ {
			r := s*T + tt
			p := rowTimes(x[r*F:(r+1)*F], l.W.W, F, G, false)
			if tt > 0 {
				hd := make([]float32, H)
				for j := range hd {
					hd[j] = y[(r-1)*H+j] * mh[s*H+j]
				}
				copy(hdWant[r*H:], hd)
				for j, v := range rowTimes(hd, l.U.W, H, G, false) {
					p[j] += v
				}
			}
			for j, v := range p {
				zpre[r*G+j] = float32(v)
			}
		}
	}
	dz, db, dmh := e.f32(zpre), e.f32(l.B.W), e.f32(mh)
	dc, dac, dh, dhd, dlast := e.zeros(n*T*H), e.zeros(n*T*H), e.zeros(n*T*H), e.f32(e.rand32(n*T*H, 5, 6)), e.zeros(n*H)
	for tt := 0; tt < T; tt++ {
		e.run("lstm_gates_fwd_f32", n*H, dz.p(), dc.p(), dac.p(), dh.p(), dhd.p(), dlast.p(), db.p(), dmh.p(),
			n, T, H, tt, int(c.act), int(c.rec), dropH, 1)
	}
	const rtol, atol = 2e-5, 2e-6
	hGot := e.read32("h", dh)
	check32(t, "lstm_gates_fwd_f32 h", hGot, y, rtol, atol)
	lastWant := make([]float32, n*H)
	for s := 0; s < n; s++ {
		copy(lastWant[s*H:], y[(s*T+T-1)*H:(s*T+T)*H])
	}
	check32(t, "lstm_gates_fwd_f32 last h", e.read32("last", dlast), lastWant, rtol, atol)
	hdGot := e.read32("hd", dhd)
	check32(t, "lstm_gates_fwd_f32 recurrent input", hdGot, hdWant, rtol, atol)

	// backward: dy over all steps, or (not seq) over the last step only
	dySeq := make([]float32, n*T*H)
	var dyDev []float32
	if c.seq {
		dySeq = e.rand32(n*T*H, -1, 1)
		dyDev = dySeq
	} else {
		dyDev = e.rand32(n*H, -1, 1)
		for s := 0; s < n; s++ {
			copy(dySeq[(s*T+T-1)*H:], dyDev[s*H:(s+1)*H])
		}
	}
	a.ZeroGrad()
	dxWant := l.Backward(tensor.FromSlice(dySeq, n, T, H)).Data
	ddy, gz, dcn := e.f32(dyDev), e.zeros(n*T*G), e.f32(e.rand32(n*H, 5, 6)) // dcn unread at T−1
	seq := 0
	if c.seq {
		seq = 1
	}
	dhn := make([]float32, n*H)
	var dzGot []float32
	for tt := T - 1; tt >= 0; tt-- {
		ddhn := e.f32(dhn)
		e.run("lstm_gates_bwd_f32", n*H, gz.p(), dcn.p(), ddhn.p(), dz.p(), dc.p(), dac.p(), ddy.p(), dmh.p(),
			n, T, H, tt, int(c.act), int(c.rec), dropH, seq)
		dzGot = e.read32("dz", gz)
		for s := 0; s < n; s++ {
			r := s*T + tt
			for j, v := range rowTimes(dzGot[r*G:(r+1)*G], l.U.W, G, H, true) {
				dhn[s*H+j] = float32(v)
			}
		}
	}
	// the gradients from dz, summed here in float64
	gb, gu, gw := make([]float32, G), make([]float32, H*G), make([]float32, F*G)
	dx := make([]float32, n*T*F)
	for r := 0; r < n*T; r++ {
		d := dzGot[r*G : (r+1)*G]
		for j := 0; j < G; j++ {
			gb[j] += d[j]
			for q := 0; q < H; q++ {
				gu[q*G+j] += hdGot[r*H+q] * d[j]
			}
			for q := 0; q < F; q++ {
				gw[q*G+j] += x[r*F+q] * d[j]
			}
		}
		for q, v := range rowTimes(d, l.W.W, G, F, true) {
			dx[r*F+q] = float32(v)
		}
	}
	const brtol, batol = 1e-4, 1e-5
	check32(t, "lstm_gates_bwd_f32 bias gradient", gb, l.B.G, brtol, batol)
	check32(t, "lstm_gates_bwd_f32 recurrent kernel gradient", gu, l.U.G, brtol, batol)
	check32(t, "lstm_gates_bwd_f32 kernel gradient", gw, l.W.G, brtol, batol)
	check32(t, "lstm_gates_bwd_f32 input gradient", dx, dxWant, brtol, batol)
}
