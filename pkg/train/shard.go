package train

import "math/rand/v2"

// Permutation fills perm (len n) with the seeded global order of samples for
// the given epoch. Every rank computes the same permutation, whatever the
// world size.
func Permutation(perm []int, seed uint64, epoch int) {
	for i := range perm {
		perm[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(epoch)))
	for i := len(perm) - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
}

// StepsPerEpoch is the number of global batches of size batch in n samples;
// the remainder is dropped so that every rank runs the same number of steps.
func StepsPerEpoch(n, batch int) int {
	if batch <= 0 {
		return 0
	}
	return n / batch
}

// RankBlock returns the half-open range [lo, hi) of a global batch of size
// batch that rank r of world owns: contiguous sub-blocks that differ in size
// by at most one (and may be empty when batch < world). The global batch
// composition is therefore independent of the world size.
func RankBlock(batch, world, r int) (lo, hi int) {
	return r * batch / world, (r + 1) * batch / world
}
