package gpunn

import (
	"fmt"

	"github.com/scibench/scibench/pkg/gpu"
	"github.com/scibench/scibench/pkg/nn"
)

// lstmRecSalt separates the recurrent mask stream from the input one, as
// nn.LSTM does.
const lstmRecSalt = 0x5bd1e995

// LSTM is the device twin of an nn.LSTM (Keras gate order i, f, c, o;
// kernel W [In, 4H], recurrent kernel U [H, 4H], bias b [4H] in an
// Arena's views) over [N, T, In] inputs, returning [N, T, H] with
// ReturnSequences, else the last h [N, H].
//
// Forward computes the input projection of all steps as one SGEMM, then
// per step an SGEMM h_{t−1}·U accumulated onto the step's rows and one
// fused gate launch (lstm_gates_fwd_f32). Backward runs one fused
// gate-gradient launch (lstm_gates_bwd_f32) and one SGEMM for dh_{t−1}
// per step in reverse, then the bias, U and W gradients and the input
// gradient as launches and SGEMMs over all steps, accumulating into the
// arena as nn.LSTM.Backward does.
//
// Dropout masks (Dropout, RecurrentDropout, in training) are drawn on the
// device per sample and fixed across steps. After SetMaskKey they are
// nn.LSTM's keyed masks bit for bit (nn.MaskKeyed); unkeyed, each Forward
// draws from key nn.MixKey(Seed, draw), which is not the CPU layer's
// unkeyed stream.
type LSTM struct {
	Name             string
	In, Units        int
	Act, RecAct      nn.Activation
	ReturnSequences  bool
	Dropout          float64
	RecurrentDropout float64
	// Seed keys the masks of a Forward with no SetMaskKey before it.
	Seed uint64

	e       *Engine
	a       *Arena
	w, u, b View

	keyed bool
	key   uint64
	first int
	draws uint64

	n, t         int
	x            Tensor
	xin          gpu.Ptr
	dropX, dropH bool

	mx, mh, xd       *devBuf // masks [N, In], [N, H]; x⊙m_x [N, T, In]
	z                *devBuf // gate activations [N, T, 4H]
	c, ac, h, hd     *devBuf // c_t, Act(c_t), h_t, h_{t−1}⊙m_h: [N, T, H]
	last             *devBuf // last h [N, H] (not ReturnSequences)
	dz, dhn, dcn, dx *devBuf
}

// NewLSTM mirrors host, whose parameters must be in a's host arena.
func (e *Engine) NewLSTM(a *Arena, host *nn.LSTM) (*LSTM, error) {
	if a == nil || a.e != e || host == nil || host.W == nil || host.U == nil || host.B == nil {
		return nil, fmt.Errorf("gpunn: %s: LSTM: nil layer or arena of another engine", e.where())
	}
	l := &LSTM{Name: host.W.Name, In: host.In, Units: host.Units, Act: host.Act, RecAct: host.RecAct,
		ReturnSequences: host.ReturnSequences, Dropout: host.Dropout, RecurrentDropout: host.RecurrentDropout,
		Seed: nn.MixKey(uint64(host.W.Offset), uint64(host.In), uint64(host.Units)), e: e, a: a}
	var err error
	if l.w, err = a.view(host.W); err != nil {
		return nil, fmt.Errorf("LSTM %s: %w", l.Name, err)
	}
	if l.u, err = a.view(host.U); err != nil {
		return nil, fmt.Errorf("LSTM %s: %w", l.Name, err)
	}
	if l.b, err = a.view(host.B); err != nil {
		return nil, fmt.Errorf("LSTM %s: %w", l.Name, err)
	}
	h, g := l.Units, 4*l.Units
	switch {
	case l.In < 1 || h < 1:
		return nil, fmt.Errorf("gpunn: %s: LSTM %s: %d inputs, %d units", e.where(), l.Name, l.In, h)
	case l.w.Len != l.In*g || l.u.Len != h*g || l.b.Len != g:
		return nil, fmt.Errorf("gpunn: %s: LSTM %s: kernel %d, recurrent kernel %d and bias %d values for %d→%d units",
			e.where(), l.Name, l.w.Len, l.u.Len, l.b.Len, l.In, h)
	case !knownAct(l.Act) || !knownAct(l.RecAct):
		return nil, fmt.Errorf("gpunn: %s: LSTM %s: activation %v or recurrent activation %v has no kernel", e.where(), l.Name, l.Act, l.RecAct)
	case !(l.Dropout >= 0 && l.Dropout < 1) || !(l.RecurrentDropout >= 0 && l.RecurrentDropout < 1):
		return nil, fmt.Errorf("gpunn: %s: LSTM %s: dropout %v and recurrent dropout %v must lie in [0, 1)", e.where(), l.Name, l.Dropout, l.RecurrentDropout)
	}
	return l, nil
}

// knownAct reports the activations the LSTM kernels implement (their codes
// are nn.Activation's values).
func knownAct(a nn.Activation) bool {
	switch a {
	case nn.Linear, nn.ReLUAct, nn.SELUAct, nn.SigmoidAct, nn.TanhAct:
		return true
	}
	return false
}

// SetMaskKey keys the dropout masks of the next Forward passes per sample
// (sample j of the batch uses sample index first+j), as
// nn.LSTM.SetMaskKey does: the masks are then the CPU layer's.
func (l *LSTM) SetMaskKey(key uint64, first int) { l.keyed, l.key, l.first = true, key, first }

func (l *LSTM) fail(what string, err error) error {
	return fmt.Errorf("gpunn: LSTM %s %s: %w", l.Name, what, err)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mask queues the keyed mask of n samples of per values into m.
func (l *LSTM) mask(m *devBuf, n, per int, key uint64, first int, rate float64) error {
	if first < -1<<31 || first+n > 1<<31-1 {
		return fmt.Errorf("gpunn: %s: LSTM %s: mask sample index %d does not fit the kernel's int", l.e.where(), l.Name, first)
	}
	thr := int(uint64(rate * (1 << 16)))
	scale := float32(1 / (1 - rate))
	return l.e.launch("lstm_mask_f32", n, m.at(0), n, per, int32(uint32(key>>32)), int32(uint32(key)), first, thr, scale)
}

// Forward queues the recurrence over x ([N, T, In]) and returns the
// output (valid until the next Forward). x must stay unchanged until
// Backward.
func (l *LSTM) Forward(x Tensor, train bool) (Tensor, error) {
	e, name := l.e, "LSTM "+l.Name
	if err := e.checkIn(name+" forward", x, -1, -1, l.In); err != nil {
		return Tensor{}, err
	}
	if err := e.fits(name+" forward", "input", x); err != nil {
		return Tensor{}, err
	}
	n, T, F, H := x.Shape[0], x.Shape[1], l.In, l.Units
	G := 4 * H
	if n < 1 || T < 1 {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s forward: input shape %v, want [N>0, T>0, %d]", e.where(), name, x.Shape, F)
	}
	l.dropX = train && l.Dropout > 0
	l.dropH = train && l.RecurrentDropout > 0
	for _, b := range []struct {
		d    **devBuf
		what string
		n    int
	}{
		{&l.z, "gates", n * T * G}, {&l.c, "cell states", n * T * H}, {&l.ac, "cell activations", n * T * H},
		{&l.h, "hidden states", n * T * H}, {&l.hd, "recurrent inputs", n * T * H},
	} {
		if err := e.grow(b.d, name+" "+b.what, b.n, 4); err != nil {
			return Tensor{}, err
		}
	}
	if !l.ReturnSequences {
		if err := e.grow(&l.last, name+" output", n*H, 4); err != nil {
			return Tensor{}, err
		}
	}
	key, first := l.key, l.first
	if (l.dropX || l.dropH) && !l.keyed {
		key, first = nn.MixKey(l.Seed, l.draws), 0
		l.draws++
	}
	l.xin = x.P
	mh := gpu.Null
	if l.dropX {
		if err := e.grow(&l.mx, name+" input mask", n*F, 4); err != nil {
			return Tensor{}, err
		}
		if err := e.grow(&l.xd, name+" masked input", n*T*F, 4); err != nil {
			return Tensor{}, err
		}
		if err := l.mask(l.mx, n, F, key, first, l.Dropout); err != nil {
			return Tensor{}, l.fail("forward (input mask)", err)
		}
		if err := e.launch("lstm_mask_steps_f32", n*T*F, l.xd.at(0), x.P, l.mx.at(0), n, T, F); err != nil {
			return Tensor{}, l.fail("forward (input dropout)", err)
		}
		l.xin = l.xd.at(0)
	}
	if l.dropH {
		if err := e.grow(&l.mh, name+" recurrent mask", n*H, 4); err != nil {
			return Tensor{}, err
		}
		if err := l.mask(l.mh, n, H, key^lstmRecSalt, first, l.RecurrentDropout); err != nil {
			return Tensor{}, l.fail("forward (recurrent mask)", err)
		}
		mh = l.mh.at(0)
	}
	// z = x·W for all steps; the bias is added in the gate kernel
	if err := e.bl.SgemmPtr(false, false, n*T, G, F, 1, l.xin, F, l.a.Param(l.w, 0), G, 0, l.z.at(0), G); err != nil {
		return Tensor{}, l.fail("forward (input projection)", err)
	}
	lastOut := gpu.Null
	if !l.ReturnSequences {
		lastOut = l.last.at(0)
	}
	for t := 0; t < T; t++ {
		if t > 0 {
			if err := e.bl.SgemmPtr(false, false, n, G, H, 1, l.hd.at(t*H), T*H, l.a.Param(l.u, 0), G, 1, l.z.at(t*G), T*G); err != nil {
				return Tensor{}, l.fail(fmt.Sprintf("forward (recurrent product, step %d)", t), err)
			}
		}
		if err := e.launch("lstm_gates_fwd_f32", n*H, l.z.at(0), l.c.at(0), l.ac.at(0), l.h.at(0), l.hd.at(0), lastOut,
			l.a.Param(l.b, 0), mh, n, T, H, t, int(l.Act), int(l.RecAct), b2i(l.dropH), b2i(!l.ReturnSequences)); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("forward (gates, step %d)", t), err)
		}
	}
	l.x, l.n, l.t = x, n, T
	if l.ReturnSequences {
		return l.h.tensor(n, T, H), nil
	}
	return l.last.tensor(n, H), nil
}

// Backward queues backpropagation through time for dy (the shape of the
// last output): the gradients of b, U and W are added into the arena (each
// reported ready after its parameter's last read) and dL/dx [N, T, In] is
// returned.
func (l *LSTM) Backward(dy Tensor) (Tensor, error) {
	e, name := l.e, "LSTM "+l.Name
	if l.x.IsNil() {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward before forward", e.where(), name)
	}
	n, T, F, H := l.n, l.t, l.In, l.Units
	G := 4 * H
	want := n * H
	if l.ReturnSequences {
		want *= T
	}
	if dy.IsNil() || dy.Len() != want {
		return Tensor{}, fmt.Errorf("gpunn: %s: %s backward: output gradient of shape %v for output [%d, %d, %d] (sequences %v)",
			e.where(), name, dy.Shape, n, T, H, l.ReturnSequences)
	}
	if err := e.fits(name+" backward", "output gradient", dy); err != nil {
		return Tensor{}, err
	}
	for _, b := range []struct {
		d    **devBuf
		what string
		n    int
	}{
		{&l.dz, "gate gradients", n * T * G}, {&l.dhn, "hidden-state gradient", n * H},
		{&l.dcn, "cell-state gradient", n * H}, {&l.dx, "input gradient", n * T * F},
	} {
		if err := e.grow(b.d, name+" "+b.what, b.n, 4); err != nil {
			return Tensor{}, err
		}
	}
	mh := gpu.Null
	if l.dropH {
		mh = l.mh.at(0)
	}
	for t := T - 1; t >= 0; t-- {
		if err := e.launch("lstm_gates_bwd_f32", n*H, l.dz.at(0), l.dcn.at(0), l.dhn.at(0), l.z.at(0), l.c.at(0), l.ac.at(0),
			dy.P, mh, n, T, H, t, int(l.Act), int(l.RecAct), b2i(l.dropH), b2i(l.ReturnSequences)); err != nil {
			return Tensor{}, l.fail(fmt.Sprintf("backward (gate gradients, step %d)", t), err)
		}
		if t > 0 { // dh_{t−1} = dz_t·Uᵀ (the mask is applied by the next launch)
			if err := e.bl.SgemmPtr(false, true, n, H, G, 1, l.dz.at(t*G), T*G, l.a.Param(l.u, 0), G, 0, l.dhn.at(0), H); err != nil {
				return Tensor{}, l.fail(fmt.Sprintf("backward (recurrent gradient, step %d)", t), err)
			}
		}
	}
	if err := e.launch("bias_grad_rows_f32", G, l.a.Grad(l.b, 0), l.dz.at(0), n*T, G); err != nil {
		return Tensor{}, l.fail("backward (bias gradient)", err)
	}
	if err := l.a.ready(l.b); err != nil {
		return Tensor{}, err
	}
	// dU += hdᵀ·dz (row 0 of each sample's hd is 0)
	if err := e.bl.SgemmPtr(true, false, H, G, n*T, 1, l.hd.at(0), H, l.dz.at(0), G, 1, l.a.Grad(l.u, 0), G); err != nil {
		return Tensor{}, l.fail("backward (recurrent kernel gradient)", err)
	}
	if err := l.a.ready(l.u); err != nil {
		return Tensor{}, err
	}
	if err := e.bl.SgemmPtr(true, false, F, G, n*T, 1, l.xin, F, l.dz.at(0), G, 1, l.a.Grad(l.w, 0), G); err != nil {
		return Tensor{}, l.fail("backward (kernel gradient)", err)
	}
	if err := e.bl.SgemmPtr(false, true, n*T, F, G, 1, l.dz.at(0), G, l.a.Param(l.w, 0), G, 0, l.dx.at(0), F); err != nil {
		return Tensor{}, l.fail("backward (input gradient)", err)
	}
	if err := l.a.ready(l.w); err != nil { // after the last read of W
		return Tensor{}, err
	}
	if l.dropX {
		if err := e.launch("lstm_mask_steps_f32", n*T*F, l.dx.at(0), l.dx.at(0), l.mx.at(0), n, T, F); err != nil {
			return Tensor{}, l.fail("backward (input dropout)", err)
		}
	}
	return l.dx.tensor(n, T, F), nil
}
