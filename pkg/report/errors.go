package report

import "errors"

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrNoRuns: a directory holds no run directory, sweep or result.json.
	ErrNoRuns = errors.New("report: no runs")
	// ErrFormat: an unknown output format or plot file extension.
	ErrFormat = errors.New("report: bad format")
	// ErrSweep: sweep.json cannot be read or decoded.
	ErrSweep = errors.New("report: bad sweep.json")
	// ErrSacct: sacct output that cannot be parsed.
	ErrSacct = errors.New("report: bad sacct output")
	// ErrPlot: nothing to plot, or the plot file cannot be written.
	ErrPlot = errors.New("report: plot")
)
