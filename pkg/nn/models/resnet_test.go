package models

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
)

func TestResNetParamCounts(t *testing.T) {
	for _, c := range []struct {
		cfg  ResNetConfig
		want int
	}{
		{ResNetConfig{}, 23981351},
		{ResNetConfig{InChannels: 1}, 23975079},
		{ResNetConfig{Depth: 50, Classes: 1000}, 25557032}, // torchvision resnet50
		{ResNetConfig{Depth: 34, Classes: 1000}, 21797672}, // torchvision resnet34
		{ResNetConfig{Depth: 18, Classes: 1000}, 11689512}, // torchvision resnet18
	} {
		m, err := NewResNet(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Arena().Size(); got != c.want {
			t.Errorf("%+v: %d params, want %d", c.cfg, got, c.want)
		}
		// torchvision's published multiply-adds at 224²: 1.81, 3.66 and
		// 4.09 G for ResNet-18, -34 and -50.
		if c.cfg.Classes == 1000 {
			want := map[int]float64{18: 1.81e9, 34: 3.66e9, 50: 4.09e9}[c.cfg.Depth]
			if got := m.FLOPs(224, 224) / 2; math.Abs(got-want) > 0.01*want {
				t.Errorf("resnet%d: %.4g multiply-adds at 224², want ≈ %.3g", c.cfg.Depth, got, want)
			}
		}
	}
}

func TestResNet50ForwardBackward(t *testing.T) {
	m, err := NewResNet(ResNetConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// kaiming-normal fan_out on conv1: std sqrt(2/(64·49)).
	w := m.Arena().Params()[0].W
	var ss float64
	for _, v := range w {
		ss += float64(v) * float64(v)
	}
	if sd, want := math.Sqrt(ss/float64(len(w))), math.Sqrt(2.0/(64*49)); math.Abs(sd-want) > 0.1*want {
		t.Errorf("conv1 weight std %g, want ≈ %g", sd, want)
	}
	x := randNormal(nn.NewRand(4), 2, 3, 32, 32)
	out, err := m.Forward([]*tensor.Tensor{x}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Shape) != 2 || out.Shape[0] != 2 || out.Shape[1] != 231 {
		t.Fatalf("output shape %v, want [2 231]", out.Shape)
	}
	m.Arena().ZeroGrad()
	if err := m.Backward(randNormal(nn.NewRand(5), 2, 231)); err != nil {
		t.Fatal(err)
	}
	nonzero := 0
	for i, g := range m.Arena().Grad {
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			t.Fatalf("grad[%d] = %g", i, g)
		}
		if g != 0 {
			nonzero++
		}
	}
	if nonzero < m.Arena().Size()/2 {
		t.Errorf("only %d of %d gradients are nonzero", nonzero, m.Arena().Size())
	}
	// Eval mode runs on the running statistics.
	if _, err := m.Forward([]*tensor.Tensor{x}, false); err != nil {
		t.Fatal(err)
	}
}

// TestResNetGradients checks the wiring of the whole model against finite
// differences, on narrow (Width 4) but full-depth models with tanh in place
// of ReLU. A fresh model in
// eval mode (BN ≈ identity) is smooth enough for every parameter;
// train-mode BN on a small batch makes the loss too curved in the stem's
// weights for a float32 central difference, so the train-mode check
// samples the parameters after the stem.
func TestResNetGradients(t *testing.T) {
	for _, depth := range []int{18, 34, 50} {
		m, err := NewResNet(ResNetConfig{Depth: depth, InChannels: 2, Classes: 5, Width: 4, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		// 40×40 keeps 2×2 positions in the last stage, so train-mode BN
		// normalises over 12 values, not 3.
		x := randNormal(nn.NewRand(6), 3, 2, 40, 40)
		smooth(m.body)
		checkModelGrads(t, m, x, false, 40, 0)
		stem := 0
		for _, p := range m.Arena().Params()[:3] { // conv1, bn1.weight, bn1.bias
			stem += p.Len()
		}
		checkModelGrads(t, m, x, true, 40, stem)
	}
}

// smooth swaps every ReLU under l for tanh, so that finite differences do
// not straddle ReLU kinks: the checks below test the wiring and the
// gradient flow, and ReLU has its own tests in package nn.
func smooth(l nn.Layer) {
	switch l := l.(type) {
	case *nn.Act:
		l.Fn = nn.TanhAct
	case *nn.BatchNorm:
		if l.Act == nn.ReLUAct {
			l.Act = nn.TanhAct
		}
	case *nn.Conv2D:
		if l.Act == nn.ReLUAct {
			l.Act = nn.TanhAct
		}
	case *nn.Sequential:
		for _, c := range l.Layers {
			smooth(c)
		}
	case *resBlock:
		smooth(l.branch)
		smooth(l.relu)
	}
}

// checkLayerGrads is a central-difference check of a layer's dx and of
// every element of params (all of which must match).
func checkLayerGrads(t *testing.T, l nn.Layer, params []*nn.Param, x *tensor.Tensor, train bool) {
	t.Helper()
	// 1e-3: a larger step crosses ReLU kinks for weights that touch every
	// position; the block is small enough for float32 at this step.
	const eps = 1e-3
	y := l.Forward(x, train)
	r := randNormal(nn.NewRand(8), y.Shape...)
	loss := func() float64 {
		var s float64
		for i, v := range l.Forward(x, train).Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	for _, p := range params {
		clear(p.G)
	}
	l.Forward(x, train)
	dx := append([]float32(nil), l.Backward(r).Data...)
	check := func(what string, vals, analytic []float32) {
		t.Helper()
		bad := 0
		for i := range vals {
			old := vals[i]
			vals[i] = old + eps
			lp := loss()
			vals[i] = old - eps
			lm := loss()
			vals[i] = old
			num, a := (lp-lm)/(2*eps), float64(analytic[i])
			if math.Abs(a-num) > 5e-3+2e-2*math.Max(math.Abs(a), math.Abs(num)) {
				if bad < 3 {
					t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", what, i, a, num)
				}
				bad++
			}
		}
	}
	check("dx", x.Data, dx)
	for _, p := range params {
		check(p.Name, p.W, append([]float32(nil), p.G...))
	}
}

// TestResBlockGradients checks basic and bottleneck blocks (identity and
// projection shortcuts, stride 1 and 2) in both BN modes.
func TestResBlockGradients(t *testing.T) {
	for _, depth := range []int{18, 50} {
		m, err := NewResNet(ResNetConfig{Depth: depth, InChannels: 1, Classes: 2, Width: 2, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"layer1.0", "layer1.1", "layer2.0"} {
			var blk *resBlock
			in, h := 2, 5
			if name == "layer2.0" {
				in = 2
				if depth == 50 {
					in = 8
				}
				h = 6
			}
			idx := map[string]int{"layer1.0": 0, "layer1.1": 1, "layer2.0": 2}[name]
			if depth == 50 && name == "layer2.0" {
				idx = 3
			}
			if depth == 50 && name == "layer1.1" {
				in = 8
			}
			blocks := 0
			for _, l := range m.body.Layers {
				if b, ok := l.(*resBlock); ok {
					if blocks == idx {
						blk = b
					}
					blocks++
				}
			}
			var params []*nn.Param
			for _, p := range m.Arena().Params() {
				if len(p.Name) > len(name) && p.Name[:len(name)+1] == name+"." {
					params = append(params, p)
				}
			}
			for _, p := range params {
				for i := range p.W { // move BN away from γ 1, β 0
					if p.Shape[0] == p.Len() {
						p.W[i] += float32(i%3) * 0.1
					}
				}
			}
			for _, train := range []bool{true, false} {
				t.Run(fmt.Sprintf("resnet%d/%s/train=%v", depth, name, train), func(t *testing.T) {
					if blk == nil || len(params) == 0 {
						t.Fatalf("block %s not found", name)
					}
					smooth(blk)
					checkLayerGrads(t, blk, params, randNormal(nn.NewRand(10), 3, in, h, h), train)
				})
			}
		}
	}
}

func TestResNetErrors(t *testing.T) {
	if _, err := NewResNet(ResNetConfig{Depth: 101}); !errors.Is(err, ErrConfig) {
		t.Errorf("depth 101: err %v, want ErrConfig", err)
	}
	m, err := NewResNet(ResNetConfig{Depth: 18, Classes: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward([]*tensor.Tensor{tensor.New(1, 1, 32, 32)}, true); !errors.Is(err, ErrInput) {
		t.Errorf("wrong channels: err %v, want ErrInput", err)
	}
	if err := m.Backward(tensor.New(1, 3)); !errors.Is(err, ErrInput) {
		t.Errorf("backward before forward: err %v, want ErrInput", err)
	}
}

// TestModelStepAllocs proves that steady-state forward+backward steps of
// both models allocate nothing. Narrow models keep gonum's fallback SGEMM
// on its serial path (its parallel path allocates; OpenBLAS never does).
func TestModelStepAllocs(t *testing.T) {
	un, err := NewUNet(UNetConfig{InChannels: 3, Filters: 2, Levels: 2})
	if err != nil {
		t.Fatal(err)
	}
	rn, err := NewResNet(ResNetConfig{Depth: 50, Width: 2, Classes: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		m    Model
		x    *tensor.Tensor
	}{
		{"unet", un, randNormal(nn.NewRand(11), 1, 3, 8, 8)},
		{"resnet50", rn, randNormal(nn.NewRand(12), 2, 3, 16, 16)},
	} {
		in := []*tensor.Tensor{c.x}
		var dout *tensor.Tensor
		step := func() {
			out, err := c.m.Forward(in, true)
			if err != nil {
				t.Fatal(err)
			}
			if dout == nil {
				dout = randNormal(nn.NewRand(13), out.Shape...)
			}
			c.m.Arena().ZeroGrad()
			if err := c.m.Backward(dout); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if n := testing.AllocsPerRun(5, step); n != 0 {
			t.Errorf("%s: %v allocations per step, want 0", c.name, n)
		}
	}
}

// TestConvBenches checks the train-bench entries: reference parameter
// counts, default batches, FLOPs (3× the forward conv count at 128²) and
// the batch error. Their Step runs in BenchmarkTrainStep.
func TestConvBenches(t *testing.T) {
	for _, c := range []struct {
		name   string
		params int
		batch  int
		fwd    float64 // forward GFLOP per 128² sample
	}{
		{"unet", 1948609, 8, 2 * 10741612544.0 / 4 / 1e9},
		{"resnet50", 23981351, 16, 0},
		{"resnet18", 11295015, 16, 0}, // torchvision 11,689,512 with fc 512→231
		{"resnet34", 21403175, 16, 0}, // torchvision 21,797,672 with fc 512→231
	} {
		f, ok := Benches[c.name]
		if !ok {
			t.Fatalf("Benches has no %q", c.name)
		}
		b, err := f(0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if b.Model != c.name || b.Params != c.params || b.Batch != c.batch {
			t.Errorf("%s: model %q params %d batch %d, want %d and %d", c.name, b.Model, b.Params, b.Batch, c.params, c.batch)
		}
		if c.fwd > 0 && math.Abs(b.FlopsPerSample-3*c.fwd*1e9) > 1 {
			t.Errorf("%s: %g FLOPs per sample, want %g", c.name, b.FlopsPerSample, 3*c.fwd*1e9)
		}
		if b.FlopsPerSample <= 0 {
			t.Errorf("%s: %g FLOPs per sample", c.name, b.FlopsPerSample)
		}
		t.Logf("%s: %.4g GFLOP per sample (fwd+bwd), %.4g per step", c.name, b.FlopsPerSample/1e9, b.FlopsPerSample*float64(b.Batch)/1e9)
		if _, err := f(-1, 1); !errors.Is(err, ErrConfig) {
			t.Errorf("%s batch -1: err %v, want ErrConfig", c.name, err)
		}
	}
}
