// Package config loads benchmark configurations from strict YAML and applies
// command-line overrides.
//
// Decoding is strict: an unknown key, a value of the wrong type or a YAML
// syntax error is reported as an *Error that names the file, the line and the
// dotted key (for example "target.mode"). Every key can be overridden with
// Set, which implements the `--set key=value` flag of the scibench command
// line by yaml tag name. Common holds the keys every benchmark shares; each
// benchmark embeds it inline in its own config struct.
//
// # Usage
//
//	type Config struct {
//		config.Common `yaml:",inline"`
//		Hidden []int  `yaml:"hidden"`
//	}
//
//	cfg := Config{Common: config.Default(), Hidden: []int{1000, 1000}}
//	if err := config.Load("configs/uno.yaml", &cfg); err != nil {
//		return err // *config.Error: "configs/uno.yaml:7: key \"hiden\": unknown key ..."
//	}
//	for _, kv := range sets { // from repeated --set flags
//		if err := config.Set(&cfg, kv); err != nil {
//			return err
//		}
//	}
//	if err := cfg.Common.Validate(); err != nil {
//		return err
//	}
//
// Set understands dotted paths into nested structs and maps
// ("target.metric=val_mse"), comma-separated lists for slices
// ("hidden=1000,500,250"), durations ("timeout=90s"), booleans and numbers.
// Embedded structs are only inlined when tagged `yaml:",inline"`, as with
// gopkg.in/yaml.v3 itself.
package config
