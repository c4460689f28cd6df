package train

import (
	"fmt"
	"strings"

	"github.com/scibench/scibench/pkg/config"
)

// Divisions (MLCommons): closed fixes data, preprocessing and model to the
// reference and allows batch size, learning rate and epochs to change; open
// allows anything.
const (
	DivisionClosed = "closed"
	DivisionOpen   = "open"
)

// CheckDivision validates division and, for the closed division, refuses
// the changed settings listed in changed (names of keys whose values differ
// from the reference). The caller decides which keys the reference fixes.
func CheckDivision(division string, changed []string) error {
	switch division {
	case DivisionOpen:
		return nil
	case DivisionClosed:
		if len(changed) > 0 {
			return fmt.Errorf("%w: changed from the reference: %s (use division: open)", ErrDivision, strings.Join(changed, ", "))
		}
		return nil
	default:
		return fmt.Errorf("%w: division %q is not closed or open", ErrConfig, division)
	}
}

// BenchConfig is what LoadConfig needs of a benchmark's config (which
// embeds config.Common): its own validation and the list of keys whose
// values differ from what the reference fixes.
type BenchConfig interface {
	Validate() error
	Changed() []string
	SubmissionDivision() string
}

// LoadConfig returns def overlaid with the YAML file at path (skipped when
// empty) and the `--set key=value` overrides, validated, with the closed
// division enforced. Errors name the file, line and key.
func LoadConfig[C BenchConfig](def C, path string, sets []string) (C, error) {
	cfg := def
	if path != "" {
		if err := config.Load(path, &cfg); err != nil {
			return cfg, err
		}
	}
	for _, kv := range sets {
		if err := config.Set(&cfg, kv); err != nil {
			return cfg, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if err := CheckDivision(cfg.SubmissionDivision(), cfg.Changed()); err != nil {
		src := path
		if src == "" {
			src = "defaults"
		}
		return cfg, fmt.Errorf("%s: %w", src, err)
	}
	return cfg, nil
}
