package collective

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them.
var (
	// ErrPeerLost reports that a peer died, stopped answering or aborted;
	// it is wrapped in a *PeerError naming the rank, host and step.
	ErrPeerLost = errors.New("collective: peer lost")
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("collective: invalid config")
	// ErrAuth reports a connection refused for a wrong job token or rank.
	ErrAuth = errors.New("collective: authentication failed")
	// ErrFrame reports a malformed or oversized wire frame.
	ErrFrame = errors.New("collective: bad frame")
	// ErrMismatch reports ranks calling different collectives or lengths.
	ErrMismatch = errors.New("collective: mismatched operation")
	// ErrClosed reports use of a closed or broken communicator.
	ErrClosed = errors.New("collective: communicator closed")
	// ErrArg reports a bad argument (buffer length, root, op).
	ErrArg = errors.New("collective: bad argument")
)

// PeerError is returned when an operation fails because of another rank.
// Rank and Host name the rank held responsible (the one that died, stopped
// answering or aborted), Op and Step where this rank was when it noticed.
type PeerError struct {
	Rank int
	Host string
	Op   string
	Step int
	Err  error
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("collective: %s step %d: rank %d (host %s): %v", e.Op, e.Step, e.Rank, e.Host, e.Err)
}

func (e *PeerError) Unwrap() error { return e.Err }
