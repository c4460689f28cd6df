package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDropoutStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range []float64{0.1, 0.2, 0.5} {
		d := NewDropout(p, 42)
		x := randTensor(rng, 100, 1000)
		y := d.Forward(x, true)
		zeros := 0
		for i, v := range y.Data {
			switch {
			case v == 0 && x.Data[i] != 0:
				zeros++
			case math.Abs(float64(v)-float64(x.Data[i])/(1-p)) > 1e-6:
				t.Fatalf("p=%g: kept value %g, want %g/(1-p)", p, v, x.Data[i])
			}
		}
		frac := float64(zeros) / float64(len(y.Data))
		if se := math.Sqrt(p * (1 - p) / float64(len(y.Data))); math.Abs(frac-p) > 5*se {
			t.Errorf("p=%g: dropped fraction %g", p, frac)
		}
		dy := randTensor(rng, 100, 1000)
		dx := d.Backward(dy)
		for i := range dx.Data {
			want := dy.Data[i] * y.Data[i] / x.Data[i]
			if math.Abs(float64(dx.Data[i]-want)) > 1e-4*(1+math.Abs(float64(want))) {
				t.Fatalf("dx[%d] = %g, want dy·mask = %g", i, dx.Data[i], want)
			}
		}
	}
}

func TestDropoutModesAndSeeds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := randTensor(rng, 8, 50)
	d := NewDropout(0.3, 7)
	if y := d.Forward(x, false); y != x {
		t.Error("inference: dropout is not the identity")
	}
	dy := randTensor(rng, 8, 50)
	if dx := d.Backward(dy); dx != dy {
		t.Error("inference: backward is not the identity")
	}
	d.Permanent = true
	y1 := append([]float32(nil), d.Forward(x, false).Data...)
	same := true
	for i := range y1 {
		same = same && y1[i] == x.Data[i]
	}
	if same {
		t.Error("permanent dropout inactive at inference")
	}
	e := NewDropout(0.3, 7)
	e.Permanent = true
	y2 := e.Forward(x, false).Data
	for i := range y1 {
		if y1[i] != y2[i] {
			t.Fatal("same seed gives different masks")
		}
	}
	f := NewDropout(0.3, 8)
	y3 := f.Forward(x, true).Data
	diff := 0
	for i := range y1 {
		if y1[i] != y3[i] {
			diff++
		}
	}
	if diff == 0 {
		t.Error("different seeds give the same mask")
	}
	y4 := e.Forward(x, false).Data
	diff = 0
	for i := range y1 {
		if y1[i] != y4[i] {
			diff++
		}
	}
	if diff == 0 {
		t.Error("successive calls reuse the mask")
	}
	if y := NewDropout(0, 1).Forward(x, true); y != x {
		t.Error("rate 0 is not the identity")
	}
}

func TestDropoutGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	d := NewDropout(0.4, 9)
	x := randTensor(rng, 3, 11)
	d.Forward(x, true)
	d.frozen = true
	gradCheck(t, d, nil, x, true)
}
