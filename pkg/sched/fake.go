package sched

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// Fake is an in-memory Backend for tests: Render writes a readable summary
// of the spec, Submit hands out ids 1, 2, ... and Status reports States
// (default StateCompleted).
type Fake struct {
	mu        sync.Mutex
	Submitted []string         // script paths, in order
	States    map[string]State // job id -> state to report
	Cancelled []string
	// SubmitErr, when set, is returned by Submit.
	SubmitErr error
}

var _ Backend = (*Fake)(nil)

// Name implements Backend.
func (f *Fake) Name() string { return "fake" }

// ScriptExt implements Backend.
func (f *Fake) ScriptExt() string { return ".job" }

// Render implements Backend.
func (f *Fake) Render(spec JobSpec) ([]byte, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	s := fmt.Sprintf("#!/bin/sh\n# fake job %s: %d nodes x %d tasks, %d GPUs/node, %v\n", spec.Name, spec.Nodes, spec.TasksPerNode, spec.GPUsPerNode, spec.Walltime)
	for _, st := range spec.Steps {
		s += fmt.Sprintf("# step: %d workers on %d nodes\n%s\n", st.Workers, st.Nodes, QuoteArgs(st.Command))
	}
	return []byte(s), nil
}

// Submit implements Backend; the script must exist.
func (f *Fake) Submit(ctx context.Context, path string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%w: %w", ErrRejected, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.SubmitErr != nil {
		return "", f.SubmitErr
	}
	f.Submitted = append(f.Submitted, path)
	return strconv.Itoa(len(f.Submitted)), nil
}

// Status implements Backend.
func (f *Fake) Status(ctx context.Context, id string) (State, error) {
	if err := ctx.Err(); err != nil {
		return StateUnknown, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.States[id]; ok {
		return s, nil
	}
	return StateCompleted, nil
}

// Cancel implements Backend.
func (f *Fake) Cancel(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Cancelled = append(f.Cancelled, id)
	return nil
}
