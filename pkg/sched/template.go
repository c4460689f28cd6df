package sched

import (
	"fmt"
	"strings"
	"text/template"
	"time"
)

// TaskRecord is the shell fragment the rendered scripts run in front of
// each worker: it prints one line per rank, "scibench-task rank=R host=H
// cvd=DEVICES", so that a job's output shows where every rank ran and which
// GPUs it saw, then execs the worker ("$@"). It contains no user values.
const TaskRecord = `echo "scibench-task rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${PMI_RANK:-${PALS_RANKID:-${JSM_NAMESPACE_RANK:-${SLURM_PROCID:-unknown}}}}}} host=$(hostname) cvd=${CUDA_VISIBLE_DEVICES-unset}"; exec "$@"`

// TokenLine exports a fresh random SCIBENCH_TOKEN (128 bits from
// /dev/urandom) in a job script.
const TokenLine = `SCIBENCH_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n'); export SCIBENCH_TOKEN`

// FuncMap returns the template functions the backends share:
//
//	q        Quote
//	qargs    QuoteArgs
//	hms      a duration as HH:MM:SS
//	hm       a duration as HH:MM, rounded up to whole minutes
//	minutes  a duration in whole minutes, rounded up
//	record   TaskRecord, quoted as one shell word
//	token    TokenLine
func FuncMap() template.FuncMap {
	return template.FuncMap{
		"q":       Quote,
		"qargs":   QuoteArgs,
		"hms":     HMS,
		"hm":      func(d time.Duration) string { m := minutes(d); return fmt.Sprintf("%02d:%02d", m/60, m%60) },
		"minutes": minutes,
		"record":  func() string { return Quote(TaskRecord) },
		"token":   func() string { return TokenLine },
	}
}

// HMS formats d as HH:MM:SS (hours may exceed 24), rounding up seconds.
func HMS(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

func minutes(d time.Duration) int64 { return int64((d + time.Minute - 1) / time.Minute) }

// Execute runs tmpl on spec after validating spec; the result ends in one
// newline.
func Execute(tmpl *template.Template, spec JobSpec) ([]byte, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, spec); err != nil {
		return nil, fmt.Errorf("sched: render %s: %w", tmpl.Name(), err)
	}
	return []byte(strings.TrimRight(b.String(), "\n") + "\n"), nil
}
