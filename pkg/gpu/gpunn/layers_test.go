//go:build linux && (amd64 || arm64)

package gpunn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

// near32 checks got against want within atol + rtol·|want| (rtol 0:
// bit-identical, NaN matching NaN).
func near32(t *testing.T, what string, got Tensor, gv []float32, want *tensor.Tensor, rtol, atol float64) {
	t.Helper()
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		t.Errorf("%s: shape %v on the device, %v on the CPU", what, got.Shape, want.Shape)
	}
	nearSlice(t, what, gv, want.Data, rtol, atol)
}

func nearSlice(t *testing.T, what string, got, want []float32, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values on the device, %d on the CPU", what, len(got), len(want))
	}
	bad := 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		ok := math.Float32bits(got[i]) == math.Float32bits(want[i]) || math.IsNaN(g) && math.IsNaN(w)
		if !ok && rtol+atol > 0 {
			ok = math.Abs(g-w) <= atol+rtol*math.Abs(w)
		}
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] = %v on the device, %v on the CPU", what, i, g, w)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d mismatches in all", what, bad)
	}
}

// bnPair builds the same BatchNorm twice (one CPU reference, one host
// twin of the device layer), with random γ, β and running statistics.
func bnPair(t *testing.T, seed uint64, c int, act nn.Activation) (ref, twin *nn.BatchNorm, ra, ta *nn.Arena) {
	t.Helper()
	mk := func() (*nn.BatchNorm, *nn.Arena) {
		rng := rand.New(rand.NewPCG(seed, 3))
		a := nn.NewArena()
		a.Param("before", 3) // γ and β do not start the arena
		bn, err := nn.NewBatchNorm(a, "bn", nn.BatchNormConfig{Channels: c, Momentum: 0.3, Eps: 1e-3, Act: act})
		if err != nil {
			t.Fatal(err)
		}
		a.Build()
		for i := range c {
			bn.Gamma.W[i] = float32(0.5 + rng.Float64())
			bn.Beta.W[i] = float32(rng.NormFloat64() * 0.5)
			bn.RunningMean[i] = float32(rng.NormFloat64() * 0.2)
			bn.RunningVar[i] = float32(0.5 + rng.Float64())
		}
		return bn, a
	}
	ref, ra = mk()
	twin, ta = mk()
	return ref, twin, ra, ta
}

// TestBatchNormMatchesCPU runs train steps (accumulating γ and β
// gradients), eval steps and a running-statistics round trip on the
// emulated device and on the CPU, for [N C H W] and [N C] input and the
// fused activations.
func TestBatchNormMatchesCPU(t *testing.T) {
	ctx := context.Background()
	for ci, tc := range []struct {
		shape []int
		act   nn.Activation
	}{{[]int{3, 2, 4, 5}, nn.Linear}, {[]int{2, 3, 5, 5}, nn.ReLUAct}, {[]int{3, 4}, nn.TanhAct}, {[]int{2, 3, 1, 6}, nn.SigmoidAct}} {
		t.Run(fmt.Sprintf("%v_%v", tc.shape, tc.act), func(t *testing.T) {
			e := newTestEngine(t)
			rng := rand.New(rand.NewPCG(uint64(ci), 9))
			c := tc.shape[1]
			ref, twin, ra, ta := bnPair(t, uint64(ci), c, tc.act)
			ga := mustArena(t, e, ta)
			l, err := e.NewBatchNorm(ga, twin)
			if err != nil {
				t.Fatal(err)
			}
			if l.Momentum != 0.3 || l.Eps != 1e-3 {
				t.Fatalf("momentum %v eps %v, want the host's 0.3 and 0.001", l.Momentum, l.Eps)
			}
			var ready []string
			ga.SetReadyHook(func(v View) error { ready = append(ready, v.Name); return nil })
			grad := make([]float32, ga.Size())
			// γ and β gradients accumulate over the steps, as on the CPU.
			for step, train := range []bool{true, true, false, true, false} {
				what := fmt.Sprintf("step %d (train %v)", step, train)
				x := randTensor(rng, tc.shape...)
				for i := range x.Data { // an offset per step so the statistics move
					x.Data[i] = x.Data[i]*1.5 + float32(step)*0.3
				}
				dy := randTensor(rng, tc.shape...)
				want := ref.Forward(x, train)
				wdx := ref.Backward(dy)
				y, err := l.Forward(toDevice(t, e, x), train)
				if err != nil {
					t.Fatal(err)
				}
				near32(t, what+" y", y, fromDevice(t, e, y), want, 1e-5, 1e-5)
				dx, err := l.Backward(toDevice(t, e, dy))
				if err != nil {
					t.Fatal(err)
				}
				near32(t, what+" dx", dx, fromDevice(t, e, dx), wdx, 1e-4, 1e-5)
				if err := ga.DownloadGrad(ctx, grad); err != nil {
					t.Fatal(err)
				}
				compare(t, what+" gradient", ga, grad, ra.Grad, 1e-4)
				if err := l.SyncToHost(ctx); err != nil {
					t.Fatal(err)
				}
				nearSlice(t, what+" running mean", twin.RunningMean, ref.RunningMean, 1e-6, 1e-7)
				nearSlice(t, what+" running variance", twin.RunningVar, ref.RunningVar, 1e-6, 1e-7)
			}
			if want := "bn.bias bn.weight"; strings.Join(ready[:2], " ") != want || len(ready) != 10 {
				t.Errorf("ready hook calls %v, want %q per backward", ready, want)
			}
			// SyncFromHost: new running statistics on both hosts, then eval.
			for i := range c {
				ref.RunningMean[i], ref.RunningVar[i] = float32(i)*0.1-0.2, 2+float32(i)
			}
			copy(twin.RunningMean, ref.RunningMean)
			copy(twin.RunningVar, ref.RunningVar)
			if err := l.SyncFromHost(ctx); err != nil {
				t.Fatal(err)
			}
			x := randTensor(rng, tc.shape...)
			want := ref.Forward(x, false)
			y, err := l.Forward(toDevice(t, e, x), false)
			if err != nil {
				t.Fatal(err)
			}
			near32(t, "eval after SyncFromHost y", y, fromDevice(t, e, y), want, 1e-5, 1e-5)
			checkGuards(t, e)
		})
	}
}

// TestActMatchesCPU compares every activation layer and Softmax with the
// CPU layers, forward and backward.
func TestActMatchesCPU(t *testing.T) {
	e := newTestEngine(t)
	rng := rand.New(rand.NewPCG(5, 5))
	type layer interface {
		Forward(*tensor.Tensor, bool) *tensor.Tensor
		Backward(*tensor.Tensor) *tensor.Tensor
	}
	for _, fn := range []nn.Activation{nn.Linear, nn.ReLUAct, nn.SELUAct, nn.SigmoidAct, nn.TanhAct, -1} {
		var ref layer
		var dev Layer
		var err error
		name := "softmax"
		if fn < 0 {
			ref = nn.NewSoftmax()
			dev, err = e.NewSoftmax(nn.NewSoftmax())
		} else {
			name = fn.String()
			ref = nn.NewAct(fn)
			dev, err = e.NewAct(nn.NewAct(fn))
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, shape := range [][]int{{3, 4, 5}, {2, 7}} {
			what := fmt.Sprintf("%s %v", name, shape)
			x := randTensor(rng, shape...)
			x.Data[0], x.Data[1] = 0, float32(math.Copysign(0, -1))
			for i := range x.Data {
				x.Data[i] *= 2
			}
			dy := randTensor(rng, shape...)
			want := ref.Forward(x, true)
			wdx := ref.Backward(dy)
			y, err := dev.Forward(toDevice(t, e, x), true)
			if err != nil {
				t.Fatal(err)
			}
			near32(t, what+" y", y, fromDevice(t, e, y), want, 2e-6, 1e-7)
			dx, err := dev.Backward(toDevice(t, e, dy))
			if err != nil {
				t.Fatal(err)
			}
			near32(t, what+" dx", dx, fromDevice(t, e, dx), wdx, 1e-5, 1e-6)
		}
	}
	checkGuards(t, e)
}

// TestDropoutMatchesCPU checks that the device layer drops exactly the
// CPU layer's elements: seeded stream, per-sample keys, eval (identity),
// Permanent, and a batch of another size.
func TestDropoutMatchesCPU(t *testing.T) {
	e := newTestEngine(t)
	rng := rand.New(rand.NewPCG(8, 8))
	ref, twin := nn.NewDropout(0.4, 77), nn.NewDropout(0.4, 77)
	l, err := e.NewDropout(twin)
	if err != nil {
		t.Fatal(err)
	}
	var _ nn.MaskKeyed = l
	steps := []struct {
		shape     []int
		train     bool
		key       bool
		permanent bool
	}{
		{[]int{3, 2, 5, 5}, true, false, false},
		{[]int{3, 2, 5, 5}, true, false, false},
		{[]int{2, 9}, true, true, false},
		{[]int{3, 9}, true, true, false},
		{[]int{3, 9}, false, false, false},
		{[]int{2, 3, 6, 6}, false, false, true},
		{[]int{2, 3, 6, 6}, true, false, false},
	}
	for i, s := range steps {
		what := fmt.Sprintf("step %d %v train=%v keyed=%v permanent=%v", i, s.shape, s.train, s.key, s.permanent)
		if s.key {
			k := nn.MixKey(3, uint64(i))
			ref.SetMaskKey(k, 4*i)
			l.SetMaskKey(k, 4*i)
		}
		ref.Permanent, twin.Permanent = s.permanent, s.permanent
		x, dy := randTensor(rng, s.shape...), randTensor(rng, s.shape...)
		want := ref.Forward(x, s.train)
		wdx := ref.Backward(dy)
		xd, dyd := toDevice(t, e, x), toDevice(t, e, dy)
		y, err := l.Forward(xd, s.train)
		if err != nil {
			t.Fatal(err)
		}
		active := s.train || s.permanent
		if (y.P == xd.P) == active {
			t.Errorf("%s: output is the input: %v, want %v", what, y.P == xd.P, !active)
		}
		gy := fromDevice(t, e, y)
		near32(t, what+" y", y, gy, want, 0, 0)
		dropped := 0
		for _, v := range gy {
			if v == 0 {
				dropped++
			}
		}
		if active && (dropped == 0 || dropped == len(gy)) {
			t.Errorf("%s: %d of %d dropped", what, dropped, len(gy))
		}
		dx, err := l.Backward(dyd)
		if err != nil {
			t.Fatal(err)
		}
		near32(t, what+" dx", dx, fromDevice(t, e, dx), wdx, 0, 0)
	}
	checkGuards(t, e)
}

// TestMergeMatchesCPU compares Concat ([N C H W] and [N C]) and Add with
// the CPU layers, forward and backward, bit for bit.
func TestMergeMatchesCPU(t *testing.T) {
	e := newTestEngine(t)
	rng := rand.New(rand.NewPCG(6, 6))
	cat, err := e.NewConcat(nn.NewConcat())
	if err != nil {
		t.Fatal(err)
	}
	add, err := e.NewAdd(nn.NewAdd())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][2][]int{{{2, 2, 3, 3}, {2, 3, 3, 3}}, {{3, 2}, {3, 5}}, {{2, 1, 4, 5}, {2, 1, 4, 5}}} {
		what := fmt.Sprintf("concat %v %v", s[0], s[1])
		ref := nn.NewConcat()
		a, b := randTensor(rng, s[0]...), randTensor(rng, s[1]...)
		want := ref.Forward2(a, b)
		dy := randTensor(rng, want.Shape...)
		wda, wdb := ref.Backward2(dy)
		y, err := cat.Forward2(toDevice(t, e, a), toDevice(t, e, b))
		if err != nil {
			t.Fatal(err)
		}
		near32(t, what+" y", y, fromDevice(t, e, y), want, 0, 0)
		da, db, err := cat.Backward2(toDevice(t, e, dy))
		if err != nil {
			t.Fatal(err)
		}
		near32(t, what+" da", da, fromDevice(t, e, da), wda, 0, 0)
		near32(t, what+" db", db, fromDevice(t, e, db), wdb, 0, 0)
	}
	a, b := randTensor(rng, 2, 3, 4), randTensor(rng, 2, 3, 4)
	want := nn.NewAdd().Forward2(a, b)
	y, err := add.Forward2(toDevice(t, e, a), toDevice(t, e, b))
	if err != nil {
		t.Fatal(err)
	}
	near32(t, "add y", y, fromDevice(t, e, y), want, 0, 0)
	dyd := toDevice(t, e, randTensor(rng, 2, 3, 4))
	da, db, err := add.Backward2(dyd)
	if err != nil || da.P != dyd.P || db.P != dyd.P {
		t.Errorf("add backward: %v, %v, %v: want dy itself twice", da, db, err)
	}
	checkGuards(t, e)
}

// TestLayerErrors checks that bad shapes and calls out of order are errors
// naming the layer and the device.
func TestLayerErrors(t *testing.T) {
	e := newTestEngine(t)
	_, twin, _, ta := bnPair(t, 1, 3, nn.Linear)
	ga := mustArena(t, e, ta)
	bn, err := e.NewBatchNorm(ga, twin)
	if err != nil {
		t.Fatal(err)
	}
	other, err := nn.NewBatchNorm(nn.NewArena(), "elsewhere", nn.BatchNormConfig{Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := toDevice(t, e, randTensor(rng, 2, 4, 2, 2))
	act, _ := e.NewAct(nn.NewReLU())
	sm, _ := e.NewSoftmax(nn.NewSoftmax())
	do, _ := e.NewDropout(nn.NewDropout(0.5, 1))
	cat, _ := e.NewConcat(nn.NewConcat())
	add, _ := e.NewAdd(nn.NewAdd())
	short := x
	short.Shape = []int{2, 4, 2, 5} // longer than its buffer and guards
	errs := map[string]error{}
	_, errs["BatchNorm"] = e.NewBatchNorm(ga, other)
	_, errs["BatchNorm bn forward"] = bn.Forward(x, true)
	_, errs["BatchNorm bn backward before"] = bn.Backward(x)
	_, errs["Act relu backward before"] = act.Backward(x)
	_, errs["Act relu forward"] = act.Forward(short, true)
	_, errs["Softmax backward before"] = sm.Backward(x)
	_, errs["Dropout backward before"] = do.Backward(x)
	_, errs["Dropout forward"] = do.Forward(short, true)
	_, _, errs["Concat backward before"] = cat.Backward2(x)
	_, errs["Concat forward"] = cat.Forward2(x, toDevice(t, e, randTensor(rng, 3, 4, 2, 2)))
	_, errs["Add forward"] = add.Forward2(x, toDevice(t, e, randTensor(rng, 2, 4, 2, 1)))
	_, _, errs["Add backward before"] = add.Backward2(x)
	if _, err := e.NewAct(nn.NewAct(nn.Activation(42))); err == nil {
		t.Error("NewAct accepted an unknown activation")
	}
	if _, err := e.NewDropout(nn.NewDropout(1, 1)); err == nil {
		t.Error("NewDropout accepted rate 1")
	}
	for what, err := range errs {
		layer := strings.Fields(what)[0]
		if err == nil || !strings.Contains(err.Error(), layer) || !strings.Contains(err.Error(), "device") {
			t.Errorf("%s: %v, want an error naming %q and the device", what, err, layer)
		}
	}
	if err := ga.ZeroGrad(); err != nil {
		t.Fatal(err)
	}
	y, err := bn.Forward(toDevice(t, e, randTensor(rng, 2, 3)), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bn.Backward(Tensor{P: y.P, Shape: []int{2, 4}}); err == nil {
		t.Error("BatchNorm backward accepted a gradient of the wrong size")
	}
	checkGuards(t, e)
}
