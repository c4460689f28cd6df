package fetch

import "errors"

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrUnknownBench: no data source is known for the benchmark.
	ErrUnknownBench = errors.New("fetch: unknown benchmark")
	// ErrUnreachable: the server cannot be reached (no network, DNS
	// failure, connection refused, dial timeout).
	ErrUnreachable = errors.New("fetch: network unreachable")
	// ErrHTTP: the server answered with an unexpected HTTP status.
	ErrHTTP = errors.New("fetch: http error")
	// ErrNotFound: the server has no such file (HTTP 404).
	ErrNotFound = errors.New("fetch: not found")
	// ErrVerify: a downloaded file has the wrong size or checksum.
	ErrVerify = errors.New("fetch: verification failed")
	// ErrListing: an S3 bucket listing cannot be read.
	ErrListing = errors.New("fetch: bad listing")
	// ErrPath: a remote name that would land outside the destination.
	ErrPath = errors.New("fetch: unsafe path")
	// ErrStalled: no bytes arrived for Config.StallTimeout.
	ErrStalled = errors.New("fetch: transfer stalled")
)
