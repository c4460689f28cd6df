package nn

import (
	"fmt"
	"math"

	"github.com/scibench/scibench/pkg/tensor"
)

// BatchNormConfig configures batch normalisation. Zero Momentum means 0.1
// and zero Eps means 1e-5 (PyTorch's defaults).
type BatchNormConfig struct {
	Channels int
	Momentum float64 // running = (1-m)·running + m·batch
	Eps      float64
	// Act is an activation fused after the affine step (Linear, the zero
	// value, for none). ReLUAct saves a separate ReLU layer's pass over
	// memory and its buffers in conv–BN–ReLU stacks.
	Act Activation
}

// BatchNorm normalises every channel of [N, C, H, W] (or [N, C]) input.
//
// Train mode uses the batch statistics over N·H·W with the biased variance,
// y = γ·(x-μ)/sqrt(σ²+ε) + β, and updates the running statistics with the
// unbiased variance (PyTorch's convention). Eval mode uses the running
// statistics. γ and β live in the arena; the running statistics do not
// (they are not trained and must not be all-reduced as gradients). With an
// activation f, y = f(γ·x̂ + β).
type BatchNorm struct {
	Gamma, Beta *Param     // [Channels]
	RunningMean []float32  // starts at 0
	RunningVar  []float32  // starts at 1
	Act         Activation // fused activation (from the config; may be changed between steps)

	cfg      BatchNormConfig
	name     string
	train    bool
	in       []int
	mean     []float64 // per channel: mean used by the last Forward
	invStd   []float64 // per channel: 1/sqrt(var+ε) used by the last Forward
	xhat     tensor.Tensor
	y, dx    tensor.Tensor
	sum, dot []float64
	act      Activation // the activation of the last Forward
}

// NewBatchNorm registers γ (ones) and β (zeros) in a as name+".weight" and
// name+".bias".
func NewBatchNorm(a *Arena, name string, c BatchNormConfig) (*BatchNorm, error) {
	if c.Momentum == 0 {
		c.Momentum = 0.1
	}
	if c.Eps == 0 {
		c.Eps = 1e-5
	}
	if c.Channels <= 0 || c.Momentum < 0 || c.Momentum > 1 || c.Eps < 0 {
		return nil, fmt.Errorf("%w: batchnorm %q: channels %d momentum %g eps %g", ErrLayerConfig, name, c.Channels, c.Momentum, c.Eps)
	}
	l := &BatchNorm{cfg: c, name: name, Act: c.Act}
	l.Gamma = a.Param(name+".weight", c.Channels)
	l.Beta = a.Param(name+".bias", c.Channels)
	for i := range l.Gamma.W {
		l.Gamma.W[i] = 1
	}
	l.RunningMean = make([]float32, c.Channels)
	l.RunningVar = make([]float32, c.Channels)
	for i := range l.RunningVar {
		l.RunningVar[i] = 1
	}
	l.mean = make([]float64, c.Channels)
	l.invStd = make([]float64, c.Channels)
	l.sum = make([]float64, c.Channels)
	l.dot = make([]float64, c.Channels)
	return l, nil
}

// OutputShape returns the input shape, or an error wrapping ErrInputShape.
func (l *BatchNorm) OutputShape(in []int) ([]int, error) {
	if err := l.check(in); err != nil {
		return nil, err
	}
	return append([]int(nil), in...), nil
}

func (l *BatchNorm) check(in []int) error {
	if (len(in) != 2 && len(in) != 4) || in[1] != l.cfg.Channels {
		return fmt.Errorf("%w: batchnorm %q: input %v, want [N %d] or [N %d H W]", ErrInputShape, l.name, in, l.cfg.Channels, l.cfg.Channels)
	}
	return nil
}

func (l *BatchNorm) dims() (n, c, hw int) {
	n, c, hw = l.in[0], l.in[1], 1
	for _, d := range l.in[2:] {
		hw *= d
	}
	return n, c, hw
}

// Forward normalises x; train selects batch (true) or running statistics.
func (l *BatchNorm) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	if err := l.check(x.Shape); err != nil {
		panic(err)
	}
	l.in = append(l.in[:0], x.Shape...)
	l.train = train
	n, c, hw := l.dims()
	if train {
		m := float64(n * hw)
		for ch := 0; ch < c; ch++ {
			// One pass: Σx and Σx² in float64 (float32 data cannot make
			// Σx²/m - μ² lose more than a few digits of float64).
			var s, ss float64
			for b := 0; b < n; b++ {
				for _, v := range x.Data[(b*c+ch)*hw : (b*c+ch+1)*hw] {
					f := float64(v)
					s += f
					ss += f * f
				}
			}
			mu := s / m
			v := max(ss/m-mu*mu, 0)
			l.mean[ch], l.invStd[ch] = mu, 1/math.Sqrt(v+l.cfg.Eps)
			unbiased := v
			if m > 1 {
				unbiased = v * m / (m - 1)
			}
			mo := l.cfg.Momentum
			l.RunningMean[ch] = float32((1-mo)*float64(l.RunningMean[ch]) + mo*mu)
			l.RunningVar[ch] = float32((1-mo)*float64(l.RunningVar[ch]) + mo*unbiased)
		}
	} else {
		for ch := 0; ch < c; ch++ {
			l.mean[ch] = float64(l.RunningMean[ch])
			l.invStd[ch] = 1 / math.Sqrt(float64(l.RunningVar[ch])+l.cfg.Eps)
		}
	}
	y := l.y.Ensure(x.Shape...)
	xhat := l.xhat.Ensure(x.Shape...)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			mu, is := float32(l.mean[ch]), float32(l.invStd[ch])
			gm, bt := l.Gamma.W[ch], l.Beta.W[ch]
			o := (b*c + ch) * hw
			xs, hs, ys := x.Data[o:o+hw], xhat.Data[o:o+hw], y.Data[o:o+hw]
			switch l.Act {
			case ReLUAct:
				for i, v := range xs {
					h := (v - mu) * is
					hs[i] = h
					ys[i] = max(gm*h+bt, 0)
				}
			default:
				for i, v := range xs {
					h := (v - mu) * is
					hs[i] = h
					ys[i] = gm*h + bt
				}
				if l.Act != Linear {
					l.Act.apply(ys, ys)
				}
			}
		}
	}
	l.act = l.Act
	return y
}

// Backward accumulates dγ = Σ dy·x̂ and dβ = Σ dy and returns dL/dx. In
// train mode dx = γ/σ·(dy - mean(dy) - x̂·mean(dy·x̂)); in eval mode the
// statistics are constants and dx = γ/σ·dy. With a fused activation, dy is
// first multiplied by f' (from the stored output).
func (l *BatchNorm) Backward(dy *tensor.Tensor) *tensor.Tensor {
	n, c, hw := l.dims()
	xhat := l.xhat.Data
	dx := l.dx.Ensure(l.in...)
	// g = dL/d(γ·x̂+β): dy itself, or dy·f' written into dx first.
	g := dy.Data[:len(dx.Data)]
	switch l.act {
	case Linear:
	case ReLUAct:
		for i, v := range l.y.Data {
			if v > 0 {
				dx.Data[i] = g[i]
			} else {
				dx.Data[i] = 0
			}
		}
		g = dx.Data
	default:
		l.act.backward(dx.Data, g, l.y.Data)
		g = dx.Data
	}
	clear(l.sum)
	clear(l.dot)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			o := (b*c + ch) * hw
			var s, d float64
			hs := xhat[o : o+hw]
			for i, v := range g[o : o+hw] {
				s += float64(v)
				d += float64(v) * float64(hs[i])
			}
			l.sum[ch] += s
			l.dot[ch] += d
		}
	}
	for ch := 0; ch < c; ch++ {
		l.Gamma.G[ch] += float32(l.dot[ch])
		l.Beta.G[ch] += float32(l.sum[ch])
	}
	m := float64(n * hw)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			o := (b*c + ch) * hw
			k := float32(float64(l.Gamma.W[ch]) * l.invStd[ch])
			hs, gs, ds := xhat[o:o+hw], g[o:o+hw], dx.Data[o:o+hw]
			if !l.train {
				for i, g := range gs {
					ds[i] = k * g
				}
				continue
			}
			ms, md := float32(l.sum[ch]/m), float32(l.dot[ch]/m)
			for i, g := range gs {
				ds[i] = k * (g - ms - hs[i]*md)
			}
		}
	}
	l.Beta.MarkReady()
	l.Gamma.MarkReady()
	return dx
}

// Config returns the layer's configuration (Act as built; the field Act
// may have changed since).
func (l *BatchNorm) Config() BatchNormConfig { return l.cfg }
