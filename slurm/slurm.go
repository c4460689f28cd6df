package slurm

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"text/template"
	"time"

	"github.com/scibench/scibench/pkg/sched"
)

//go:embed job.sbatch.tmpl
var jobTemplate string

var tmpl = template.Must(template.New("job.sbatch.tmpl").Funcs(sched.FuncMap()).Parse(jobTemplate))

// Runner runs one command with ctx and returns its standard output. A
// command that cannot be started must return an error for which
// errors.Is(err, exec.ErrNotFound) or fs.ErrNotExist/ErrPermission holds;
// a command that fails returns an *exec.ExitError-like error whose message
// carries the command's standard error.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Config configures a Backend. Zero values mean defaults.
type Config struct {
	// Commands; default "sbatch", "squeue", "sacct", "scancel" from PATH.
	Sbatch, Squeue, Sacct, Scancel string
	// Timeout bounds each command (default 30 s).
	Timeout time.Duration
	// Run runs the commands (default: os/exec).
	Run Runner
}

// Backend is the Slurm sched.Backend.
type Backend struct{ cfg Config }

var _ sched.Backend = (*Backend)(nil)

// New returns a Slurm backend.
func New(cfg Config) *Backend {
	if cfg.Sbatch == "" {
		cfg.Sbatch = "sbatch"
	}
	if cfg.Squeue == "" {
		cfg.Squeue = "squeue"
	}
	if cfg.Sacct == "" {
		cfg.Sacct = "sacct"
	}
	if cfg.Scancel == "" {
		cfg.Scancel = "scancel"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Run == nil {
		cfg.Run = ExecRunner
	}
	return &Backend{cfg: cfg}
}

// Name implements sched.Backend.
func (b *Backend) Name() string { return "slurm" }

// ScriptExt implements sched.Backend.
func (b *Backend) ScriptExt() string { return ".sbatch" }

// Render implements sched.Backend: an sbatch script with one srun step per
// spec step.
func (b *Backend) Render(spec sched.JobSpec) ([]byte, error) {
	if spec.Launcher != "" && spec.Launcher != "srun" {
		return nil, fmt.Errorf("%w: slurm: launcher %q (want srun)", sched.ErrRequest, spec.Launcher)
	}
	return sched.Execute(tmpl, spec)
}

func (b *Backend) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	out, err := b.cfg.Run(ctx, name, args...)
	if err == nil {
		return out, nil
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("%w: slurm: %s: %w", sched.ErrUnreachable, name, err)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: slurm: %s %s: no answer within %v: %w", sched.ErrScheduler, name, strings.Join(args, " "), b.cfg.Timeout, ctx.Err())
	}
	return out, fmt.Errorf("%w: slurm: %s %s: %w", sched.ErrScheduler, name, strings.Join(args, " "), err)
}

// Submit implements sched.Backend with `sbatch --parsable PATH`. A refusal
// by sbatch (an impossible request, an unknown partition) wraps
// sched.ErrRejected.
func (b *Backend) Submit(ctx context.Context, path string) (string, error) {
	out, err := b.run(ctx, b.cfg.Sbatch, "--parsable", path)
	if err != nil {
		if errors.Is(err, sched.ErrUnreachable) || ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: %s: %w", sched.ErrRejected, path, err)
	}
	id, err := ParseJobID(out)
	if err != nil {
		return "", fmt.Errorf("%w: sbatch %s: %w", sched.ErrScheduler, path, err)
	}
	return id, nil
}

// ParseJobID reads the output of `sbatch --parsable`: "ID" or
// "ID;CLUSTER".
func ParseJobID(out []byte) (string, error) {
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 { // warnings come first
		s = strings.TrimSpace(s[i+1:])
	}
	id, _, _ := strings.Cut(s, ";")
	if id == "" || strings.Trim(id, "0123456789_") != "" {
		return "", fmt.Errorf("unexpected output %q (want a job id)", s)
	}
	return id, nil
}

// Status implements sched.Backend: squeue while the job is known to the
// controller, then sacct (accounting storage), then sacct -c (job
// completion log). A job none of them knows any more is sched.StateEnded.
func (b *Backend) Status(ctx context.Context, id string) (sched.State, error) {
	out, err := b.run(ctx, b.cfg.Squeue, "-h", "-j", id, "-o", "%T")
	if errors.Is(err, sched.ErrUnreachable) {
		return sched.StateUnknown, err
	}
	if err == nil {
		if s := strings.TrimSpace(string(out)); s != "" {
			return ParseState(firstLine(s)), nil
		}
	}
	for _, args := range [][]string{
		{"-n", "-P", "-X", "-j", id, "-o", "State"},
		{"-c", "-n", "-P", "-j", id, "-o", "State"},
	} {
		out, err := b.run(ctx, b.cfg.Sacct, args...)
		if errors.Is(err, sched.ErrUnreachable) {
			break
		}
		if err == nil {
			if s := strings.TrimSpace(string(out)); s != "" {
				return ParseState(lastLine(s)), nil
			}
		}
	}
	if ctx.Err() != nil {
		return sched.StateUnknown, ctx.Err()
	}
	if err != nil {
		// squeue says "Invalid job id specified" once the job is purged
		if strings.Contains(err.Error(), "Invalid job id") {
			return sched.StateEnded, nil
		}
		return sched.StateUnknown, err
	}
	return sched.StateEnded, nil
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return strings.TrimSpace(l) }

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// ParseState maps a Slurm job state (long or compact form, possibly
// followed by " by UID") to a sched.State.
func ParseState(s string) sched.State {
	s, _, _ = strings.Cut(strings.TrimSpace(s), " ")
	switch strings.TrimSuffix(s, "+") {
	case "PENDING", "PD", "CONFIGURING", "CF", "REQUEUED", "RQ", "RESIZING", "RS", "SUSPENDED", "S", "REQUEUE_HOLD", "REQUEUE_FED":
		return sched.StatePending
	case "RUNNING", "R", "COMPLETING", "CG", "STAGE_OUT", "SO", "SIGNALING", "SI", "STOPPED", "ST":
		return sched.StateRunning
	case "COMPLETED", "CD":
		return sched.StateCompleted
	case "CANCELLED", "CA", "REVOKED", "RV":
		return sched.StateCancelled
	case "TIMEOUT", "TO", "DEADLINE", "DL":
		return sched.StateTimeout
	case "FAILED", "F", "NODE_FAIL", "NF", "OUT_OF_MEMORY", "OOM", "BOOT_FAIL", "BF", "PREEMPTED", "PR", "SPECIAL_EXIT", "SE":
		return sched.StateFailed
	}
	return sched.StateUnknown
}

// Cancel implements sched.Backend with scancel.
func (b *Backend) Cancel(ctx context.Context, id string) error {
	_, err := b.run(ctx, b.cfg.Scancel, id)
	return err
}

// ExecRunner runs name with os/exec; its error carries the command's
// standard error.
func ExecRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return out, fmt.Errorf("%w: %s", err, msg)
		}
		return out, err
	}
	return out, nil
}
