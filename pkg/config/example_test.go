package config_test

import (
	"errors"
	"fmt"

	"github.com/scibench/scibench/pkg/config"
)

type unoConfig struct {
	config.Common `yaml:",inline"`
	Hidden        []int `yaml:"hidden"`
}

func ExampleSet() {
	cfg := unoConfig{Common: config.Default(), Hidden: []int{1000, 1000}}
	for _, kv := range []string{"target.metric=val_mse", "target.value=0.0054", "target.mode=min", "hidden=512,256"} {
		if err := config.Set(&cfg, kv); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println(cfg.Target, cfg.Hidden, cfg.Validate())

	err := config.Set(&cfg, "target.metrik=x")
	var ce *config.Error
	fmt.Println(errors.As(err, &ce), ce.Key, errors.Is(err, config.ErrUnknownKey))
	// Output:
	// {val_mse 0.0054 min} [512 256] <nil>
	// true target.metrik true
}

func ExampleDecode() {
	cfg := unoConfig{Common: config.Default()}
	err := config.Decode("uno.yaml", []byte("epochs: 3\nbatch_size: 64\nlearning_rat: 0.1\n"), &cfg)
	fmt.Println(err)
	// Output:
	// config: uno.yaml:3: key "learning_rat": unknown key (not a field of config_test.unoConfig)
}
