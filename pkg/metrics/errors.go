package metrics

import "errors"

// Sentinel errors of package metrics; returned errors wrap one of them.
var (
	// ErrMLLog reports an mllog record that could not be encoded or written.
	ErrMLLog = errors.New("metrics: mllog")
	// ErrMLLogSequence reports an mllog stream that is not one compliant sequence.
	ErrMLLogSequence = errors.New("metrics: mllog sequence")
	// ErrTimer reports a StopWatch misuse, such as stopping a timer that is not running.
	ErrTimer = errors.New("metrics: stopwatch")
	// ErrTrace reports malformed serialized trace events.
	ErrTrace = errors.New("metrics: trace")
	// ErrResult reports a result.json that cannot be encoded or decoded.
	ErrResult = errors.New("metrics: result")
	// ErrWrite reports an output file that could not be written.
	ErrWrite = errors.New("metrics: write")
	// ErrPrometheus reports a registration, exposition, serving or push failure.
	ErrPrometheus = errors.New("metrics: prometheus")
)
