package nn

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scibench/scibench/pkg/tensor"
)

// TestMaskKeySplitInvariant checks that keyed masks depend only on the key
// and the global sample index: a batch split into two sub-blocks (two
// ranks) gets exactly the masks of the whole batch, for Dropout and for
// both LSTM masks; and a different key gives different masks.
func TestMaskKeySplitInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, f = 7, 13
	x := tensor.New(n, f)
	for i := range x.Data {
		x.Data[i] = 1
	}
	whole := NewDropout(0.3, 1)
	whole.SetMaskKey(42, 0)
	want := slices.Clone(whole.Forward(x, true).Data)
	for _, cut := range []int{0, 1, 3, 6, 7} {
		var got []float32
		for _, part := range [][2]int{{0, cut}, {cut, n}} {
			d := NewDropout(0.3, 99) // different fallback seed: must not matter
			d.SetMaskKey(42, part[0])
			xs := tensor.FromSlice(x.Data[part[0]*f:part[1]*f], part[1]-part[0], f)
			got = append(got, d.Forward(xs, true).Data...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("cut %d: split masks differ from the whole batch's", cut)
		}
	}
	other := NewDropout(0.3, 1)
	other.SetMaskKey(43, 0)
	if slices.Equal(other.Forward(x, true).Data, want) {
		t.Fatal("key 43 gave the same mask as key 42")
	}

	a := NewArena()
	cfg := DefaultLSTMConfig(f, 5)
	cfg.Dropout, cfg.RecurrentDropout = 0.3, 0.4
	l := NewLSTM(a, "l", cfg, NewRand(3))
	a.Build()
	seq := randTensor(rng, n, 4, f)
	l.SetMaskKey(7, 10)
	l.Forward(seq, true)
	mx, mh := slices.Clone(l.mx), slices.Clone(l.mh)
	if slices.Equal(mx[:5], mh[:5]) && slices.Equal(mx[5:10], mh[5:10]) {
		t.Fatal("input and recurrent masks look identical")
	}
	l.SetMaskKey(7, 12) // the sub-block starting at global sample 12
	l.Forward(tensor.FromSlice(seq.Data[2*4*f:], n-2, 4, f), true)
	if !slices.Equal(l.mx, mx[2*f:]) || !slices.Equal(l.mh, mh[2*5:]) {
		t.Fatal("LSTM masks of a sub-block differ from the whole batch's")
	}
}
