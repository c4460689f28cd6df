package train

import (
	"fmt"
	"strings"
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
