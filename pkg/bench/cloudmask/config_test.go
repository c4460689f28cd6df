package cloudmask

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/train"
)

func TestDefaultConfigIsReference(t *testing.T) {
	c, err := LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.PatchSize != 256 || c.InferenceStride != 176 || c.Filters != 32 || c.BatchSize != 32 || c.LearningRate != 1e-3 ||
		c.Eps != 1e-7 || c.Normalisation != NormFixed || c.TrainFraction != 0.8 || c.Division != "closed" || c.Split == nil {
		t.Fatalf("defaults %+v", c)
	}
	if ch := c.Changed(); len(ch) != 0 {
		t.Fatalf("defaults changed %v", ch)
	}
}

func TestConfigFiles(t *testing.T) {
	root := filepath.Join("..", "..", "..", "configs")
	ref, err := LoadConfig(filepath.Join(root, "cloudmask.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := DefaultConfig(); ref.PatchSize != d.PatchSize || ref.InferenceStride != d.InferenceStride || ref.Filters != d.Filters {
		t.Fatalf("configs/cloudmask.yaml differs from the reference: %+v", ref)
	}
	smoke, err := LoadConfig(filepath.Join(root, "cloudmask-smoke.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if smoke.Division != "open" || smoke.Synthetic != "tiny" {
		t.Fatalf("smoke %+v", smoke)
	}
	// the smoke shapes are refused in the closed division, naming the keys
	_, err = LoadConfig(filepath.Join(root, "cloudmask-smoke.yaml"), []string{"division=closed"})
	if !errors.Is(err, train.ErrDivision) {
		t.Fatalf("closed smoke: %v", err)
	}
	for _, k := range []string{"patch_size", "filters", "synthetic"} {
		if !contains(err.Error(), k) {
			t.Fatalf("closed-division error %q does not name %s", err, k)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestConfigRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ set, key string }{
		{"patch_size=30", "patch_size"},
		{"inference_stride=300", "inference_stride"},
		{"inference_stride=175", "inference_stride"},
		{"normalisation=minmax", "normalisation"},
		{"synthetic=huge", "synthetic"},
		{"train_fraction=1", "train_fraction"},
		{"bad_files=ignore", "bad_files"},
		{"eval_batch=0", "eval_batch"},
		{"cache_mb=0", "cache_mb"},
	} {
		_, err := LoadConfig("", []string{"division=open", tc.set})
		var ce *config.Error
		if !errors.As(err, &ce) || !contains(err.Error(), tc.key) {
			t.Errorf("--set %s: got %v, want a config error naming %s", tc.set, err, tc.key)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("epochs: 2\npatch_sise: 64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p, nil); !errors.Is(err, config.ErrUnknownKey) || !contains(err.Error(), ":2") {
		t.Fatalf("unknown key: %v", err)
	}
	if err := os.WriteFile(p, []byte("split: {seed: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p, nil); !errors.Is(err, config.ErrUnknownKey) {
		t.Fatalf("split must not be settable: %v", err)
	}
}
