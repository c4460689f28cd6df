package stemdl

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveMacroF1 is a direct transcription of the definition: for every
// class in y_true ∪ y_pred, precision and recall by counting, F1 =
// 2PR/(P+R) with 0/0 = 0, then the mean.
func naiveMacroF1(truth, pred []int) float64 {
	present := map[int]bool{}
	for i := range truth {
		present[truth[i]] = true
		present[pred[i]] = true
	}
	var sum float64
	for c := range present {
		var tp, predC, trueC float64
		for i := range truth {
			if pred[i] == c {
				predC++
			}
			if truth[i] == c {
				trueC++
			}
			if pred[i] == c && truth[i] == c {
				tp++
			}
		}
		var p, r, f float64
		if predC > 0 {
			p = tp / predC
		}
		if trueC > 0 {
			r = tp / trueC
		}
		if p+r > 0 {
			f = 2 * p * r / (p + r)
		}
		sum += f
	}
	if len(present) == 0 {
		return 0
	}
	return sum / float64(len(present))
}

// TestCountsAgainstNaive compares top-1 and the dataset-level macro F1 with
// the naive definition on random predictions, and checks that counts
// summed over random shards (the all-reduce) equal the counts of the whole.
func TestCountsAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for trial := 0; trial < 200; trial++ {
		k := 2 + r.IntN(40)
		n := 1 + r.IntN(300)
		truth, pred := make([]int, n), make([]int, n)
		correct := 0
		for i := range truth {
			truth[i] = r.IntN(k)
			if r.Float64() < 0.5 {
				pred[i] = truth[i]
			} else {
				pred[i] = r.IntN(k)
			}
			if pred[i] == truth[i] {
				correct++
			}
		}
		whole := NewCounts(k)
		for i := range truth {
			whole.Add(truth[i], pred[i])
		}
		if got, want := whole.Top1(), float64(correct)/float64(n); math.Abs(got-want) > 1e-12 {
			t.Fatalf("top1 %v, want %v", got, want)
		}
		f1, _ := whole.MacroF1()
		if want := naiveMacroF1(truth, pred); math.Abs(f1-want) > 1e-12 {
			t.Fatalf("trial %d: macro F1 %v, want %v", trial, f1, want)
		}
		scratch := make([]float64, 3*k+1)
		if b := BatchMacroF1(truth, pred, k, scratch); math.Abs(b-f1) > 1e-12 {
			t.Fatalf("batch F1 %v, want %v", b, f1)
		}
		// shards
		ranks := 1 + r.IntN(5)
		sum := make([]float64, 3*k+1)
		for rk := 0; rk < ranks; rk++ {
			c := NewCounts(k)
			for i := rk * n / ranks; i < (rk+1)*n/ranks; i++ {
				c.Add(truth[i], pred[i])
			}
			for i, v := range c.Vec {
				sum[i] += v
			}
		}
		for i := range sum {
			if sum[i] != whole.Vec[i] {
				t.Fatalf("shard sum differs at %d", i)
			}
		}
	}
}

func TestMacroF1Cases(t *testing.T) {
	c := NewCounts(4)
	if f, n := c.MacroF1(); f != 0 || n != 0 || c.Top1() != 0 {
		t.Fatalf("empty: %v %v %v", f, n, c.Top1())
	}
	// class 3 only predicted (FP), class 2 only true (FN): both count as 0
	for _, p := range [][2]int{{1, 1}, {1, 1}, {2, 3}} {
		c.Add(p[0], p[1])
	}
	f, n := c.MacroF1()
	if n != 3 || math.Abs(f-1.0/3) > 1e-12 {
		t.Fatalf("F1 %v over %d classes, want 1/3 over 3", f, n)
	}
	c.Add(-1, 2) // ignored
	c.Add(1, 9)  // ignored
	if c.N() != 3 {
		t.Fatalf("N %v", c.N())
	}
	if Argmax([]float32{1, 3, 3, -1}) != 1 {
		t.Fatal("argmax")
	}
}
