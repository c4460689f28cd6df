package train

import "errors"

// Sentinel errors; every error the package returns wraps one of them.
var (
	ErrConfig     = errors.New("train: bad config")
	ErrComm       = errors.New("train: communication failed")
	ErrCheckpoint = errors.New("train: bad checkpoint")
	ErrTask       = errors.New("train: task failed")
	ErrDiverged   = errors.New("train: ranks diverged")
	ErrDivision   = errors.New("train: not allowed in the closed division")
)
