package sched

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// State is a job's state, normalised across schedulers.
type State string

// Job states.
const (
	StatePending   State = "PENDING"
	StateRunning   State = "RUNNING"
	StateCompleted State = "COMPLETED"
	StateFailed    State = "FAILED"
	StateCancelled State = "CANCELLED"
	StateTimeout   State = "TIMEOUT"
	// StateEnded: the job left the queue and the scheduler kept no record
	// of how it ended (no accounting).
	StateEnded State = "ENDED"
	// StateUnknown: the scheduler does not know the job (yet).
	StateUnknown State = "UNKNOWN"
)

// Terminal reports whether the job can no longer change state.
func (s State) Terminal() bool {
	switch s {
	case StateCompleted, StateFailed, StateCancelled, StateTimeout, StateEnded:
		return true
	}
	return false
}

// Backend renders, submits and follows jobs for one batch system. The
// slurm and lsf packages implement it; render-only backends return
// ErrRenderOnly from Submit, Status and Cancel.
type Backend interface {
	// Name is the scheduler's name (Slurm, LSF, ...).
	Name() string
	// ScriptExt is the file extension of rendered scripts (".sbatch").
	ScriptExt() string
	// Render writes the job script of spec.
	Render(spec JobSpec) ([]byte, error)
	// Submit submits the script at path and returns the job id.
	Submit(ctx context.Context, path string) (string, error)
	// Status returns the job's state.
	Status(ctx context.Context, jobID string) (State, error)
	// Cancel cancels the job.
	Cancel(ctx context.Context, jobID string) error
}

// RenderOnly is an optional capability of a Backend that can render
// scripts but not submit them.
type RenderOnly interface {
	RenderOnly() bool
}

// IsRenderOnly reports whether b only renders scripts.
func IsRenderOnly(b Backend) bool {
	r, ok := b.(RenderOnly)
	return ok && r.RenderOnly()
}

// Step is one launch of workers inside a job: one point of a sweep.
type Step struct {
	Workers      int      // tasks of the step
	Nodes        int      // nodes of the step
	TasksPerNode int      // tasks on each node
	CPUsPerTask  int      // cores per task
	RunDir       string   // absolute run directory; the step's output goes to RunDir/output.log
	Command      []string // worker argv, e.g. scibench run earthquake --out RunDir ...
}

// JobSpec is everything a backend needs to render one job script. Values
// from users and profiles are quoted or checked by the backends.
type JobSpec struct {
	Name         string        // job name
	Nodes        int           // nodes of the allocation
	TasksPerNode int           // largest TasksPerNode of the steps
	GPUsPerNode  int           // GPUs to request per node (0: none)
	CPUsPerTask  int           // cores per task (0: scheduler default)
	Walltime     time.Duration // time limit
	Queue        string
	Account      string
	Directives   []string
	Modules      []string
	Env          []EnvVar
	Launcher     string
	LauncherArgs []string
	WorkDir      string // absolute working directory of the job
	OutputDir    string // absolute directory of the job's own output file
	Steps        []Step
	Version      string // scibench version, for the header comment
}

// EnvVar is one exported variable.
type EnvVar struct{ Name, Value string }

// Validate checks the fields that end up in directives or on the command
// line of the scheduler.
func (s *JobSpec) Validate() error {
	if err := CheckDirective("job name", s.Name); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"queue", s.Queue}, {"account", s.Account}} {
		if kv[1] != "" {
			if err := CheckDirective(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	for _, d := range s.Directives {
		if err := checkLine("directive", d); err != nil {
			return err
		}
	}
	for _, p := range []string{s.WorkDir, s.OutputDir} {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%w: directory %q must be absolute", ErrUnsafe, p)
		}
		if err := CheckDirective("directory", p); err != nil {
			return err
		}
	}
	if s.Nodes < 1 || s.TasksPerNode < 1 || s.GPUsPerNode < 0 || s.CPUsPerTask < 0 || s.Walltime <= 0 {
		return fmt.Errorf("%w: job %s: nodes %d, tasks/node %d, GPUs/node %d, CPUs/task %d, walltime %v",
			ErrRequest, s.Name, s.Nodes, s.TasksPerNode, s.GPUsPerNode, s.CPUsPerTask, s.Walltime)
	}
	if len(s.Steps) == 0 {
		return fmt.Errorf("%w: job %s has no steps", ErrRequest, s.Name)
	}
	for _, st := range s.Steps {
		if st.Nodes < 1 || st.Nodes > s.Nodes || st.TasksPerNode < 1 || st.TasksPerNode > s.TasksPerNode ||
			st.Workers < 1 || st.Workers > st.Nodes*st.TasksPerNode || len(st.Command) == 0 || !filepath.IsAbs(st.RunDir) {
			return fmt.Errorf("%w: job %s: step of %d workers on %d nodes x %d tasks does not fit %d nodes x %d tasks",
				ErrRequest, s.Name, st.Workers, st.Nodes, st.TasksPerNode, s.Nodes, s.TasksPerNode)
		}
		if err := checkLine("run directory", st.RunDir); err != nil {
			return err
		}
	}
	return nil
}

// Wait polls b every poll interval until every job has a terminal state or
// ctx ends. It returns the last known state of every job; when ctx ends
// first the error wraps ErrTimeout (and ctx.Err()). A failing Status call
// is retried until ctx ends; ErrUnreachable is returned at once.
func Wait(ctx context.Context, b Backend, jobIDs []string, poll time.Duration) (map[string]State, error) {
	if poll <= 0 {
		poll = 2 * time.Second
	}
	states := make(map[string]State, len(jobIDs))
	for _, id := range jobIDs {
		states[id] = StateUnknown
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	var lastErr error
	for {
		pending := 0
		for _, id := range jobIDs {
			if states[id].Terminal() {
				continue
			}
			s, err := b.Status(ctx, id)
			switch {
			case err == nil:
				states[id] = s
			case ctxDone(ctx):
			default:
				if isUnreachable(err) {
					return states, err
				}
				lastErr = err
			}
			if !states[id].Terminal() {
				pending++
			}
		}
		if pending == 0 {
			return states, nil
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return states, fmt.Errorf("%w (%d of %d jobs not ended; last error: %w): %w", ErrTimeout, pending, len(jobIDs), lastErr, ctx.Err())
			}
			return states, fmt.Errorf("%w (%d of %d jobs not ended): %w", ErrTimeout, pending, len(jobIDs), ctx.Err())
		case <-t.C:
		}
	}
}

func ctxDone(ctx context.Context) bool { return ctx.Err() != nil }

func isUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }
