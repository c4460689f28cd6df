package stemdl

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/train"
)

func TestConfigs(t *testing.T) {
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(d.Changed()) != 0 || d.Depth() != 50 || d.BatchSize != 32 || d.BatchScope != config.BatchPerRank {
		t.Fatalf("defaults: %+v", d)
	}
	if d.EffectiveLR(4) != 4e-3 {
		t.Fatalf("lr × world: %v", d.EffectiveLR(4))
	}
	for _, name := range []string{"stemdl.yaml", "stemdl-smoke.yaml"} {
		c, err := LoadConfig(filepath.Join("..", "..", "..", "configs", name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "stemdl.yaml" && len(c.Changed()) != 0 {
			t.Fatalf("reference config changes %v", c.Changed())
		}
	}
	// closed division refuses synthetic data and a smaller model
	_, err := LoadConfig("", []string{"synthetic=tiny", "model=resnet18"})
	if !errors.Is(err, train.ErrDivision) || !strings.Contains(err.Error(), "synthetic") || !strings.Contains(err.Error(), "model") {
		t.Fatalf("closed division: %v", err)
	}
	if _, err := LoadConfig("", []string{"division=open", "synthetic=tiny", "model=resnet18", "loss=mse_onehot"}); err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{"model=resnet101", "image_size=48", "image_size=256", "loss=hinge", "optimizer=sgd",
		"lr_scale=sqrt", "data_format=csv", "synthetic=huge", "eval_batch=0", "width=0", "eps=0", "weight_decay=-1"} {
		_, err := LoadConfig("", []string{"division=open", kv})
		var ce *config.Error
		key := strings.SplitN(kv, "=", 2)[0]
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %v does not name the key", kv, err)
		}
	}
	if _, err := LoadConfig("", []string{"division=open", "synthetic=tiny", "data_format=hdf5"}); err == nil {
		t.Error("synthetic with hdf5 accepted")
	}
}
