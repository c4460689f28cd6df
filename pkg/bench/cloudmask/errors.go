package cloudmask

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrConfig marks an invalid cloud-mask configuration.
	ErrConfig = errors.New("cloudmask: invalid config")
	// ErrNoScenes means a folder holds no scene files (S3A*.hdf).
	ErrNoScenes = errors.New("cloudmask: no scene files")
	// ErrMissingKey means a scene lacks one of refs, bts or bayes.
	ErrMissingKey = errors.New("cloudmask: missing dataset")
	// ErrShape marks a dataset whose shape does not fit the scene layout
	// (refs (H,W,6), bts (H,W,3), bayes (H,W,1) or (H,W)) or a scene smaller
	// than one patch.
	ErrShape = errors.New("cloudmask: bad shape")
	// ErrUnreadable marks a file that cannot be opened or read as HDF5.
	ErrUnreadable = errors.New("cloudmask: unreadable file")
	// ErrNoHDF5 means the binary was built without HDF5 support.
	ErrNoHDF5 = errors.New("cloudmask: this binary was built without HDF5 (install libhdf5-dev and rebuild with -tags hdf5, e.g. make build)")
)

// DataError is bad input data with its location: the file, the dataset
// key (may be empty) and what is wrong. It unwraps to one of the sentinels
// above.
type DataError struct {
	File string
	Key  string
	Msg  string
	Err  error
}

func (e *DataError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("cloudmask: %s: key %q: %s", e.File, e.Key, e.Msg)
	}
	return fmt.Sprintf("cloudmask: %s: %s", e.File, e.Msg)
}

// Unwrap returns the sentinel behind the error.
func (e *DataError) Unwrap() error { return e.Err }

// BadInput marks a DataError as bad input: the command line exits with
// code 2.
func (e *DataError) BadInput() bool { return true }
