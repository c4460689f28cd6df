package sched

import "errors"

// Sentinel errors. Errors returned by this package and by the backends wrap
// one of them; test with errors.Is.
var (
	// ErrProfile: a cluster profile is malformed or impossible.
	ErrProfile = errors.New("sched: bad cluster profile")
	// ErrNoProfile: no profile of that name or path exists.
	ErrNoProfile = errors.New("sched: no such cluster profile")
	// ErrRequest: a sweep or job request the profile cannot satisfy
	// (more GPUs per node than a node has, a scale beyond max_nodes, ...).
	ErrRequest = errors.New("sched: impossible request")
	// ErrUnsafe: a value cannot be placed into a job script safely.
	ErrUnsafe = errors.New("sched: unsafe value")
	// ErrUnreachable: the scheduler's command could not be run at all.
	ErrUnreachable = errors.New("sched: scheduler command unreachable")
	// ErrRejected: the scheduler refused the job (bad request).
	ErrRejected = errors.New("sched: job rejected by the scheduler")
	// ErrScheduler: the scheduler command failed or answered nonsense.
	ErrScheduler = errors.New("sched: scheduler command failed")
	// ErrRenderOnly: the backend renders scripts but cannot submit them.
	ErrRenderOnly = errors.New("sched: render-only backend")
	// ErrTimeout: jobs did not end before the deadline.
	ErrTimeout = errors.New("sched: timed out waiting for jobs")
)
