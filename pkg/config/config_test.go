package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type modelCfg struct {
	Name    string  `yaml:"name"`
	Dropout float64 `yaml:"dropout"`
}

type benchCfg struct {
	Common  `yaml:",inline"`
	Hidden  []int             `yaml:"hidden"`
	Files   []string          `yaml:"files"`
	Timeout time.Duration     `yaml:"timeout"`
	Model   modelCfg          `yaml:"model"`
	Opt     *modelCfg         `yaml:"opt"`
	Extra   map[string]string `yaml:"extra"`
	Verbose bool              `yaml:"verbose"`
	Steps   uint16            `yaml:"steps"`
	Skipped int               `yaml:"-"`
}

func defaults() benchCfg {
	return benchCfg{Common: Default(), Hidden: []int{1, 2}}
}

func TestLoadGood(t *testing.T) {
	cfg := defaults()
	if err := Load("testdata/good.yaml", &cfg); err != nil {
		t.Fatal(err)
	}
	want := benchCfg{
		Common: Common{Seed: 42, Epochs: 3, BatchSize: 64, BatchScope: BatchPerRank, LearningRate: 0.0005,
			Threads: 2, Division: DivisionOpen, Target: Target{Metric: "val_mse", Value: 0.0054, Mode: ModeMin},
			DataDir: "/data/uno", OutDir: "runs/uno"},
		Hidden:  []int{1000, 1000, 1000},
		Timeout: 90 * time.Second,
		Model:   modelCfg{Name: "mlp", Dropout: 0.1},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadEmptyKeepsDefaults(t *testing.T) {
	cfg := defaults()
	if err := Load("testdata/empty.yaml", &cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, defaults()) {
		t.Fatalf("empty file changed config: %+v", cfg)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file     string
		line     int
		key      string
		sentinel error
	}{
		{"testdata/unknown_nested.yaml", 5, "target.vaule", ErrUnknownKey},
		{"testdata/wrong_type.yaml", 2, "epochs", ErrType},
		{"testdata/wrong_type_list.yaml", 4, "hidden[1]", ErrType},
		{"testdata/syntax.yaml", 2, "", ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			cfg := defaults()
			err := Load(tc.file, &cfg)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *Error, got %T %v", err, err)
			}
			if ce.File != tc.file || ce.Line != tc.line || ce.Key != tc.key || !errors.Is(err, tc.sentinel) {
				t.Fatalf("got file=%q line=%d key=%q err=%v; want %q %d %q %v",
					ce.File, ce.Line, ce.Key, err, tc.file, tc.line, tc.key, tc.sentinel)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.file) || (tc.key != "" && !strings.Contains(msg, tc.key)) {
				t.Fatalf("message %q does not name file and key", msg)
			}
		})
	}
}

func TestLoadUnknownTopLevelAndMultiple(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	src := "seed: 1\nbatchsize: 3\nepochs: 2\nmodel:\n  name: x\n  layers: 4\n"
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := defaults()
	err := Load(p, &cfg)
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{p + ":2: key \"batchsize\": unknown key", p + ":6: key \"model.layers\": unknown key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestDecodeDuplicateAndMultiDoc(t *testing.T) {
	cfg := defaults()
	err := Decode("d.yaml", []byte("seed: 1\nepochs: 2\nseed: 3\n"), &cfg)
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 3 || ce.Key != "seed" || !errors.Is(err, ErrSyntax) {
		t.Fatalf("duplicate key: %v (%+v)", err, ce)
	}
	err = Decode("m.yaml", []byte("seed: 1\n---\nseed: 2\n"), &cfg)
	if !errors.As(err, &ce) || ce.Line != 2 || !errors.Is(err, ErrSyntax) {
		t.Fatalf("two documents: %v (%+v)", err, ce)
	}
}

func TestLoadBadDestinationAndMissingFile(t *testing.T) {
	var n int
	if err := Load("testdata/good.yaml", &n); !errors.Is(err, ErrDestination) {
		t.Fatalf("got %v", err)
	}
	if err := Load("testdata/good.yaml", nil); !errors.Is(err, ErrDestination) {
		t.Fatalf("got %v", err)
	}
	cfg := defaults()
	err := Load("testdata/nope.yaml", &cfg)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("got %v", err)
	}
}

func TestSet(t *testing.T) {
	cfg := defaults()
	sets := []string{
		"seed=7", "epochs=0x10", "learning_rate=1e-4", "batch_scope=per_rank",
		"target.metric=val_mse", "target.value=0.0054", "target.mode=min",
		"hidden=1000, 500,250", "files=a.h5,b.h5", "timeout=1m30s", "model.name=unet",
		"opt.dropout=0.5", "extra.note=hello=world", "verbose=true", "steps=65535",
		"data_dir=", "threads=3",
	}
	for _, s := range sets {
		if err := Set(&cfg, s); err != nil {
			t.Fatalf("Set(%q): %v", s, err)
		}
	}
	want := defaults()
	want.Seed, want.Epochs, want.LearningRate, want.BatchScope = 7, 16, 1e-4, BatchPerRank
	want.Target = Target{Metric: "val_mse", Value: 0.0054, Mode: ModeMin}
	want.Hidden = []int{1000, 500, 250}
	want.Files = []string{"a.h5", "b.h5"}
	want.Timeout = 90 * time.Second
	want.Model.Name = "unet"
	want.Opt = &modelCfg{Dropout: 0.5}
	want.Extra = map[string]string{"note": "hello=world"}
	want.Verbose = true
	want.Steps = 65535
	want.Threads = 3
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
	// Flow sequence and empty list.
	if err := Set(&cfg, "hidden=[4, 5]"); err != nil || !reflect.DeepEqual(cfg.Hidden, []int{4, 5}) {
		t.Fatalf("flow list: %v %v", err, cfg.Hidden)
	}
	if err := Set(&cfg, "hidden="); err != nil || len(cfg.Hidden) != 0 {
		t.Fatalf("empty list: %v %v", err, cfg.Hidden)
	}
	if err := Set(&cfg, "model={name: lstm, dropout: 0.2}"); err != nil || cfg.Model != (modelCfg{"lstm", 0.2}) {
		t.Fatalf("struct as yaml: %v %+v", err, cfg.Model)
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		kv, key  string
		sentinel error
	}{
		{"epochz=3", "epochz", ErrUnknownKey},
		{"target.metrik=x", "target.metrik", ErrUnknownKey},
		{"seed.x=1", "seed.x", ErrUnknownKey},
		{"Skipped=1", "Skipped", ErrUnknownKey},
		{"epochs=three", "epochs", ErrType},
		{"epochs=", "epochs", ErrType},
		{"hidden=1,x,3", "hidden", ErrType},
		{"steps=70000", "steps", ErrType},
		{"timeout=5", "timeout", ErrType},
		{"verbose=maybe", "verbose", ErrType},
		{"model={name: a, bogus: 1}", "model", ErrType},
		{"noequals", "noequals", ErrSyntax},
		{"=3", "", ErrSyntax},
		{"target..metric=x", "target..metric", ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.kv, func(t *testing.T) {
			cfg := defaults()
			before := defaults()
			err := Set(&cfg, tc.kv)
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, tc.sentinel) {
				t.Fatalf("got %v, want *Error wrapping %v", err, tc.sentinel)
			}
			if ce.Key != tc.key || ce.File != SetSource {
				t.Fatalf("key=%q file=%q, want %q %q", ce.Key, ce.File, tc.key, SetSource)
			}
			if tc.key != "" && !strings.Contains(err.Error(), `"`+tc.key+`"`) {
				t.Fatalf("message %q does not name key", err)
			}
			if tc.sentinel != ErrType && !reflect.DeepEqual(cfg, before) {
				t.Fatalf("failed Set modified config")
			}
		})
	}
	var n int
	if err := Set(&n, "a=1"); !errors.Is(err, ErrDestination) {
		t.Fatalf("got %v", err)
	}
}

func TestUnknownKeyListsKnown(t *testing.T) {
	cfg := defaults()
	err := Set(&cfg, "target.metrik=x")
	if err == nil || !strings.Contains(err.Error(), "metric, mode, value") {
		t.Fatalf("got %v", err)
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	tests := []struct {
		mut  func(*Common)
		keys []string
	}{
		{func(c *Common) { c.Epochs = 0 }, []string{"epochs"}},
		{func(c *Common) { c.BatchSize = -1 }, []string{"batch_size"}},
		{func(c *Common) { c.BatchScope = "local" }, []string{"batch_scope"}},
		{func(c *Common) { c.LearningRate = 0 }, []string{"learning_rate"}},
		{func(c *Common) { c.LearningRate = nan() }, []string{"learning_rate"}},
		{func(c *Common) { c.Threads = -2 }, []string{"threads"}},
		{func(c *Common) { c.Division = "Closed" }, []string{"division"}},
		{func(c *Common) { c.Target = Target{Metric: "nnse", Value: 0.8, Mode: "up"} }, []string{"target.mode"}},
		{func(c *Common) { c.Target = Target{Value: 0.8, Mode: "max"} }, []string{"target.metric"}},
		{func(c *Common) { c.Target = Target{Metric: "x", Value: nan(), Mode: "max"} }, []string{"target.value"}},
		{func(c *Common) { c.Epochs, c.Division = 0, "" }, []string{"epochs", "division"}},
	}
	for i, tc := range tests {
		c := Default()
		tc.mut(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("case %d: got %v", i, err)
		}
		var got []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var ce *Error
			if !errors.As(e, &ce) {
				t.Fatalf("case %d: %T", i, e)
			}
			got = append(got, ce.Key)
		}
		if !reflect.DeepEqual(got, tc.keys) {
			t.Fatalf("case %d: keys %v, want %v (%v)", i, got, tc.keys, err)
		}
	}
}

func nan() float64 {
	var z float64
	return z / z
}

func TestTargetAndBatch(t *testing.T) {
	min := Target{Metric: "val_mse", Value: 0.0054, Mode: ModeMin}
	max := Target{Metric: "nnse", Value: 0.8, Mode: ModeMax}
	if !min.Reached(0.005) || min.Reached(0.006) || min.Reached(nan()) {
		t.Error("min target")
	}
	if !max.Reached(0.8) || max.Reached(0.7) || (Target{}).Reached(1) {
		t.Error("max target")
	}
	c := Default()
	c.BatchSize = 64
	if b, err := c.RankBatch(4); err != nil || b != 16 || c.GlobalBatch(4) != 64 {
		t.Errorf("global: %d %v", b, err)
	}
	if _, err := c.RankBatch(3); !errors.Is(err, ErrInvalid) {
		t.Errorf("indivisible: %v", err)
	}
	if _, err := c.RankBatch(0); !errors.Is(err, ErrInvalid) {
		t.Errorf("world 0: %v", err)
	}
	c.BatchScope = BatchPerRank
	if b, err := c.RankBatch(3); err != nil || b != 64 || c.GlobalBatch(3) != 192 {
		t.Errorf("per rank: %d %v", b, err)
	}
}
