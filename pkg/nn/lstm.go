package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/scibench/scibench/pkg/blas"
	"github.com/scibench/scibench/pkg/tensor"
)

// LSTM is one Keras-compatible LSTM layer over [N, T, In] inputs with
// backpropagation through time. Gates are packed in Keras order i, f, c, o:
// kernel W [In, 4H], recurrent kernel U [H, 4H], bias b [4H].
//
//	z_t = (x_t⊙m_x)·W + (h_{t−1}⊙m_h)·U + b
//	i, f, o = RecAct(z_i, z_f, z_o);  g = Act(z_c)
//	c_t = f⊙c_{t−1} + i⊙g;  h_t = o⊙Act(c_t)
//
// m_x and m_h are the dropout and recurrent-dropout masks (inverted
// scaling), drawn once per Forward in training and fixed across time steps,
// as Keras' LSTM (implementation 2) does; a rate of 0 disables them.
// Multi-layer LSTMs stack layers with ReturnSequences set on all but the
// last. The output is [N, T, H] (ReturnSequences) or [N, H] (last h).
type LSTM struct {
	In, Units        int
	Act, RecAct      Activation
	ReturnSequences  bool
	Dropout          float64
	RecurrentDropout float64
	W, U, B          *Param

	rng          *rand.Rand
	mk           maskKey
	frozen       bool // tests: reuse masks
	dropX, dropH bool // masks in use this pass
	mx, mh       []float32
	x            *tensor.Tensor
	xd           tensor.Tensor // x⊙m_x when dropX
	xin          []float32     // xd.Data or x.Data
	n, t         int
	z            []float32 // gate activations [N, T, 4H]
	c, ac, hd    []float32 // c_t, Act(c_t), h_{t−1}⊙m_h: [N, T, H]
	h            tensor.Tensor
	last         tensor.Tensor
	dz           []float32
	dhn, dcn     []float32
	derivA       []float32 // f'(a) of one row (gateGradsSigmoid)
	zeros        []float32 // c_{t−1} at t = 0, for the vector kernel
	negZeros     []float32 // "no dy" for the vector kernel
	derivG       []float32 // f'(g) of one row
	dx           tensor.Tensor
}

// LSTMConfig configures NewLSTM. The zero Activation is Linear, not Keras'
// tanh/sigmoid: start from DefaultLSTMConfig and change what differs
// (earthquake: Act SELUAct, dropout 0.2, recurrent dropout 0.2).
type LSTMConfig struct {
	In, Units        int
	Act, RecAct      Activation
	ReturnSequences  bool
	Dropout          float64
	RecurrentDropout float64
	Seed             uint64 // dropout mask stream (vary it per rank)
}

// DefaultLSTMConfig returns Keras' defaults: tanh activation, sigmoid
// recurrent activation, no dropout.
func DefaultLSTMConfig(in, units int) LSTMConfig {
	return LSTMConfig{In: in, Units: units, Act: TanhAct, RecAct: SigmoidAct}
}

// NewLSTM registers "name.kernel" (glorot_uniform), "name.recurrent_kernel"
// (orthogonal) and "name.bias" (zero, forget-gate part 1: unit_forget_bias)
// in a, drawing initial values from rng.
func NewLSTM(a *Arena, name string, cfg LSTMConfig, rng *rand.Rand) *LSTM {
	h := cfg.Units
	l := &LSTM{
		In: cfg.In, Units: h, Act: cfg.Act, RecAct: cfg.RecAct,
		ReturnSequences: cfg.ReturnSequences, Dropout: cfg.Dropout,
		RecurrentDropout: cfg.RecurrentDropout, rng: NewRand(cfg.Seed),
	}
	l.W = a.Param(name+".kernel", cfg.In, 4*h)
	l.U = a.Param(name+".recurrent_kernel", h, 4*h)
	l.B = a.Param(name+".bias", 4*h)
	GlorotUniform(l.W.W, cfg.In, 4*h, rng)
	Orthogonal(l.U.W, h, 4*h, rng)
	for j := h; j < 2*h; j++ {
		l.B.W[j] = 1
	}
	return l
}

// OutputShape returns [N, T, Units] or [N, Units] for an input [N, T, In],
// or an error wrapping ErrInputShape.
func (l *LSTM) OutputShape(in []int) ([]int, error) {
	if len(in) != 3 || in[2] != l.In || in[1] < 1 {
		return nil, fmt.Errorf("%w: LSTM %s input %v, want [N, T>0, %d]", ErrInputShape, l.W.Name, in, l.In)
	}
	if l.ReturnSequences {
		return []int{in[0], in[1], l.Units}, nil
	}
	return []int{in[0], l.Units}, nil
}

// Params returns W, U and b.
func (l *LSTM) Params() []*Param { return []*Param{l.W, l.U, l.B} }

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// SetMaskKey keys the next dropout masks per sample (see MaskKeyed).
// The input and recurrent masks use different streams.
func (l *LSTM) SetMaskKey(key uint64, first int) { l.mk.set(key, first) }

// Forward runs the recurrence over all time steps.
func (l *LSTM) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	if len(x.Shape) != 3 || x.Shape[2] != l.In {
		panic(fmt.Sprintf("nn: LSTM %s: input shape %v, want [N, T, %d]", l.W.Name, x.Shape, l.In))
	}
	n, T, F, H := x.Shape[0], x.Shape[1], l.In, l.Units
	G := 4 * H
	l.x, l.n, l.t = x, n, T
	l.dropX = train && l.Dropout > 0
	l.dropH = train && l.RecurrentDropout > 0
	l.xin = x.Data
	if l.dropX {
		if len(l.mx) != n*F {
			l.frozen = false
		}
		l.mx = grow(l.mx, n*F)
		if !l.frozen {
			l.mk.fill(l.mx, F, l.Dropout, l.rng, 0)
		}
		l.xd.Ensure(x.Shape...)
		for s := 0; s < n; s++ {
			m := l.mx[s*F : (s+1)*F]
			for t := 0; t < T; t++ {
				o := (s*T + t) * F
				xr, dr := x.Data[o:o+F], l.xd.Data[o:o+F]
				for j, v := range xr {
					dr[j] = v * m[j]
				}
			}
		}
		l.xin = l.xd.Data
	}
	if l.dropH {
		if len(l.mh) != n*H {
			l.frozen = false
		}
		l.mh = grow(l.mh, n*H)
		if !l.frozen {
			l.mk.fill(l.mh, H, l.RecurrentDropout, l.rng, 0x5bd1e995)
		}
	}
	l.z = grow(l.z, n*T*G)
	l.c = grow(l.c, n*T*H)
	l.ac = grow(l.ac, n*T*H)
	l.hd = grow(l.hd, n*T*H)
	l.h.Ensure(n, T, H)
	z, c, ac, hd, h := l.z, l.c, l.ac, l.hd, l.h.Data
	for r := 0; r < n*T; r++ {
		copy(z[r*G:(r+1)*G], l.B.W)
	}
	blas.Sgemm(false, false, n*T, G, F, 1, l.xin, F, l.W.W, G, 1, z, G)
	for t := 0; t < T; t++ {
		if t == 0 {
			for s := 0; s < n; s++ {
				clear(hd[s*T*H : s*T*H+H])
			}
		} else {
			for s := 0; s < n; s++ {
				cur, prev := (s*T+t)*H, (s*T+t-1)*H
				if l.dropH {
					m := l.mh[s*H : (s+1)*H]
					for j := 0; j < H; j++ {
						hd[cur+j] = h[prev+j] * m[j]
					}
				} else {
					copy(hd[cur:cur+H], h[prev:prev+H])
				}
			}
			blas.Sgemm(false, false, n, G, H, 1, hd[t*H:], T*H, l.U.W, G, 1, z[t*G:], T*G)
		}
		for s := 0; s < n; s++ {
			r := s*T + t
			zr := z[r*G : (r+1)*G]
			l.RecAct.apply(zr[:2*H], zr[:2*H])
			l.Act.apply(zr[2*H:3*H], zr[2*H:3*H])
			l.RecAct.apply(zr[3*H:], zr[3*H:])
			o := r * H
			if t > 0 {
				for j := 0; j < H; j++ {
					c[o+j] = zr[H+j]*c[o-H+j] + zr[j]*zr[2*H+j]
				}
			} else {
				for j := 0; j < H; j++ {
					c[o+j] = zr[H+j]*0 + zr[j]*zr[2*H+j]
				}
			}
			l.Act.apply(ac[o:o+H], c[o:o+H]) // whole rows: the vector kernels
			for j := 0; j < H; j++ {
				h[o+j] = zr[3*H+j] * ac[o+j]
			}
		}
	}
	if l.ReturnSequences {
		return &l.h
	}
	l.last.Ensure(n, H)
	for s := 0; s < n; s++ {
		copy(l.last.Data[s*H:(s+1)*H], h[(s*T+T-1)*H:(s*T+T)*H])
	}
	return &l.last
}

// lstmSpecialised enables gateGradsSigmoid; tests turn it off to compare
// with the generic loop.
var lstmSpecialised = true

// gateGradsSigmoid is the gate-gradient loop of Backward for one sample s at
// step t when the recurrent activation is the sigmoid (Keras' default): the
// activation's derivatives of the row are computed first (branch-free for
// SELU) and the sigmoid's are written out, so no call or branch per element
// is left. Same operations in the same order as the generic loop: bitwise
// the same result.
func (l *LSTM) gateGradsSigmoid(dr, zr, dhn, dcn, a []float32, c []float32, o, t, s int, dy []float32) {
	H := l.Units
	var dyRow []float32
	switch {
	case l.ReturnSequences:
		dyRow = dy[o : o+H]
	case t == l.t-1:
		dyRow = dy[s*H : (s+1)*H]
	}
	var cp []float32
	if t > 0 {
		cp = c[o-H : o]
	}
	zi, zf, zg, zo := zr[:H], zr[H:2*H], zr[2*H:3*H], zr[3*H:4*H]
	di, df, dg, do := dr[:H], dr[H:2*H], dr[2*H:3*H], dr[3*H:4*H]
	l.derivA = grow(l.derivA, H)
	l.derivG = grow(l.derivG, H)
	derivA, derivG := l.derivA[:H], l.derivG[:H]
	l.Act.derivInto(derivA, a[:H])
	l.Act.derivInto(derivG, zg)
	dhn, dcn, a = dhn[:H], dcn[:H], a[:H]
	j0 := 0
	if useSIMD && H >= 8 {
		// the vector kernel takes rows, not nil: a row of −0 adds nothing
		// (x + (−0) is x, bit for bit) and c_{t−1} = 0 at t = 0
		if len(l.negZeros) != H {
			l.negZeros, l.zeros = make([]float32, H), make([]float32, H)
			for j := range l.negZeros {
				l.negZeros[j] = negZero
			}
		}
		args := lstmGateArgs{zr: &zr[0], dr: &dr[0], dhn: &dhn[0], dcn: &dcn[0], a: &a[0], cp: &l.zeros[0], dy: &l.negZeros[0],
			dA: &derivA[0], dG: &derivG[0], n: H &^ 7, stride: 4 * H, one: 1}
		if cp != nil {
			args.cp = &cp[0]
		}
		if dyRow != nil {
			args.dy = &dyRow[0]
		}
		lstmGates(&args)
		j0 = H &^ 7
	}
	for j := j0; j < H; j++ {
		dh := dhn[j]
		if dyRow != nil {
			dh += dyRow[j]
		}
		i, f, g, og := zi[j], zf[j], zg[j], zo[j]
		aj := a[j]
		dc := dcn[j] + float32(dh*og*derivA[j]) // rounded: no fused multiply-add (the kernel's twin)
		var cpj float32
		if cp != nil {
			cpj = cp[j]
		}
		di[j] = dc * g * (i * (1 - i))
		df[j] = dc * cpj * (f * (1 - f))
		dg[j] = dc * i * derivG[j]
		do[j] = dh * aj * (og * (1 - og))
		dcn[j] = dc * f
	}
}

// lstmGateArgs is what lstm_simd_amd64.s reads (field offsets fixed there).
type lstmGateArgs struct {
	zr, dr, dhn, dcn, a, cp, dy, dA, dG *float32
	n, stride                           int
	one                                 float32
}

var negZero = float32(math.Copysign(0, -1))

// Backward runs backpropagation through time, accumulates dW, dU, db and
// returns dL/dx [N, T, In].
func (l *LSTM) Backward(dy *tensor.Tensor) *tensor.Tensor {
	n, T, F, H := l.n, l.t, l.In, l.Units
	G := 4 * H
	l.dz = grow(l.dz, n*T*G)
	l.dhn = grow(l.dhn, n*H)
	l.dcn = grow(l.dcn, n*H)
	clear(l.dhn)
	clear(l.dcn)
	z, c, ac, dz, dhn, dcn := l.z, l.c, l.ac, l.dz, l.dhn, l.dcn
	for t := T - 1; t >= 0; t-- {
		for s := 0; s < n; s++ {
			r := s*T + t
			zr, dr := z[r*G:(r+1)*G], dz[r*G:(r+1)*G]
			o := r * H
			if lstmSpecialised && l.RecAct == SigmoidAct {
				l.gateGradsSigmoid(dr, zr, dhn[s*H:(s+1)*H], dcn[s*H:(s+1)*H], ac[o:o+H], c, o, t, s, dy.Data)
				continue
			}
			for j := 0; j < H; j++ {
				dh := dhn[s*H+j]
				if l.ReturnSequences {
					dh += dy.Data[o+j]
				} else if t == T-1 {
					dh += dy.Data[s*H+j]
				}
				i, f, g, og := zr[j], zr[H+j], zr[2*H+j], zr[3*H+j]
				a := ac[o+j]
				dc := dcn[s*H+j] + dh*og*l.Act.deriv(a)
				var cp float32
				if t > 0 {
					cp = c[o-H+j]
				}
				dr[j] = dc * g * l.RecAct.deriv(i)
				dr[H+j] = dc * cp * l.RecAct.deriv(f)
				dr[2*H+j] = dc * i * l.Act.deriv(g)
				dr[3*H+j] = dh * a * l.RecAct.deriv(og)
				dcn[s*H+j] = dc * f
			}
		}
		if t > 0 {
			blas.Sgemm(false, true, n, H, G, 1, dz[t*G:], T*G, l.U.W, G, 0, dhn, H)
			if l.dropH {
				for i, m := range l.mh {
					dhn[i] *= m
				}
			}
		}
	}
	bg := l.B.G
	for r := 0; r < n*T; r++ {
		for j, v := range dz[r*G : (r+1)*G] {
			bg[j] += v
		}
	}
	l.B.MarkReady()
	blas.Sgemm(true, false, H, G, n*T, 1, l.hd, H, dz, G, 1, l.U.G, G)
	l.U.MarkReady()
	blas.Sgemm(true, false, F, G, n*T, 1, l.xin, F, dz, G, 1, l.W.G, G)
	l.dx.Ensure(n, T, F)
	blas.Sgemm(false, true, n*T, F, G, 1, dz, G, l.W.W, G, 0, l.dx.Data, F)
	l.W.MarkReady() // only now: the loop may update W once it is ready
	if l.dropX {
		for s := 0; s < n; s++ {
			m := l.mx[s*F : (s+1)*F]
			for t := 0; t < T; t++ {
				o := (s*T + t) * F
				dr := l.dx.Data[o : o+F]
				for j := range dr {
					dr[j] *= m[j]
				}
			}
		}
	}
	return &l.dx
}
