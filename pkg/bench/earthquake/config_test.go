package earthquake

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/train"
)

func TestShippedConfigsLoad(t *testing.T) {
	for _, name := range []string{"earthquake.yaml", "earthquake-default.yaml", "earthquake-smoke.yaml"} {
		cfg, err := LoadConfig(filepath.Join("..", "..", "..", "configs", name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "earthquake.yaml" {
			if cfg.Division != "closed" || cfg.Model != "pure" || cfg.Epochs != 50 || cfg.Tseq != 26 || cfg.Eps != 1e-7 || cfg.BatchSize != 0 {
				t.Fatalf("reference config is not the reference setting: %+v", cfg)
			}
			if ch := cfg.Changed(); len(ch) != 0 {
				t.Fatalf("reference config changes %v", ch)
			}
		}
	}
}

func TestConfigErrorsNameFileLineKey(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(p, []byte("seed: 1\nepochs: 2\nmodle: small\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(p, nil)
	var ce *config.Error
	if !errors.As(err, &ce) || !errors.Is(err, config.ErrUnknownKey) || !strings.Contains(err.Error(), p+":3") || !strings.Contains(err.Error(), "modle") {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := LoadConfig("", []string{"tseq=0"}); !strings.Contains(fmtErr(err), "tseq") {
		t.Fatalf("tseq=0: %v", err)
	}
	if _, err := LoadConfig("", []string{"nope=1"}); !errors.Is(err, config.ErrUnknownKey) {
		t.Fatalf("--set nope: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestClosedDivision(t *testing.T) {
	// batch size, learning rate and epochs may change in the closed division
	if _, err := LoadConfig("", []string{"batch_size=64", "learning_rate=0.01", "epochs=3"}); err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{"model=small", "tseq=10", "pair_stride=2", "span=reference", "catalog=other.csv"} {
		_, err := LoadConfig("", []string{kv})
		if !errors.Is(err, train.ErrDivision) || !strings.Contains(err.Error(), strings.Split(kv, "=")[0]) {
			t.Fatalf("%s in the closed division: %v", kv, err)
		}
		if _, err := LoadConfig("", []string{kv, "division=open"}); err != nil {
			t.Fatalf("%s in the open division: %v", kv, err)
		}
	}
}
