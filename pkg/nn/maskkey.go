package nn

import "math/rand/v2"

// MaskKeyed is implemented by layers (and models) with random masks that
// can be keyed per sample. After SetMaskKey(key, first), the next Forward
// draws the mask of its local sample j from a stream that depends only on
// (key, first+j). The data-parallel loop passes a key derived from (seed,
// epoch, step) and the global index of the rank's first sample in the
// step's batch, so masks do not depend on how the global batch is split
// across ranks, and a resumed run draws the same masks again.
type MaskKeyed interface {
	SetMaskKey(key uint64, first int)
}

// maskKey is the per-sample keyed mask stream shared by Dropout and LSTM.
type maskKey struct {
	keyed bool
	key   uint64
	first int
	pcg   rand.PCG
	rng   *rand.Rand
}

func (k *maskKey) set(key uint64, first int) {
	k.keyed, k.key, k.first = true, key, first
	if k.rng == nil {
		k.rng = rand.New(&k.pcg)
	}
}

// fill draws the mask m laid out as samples of per elements each: keyed,
// sample j gets its own stream (salt separates a layer's masks);
// otherwise one stream (fallback) covers m.
func (k *maskKey) fill(m []float32, per int, rate float64, fallback *rand.Rand, salt uint64) {
	if !k.keyed || per <= 0 {
		fillMask(m, rate, fallback)
		return
	}
	for j := 0; j*per < len(m); j++ {
		k.pcg.Seed(k.key^salt, uint64(k.first+j)^0x9e3779b97f4a7c15)
		fillMask(m[j*per:(j+1)*per], rate, k.rng)
	}
}

// MixKey mixes values into one 64-bit mask key (splitmix64 finaliser).
func MixKey(vals ...uint64) uint64 {
	h := uint64(0x6a09e667f3bcc909)
	for _, v := range vals {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}
