//go:build linux && (amd64 || arm64)

package gpunn

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/optim"
)

func TestConfigValidate(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("New(Config{}) = %v, want ErrConfig", err)
	}
	cfg := emulated(t)
	cfg.Block = 100
	if _, err := New(cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "Block 100") {
		t.Errorf("Block 100: %v, want ErrConfig naming it", err)
	}
}

// TestBadInputIsAnError checks that wrong sizes and foreign parameters
// are errors naming the layer and the device, not panics.
func TestBadInputIsAnError(t *testing.T) {
	ctx := context.Background()
	cfg := emulated(t)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Free() }()
	rng := rand.New(rand.NewPCG(7, 7))
	host := nn.NewArena()
	hd := nn.NewDense(host, "fc", 4, 3, nn.GlorotUniform, rng)
	other := nn.NewArena()
	od := nn.NewDense(other, "elsewhere", 4, 3, nil, nil)
	other.Build()
	if _, err := e.NewArena(ctx, host); err == nil {
		t.Error("NewArena accepted an arena that is not built")
	}
	host.Build()
	a, err := e.NewArena(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.NewDense(a, od, false); err == nil || !strings.Contains(err.Error(), "elsewhere") {
		t.Errorf("Dense of another arena: %v, want an error naming its parameter", err)
	}
	d, err := e.NewDense(a, hd, true)
	if err != nil {
		t.Fatal(err)
	}
	small, err := e.alloc("small", 3, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	where := e.where()
	mustFail := func(what string, err error, words ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, w := range append(words, where) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %q", what, err, w)
			}
		}
	}
	_, err = d.Backward(small.tensor(3))
	mustFail("backward before forward", err, "Dense fc.kernel")
	_, err = d.Forward(small.tensor(2, 4), true)
	mustFail("forward with a short input", err, "Dense fc.kernel", "shape [2 4] needs 32 bytes")
	_, err = d.Forward(Tensor{}, true)
	mustFail("forward with nil input", err, "Dense fc.kernel")
	x, err := e.alloc("x", 8, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Forward(x.tensor(2, 4), true); err != nil {
		t.Fatal(err)
	}
	_, err = d.Backward(small.tensor(2, 3))
	mustFail("backward with a short gradient", err, "Dense fc.kernel")
	_, _, err = e.NewMSE().Loss(ctx, small.tensor(2, 3), x.tensor(2, 3))
	mustFail("MSE with a short prediction", err, "MSE")
	mustFail("upload of the wrong length", a.Upload(ctx, make([]float32, 3)), "arena parameters")
	mustFail("download of the wrong length", a.Download(ctx, make([]float32, 3)), "arena parameters")
	_, err = e.NewOptimizer(a, optim.NewAdamax(5, optim.AdamConfig{}), OptimizerConfig{})
	mustFail("Adamax of the wrong size", err, "Adamax", "5 values")
	if err := e.Synchronize(ctx); err != nil {
		t.Fatal(err)
	}
}
