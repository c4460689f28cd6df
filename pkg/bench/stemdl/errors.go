package stemdl

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is. Bad input data comes as a
// *DataError wrapping one of ErrFormat, ErrShape, ErrLabel or ErrMissing.
var (
	// ErrFormat marks a file that is not a valid npz/npy/HDF5 sample
	// (corrupt zip, bad npy magic or header, unsupported dtype, NaN).
	ErrFormat = errors.New("stemdl: malformed data file")
	// ErrShape marks an array whose shape is not the expected one.
	ErrShape = errors.New("stemdl: wrong shape")
	// ErrLabel marks a label outside the class range.
	ErrLabel = errors.New("stemdl: label out of range")
	// ErrMissing marks a missing folder, file, array, dataset or attribute.
	ErrMissing = errors.New("stemdl: missing data")
	// ErrConfig marks an invalid stemdl configuration.
	ErrConfig = errors.New("stemdl: invalid config")
)

// DataError reports bad input data with its location: File is the path,
// Item the array, group or attribute inside it ("" when the whole file is
// at fault). Err is one of the sentinels above.
type DataError struct {
	File string
	Item string
	Msg  string
	Err  error
}

func (e *DataError) Error() string {
	file := e.File
	if file == "" {
		file = "<input>"
	}
	if e.Item != "" {
		return fmt.Sprintf("stemdl: %s: %s: %s", file, e.Item, e.Msg)
	}
	return fmt.Sprintf("stemdl: %s: %s", file, e.Msg)
}

// Unwrap returns the sentinel behind the error.
func (e *DataError) Unwrap() error { return e.Err }

func dataErr(file, item string, sentinel error, format string, args ...any) *DataError {
	return &DataError{File: file, Item: item, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}
