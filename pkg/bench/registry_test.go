package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/scibench/scibench/pkg/config"
)

func TestRegistryEntriesAreComplete(t *testing.T) {
	if len(Benchmarks) == 0 {
		t.Fatal("empty registry")
	}
	for name, b := range Benchmarks {
		if b.Name != name || b.Reference == "" || b.LoadConfig == nil || b.Common == nil || b.Setup == nil || b.Report == nil {
			t.Fatalf("%s: incomplete entry %+v", name, b)
		}
		cfg, err := b.LoadConfig("", nil)
		if err != nil {
			t.Fatalf("%s defaults: %v", name, err)
		}
		if c := b.Common(cfg); c.Epochs < 1 || c.Division == "" {
			t.Fatalf("%s: common keys %+v", name, c)
		}
		if _, err := b.LoadConfig("", []string{"no_such_key=1"}); !errors.Is(err, config.ErrUnknownKey) {
			t.Fatalf("%s: unknown --set key gave %v", name, err)
		}
		if _, err := b.Setup(context.Background(), struct{}{}, Env{}); err == nil {
			t.Fatalf("%s: Setup accepted a foreign config", name)
		}
	}
}
