package nn

import (
	"math/rand/v2"

	"github.com/scibench/scibench/pkg/tensor"
)

// Dropout zeroes each element with probability Rate and scales the kept
// ones by 1/(1−Rate) (inverted dropout), so inference needs no rescaling.
// It is active when Forward's train is true, or always when Permanent is
// set (MC dropout, as candle-uno uses). Inactive, it passes x through
// unchanged and Backward passes dy through. Masks come from a PCG stream
// seeded at construction: give each rank its own seed for independent,
// reproducible masks.
type Dropout struct {
	Rate      float64
	Permanent bool

	rng    *rand.Rand
	mk     maskKey
	mask   []float32 // 0 or 1/(1-Rate)
	active bool
	frozen bool // tests: reuse the last mask
	y, dx  tensor.Tensor
}

// NewDropout returns a dropout layer with the given rate in [0, 1) and
// seed. The rate is applied with 16-bit resolution (1/65536).
func NewDropout(rate float64, seed uint64) *Dropout {
	return &Dropout{Rate: rate, rng: NewRand(seed)}
}

// fillMask draws a keep mask of length n: each element kept with
// probability 1−rate and set to scale, else 0. Four draws per Uint64.
func fillMask(m []float32, rate float64, rng *rand.Rand) {
	thr := uint64(rate * (1 << 16))
	scale := float32(1 / (1 - rate))
	for i := 0; i < len(m); {
		u := rng.Uint64()
		for k := 0; k < 4 && i < len(m); k++ {
			if u&0xffff < thr {
				m[i] = 0
			} else {
				m[i] = scale
			}
			u >>= 16
			i++
		}
	}
}

// Forward applies a fresh mask when active.
func (l *Dropout) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	l.active = (train || l.Permanent) && l.Rate > 0
	if !l.active {
		return x
	}
	n := len(x.Data)
	if cap(l.mask) < n {
		l.mask = make([]float32, n)
		l.frozen = false
	}
	l.mask = l.mask[:n]
	if !l.frozen {
		per := 0
		if len(x.Shape) > 0 && x.Shape[0] > 0 {
			per = n / x.Shape[0]
		}
		l.mk.fill(l.mask, per, l.Rate, l.rng, 0)
	}
	l.y.Ensure(x.Shape...)
	for i, v := range x.Data {
		l.y.Data[i] = v * l.mask[i]
	}
	return &l.y
}

// SetMaskKey keys the next masks per sample (see MaskKeyed).
func (l *Dropout) SetMaskKey(key uint64, first int) { l.mk.set(key, first) }

// Backward returns dy ⊙ mask (dy itself when inactive).
func (l *Dropout) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if !l.active {
		return dy
	}
	l.dx.Ensure(dy.Shape...)
	for i, v := range dy.Data {
		l.dx.Data[i] = v * l.mask[i]
	}
	return &l.dx
}

// MaskKey returns the key and first sample index set by SetMaskKey, and
// whether the masks are keyed (engines that draw the keyed masks
// themselves, such as the GPU engine, read it).
func (l *Dropout) MaskKey() (key uint64, first int, keyed bool) {
	return l.mk.key, l.mk.first, l.mk.keyed
}
