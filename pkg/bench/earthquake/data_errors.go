package earthquake

import (
	"errors"
	"fmt"
)

// Sentinel errors of the data pipeline; test with errors.Is.
var (
	// ErrMalformed marks a catalog row or stored file that cannot be parsed.
	ErrMalformed = errors.New("earthquake: malformed data")
	// ErrNaN marks a NaN or infinite value in the input data.
	ErrNaN = errors.New("earthquake: NaN in data")
	// ErrNoEvents means no event survived the filters (empty region or span).
	ErrNoEvents = errors.New("earthquake: no events")
	// ErrBadOption marks an invalid Options or window configuration value.
	ErrBadOption = errors.New("earthquake: bad option")
	// ErrShape marks buffers or datasets whose sizes do not match.
	ErrShape = errors.New("earthquake: shape mismatch")
)

// DataError reports bad input data with its location. Line is 1-based
// (0 when the problem is not tied to one line). Err is one of the sentinels
// above, so errors.Is(err, ErrMalformed) works through a *DataError.
type DataError struct {
	File string
	Line int
	Msg  string
	Err  error
}

func (e *DataError) Error() string {
	file := e.File
	if file == "" {
		file = "<input>"
	}
	if e.Line > 0 {
		return fmt.Sprintf("earthquake: %s:%d: %s", file, e.Line, e.Msg)
	}
	return fmt.Sprintf("earthquake: %s: %s", file, e.Msg)
}

// Unwrap returns the sentinel behind the error.
func (e *DataError) Unwrap() error { return e.Err }
