package lsf

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/scibench/scibench/pkg/sched"
)

//go:embed job.lsf.tmpl
var jobTemplate string

var tmpl = template.Must(template.New("job.lsf.tmpl").Funcs(sched.FuncMap()).Parse(jobTemplate))

// Runner runs one command with ctx, feeding it stdin, and returns its
// standard output. A command that cannot be started must return an error
// for which errors.Is(err, exec.ErrNotFound) or fs.ErrNotExist/
// fs.ErrPermission holds.
type Runner func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)

// Config configures a Backend. Zero values mean defaults.
type Config struct {
	// Commands; default "bsub", "bjobs", "bkill" from PATH.
	Bsub, Bjobs, Bkill string
	// Timeout bounds each command (default 30 s).
	Timeout time.Duration
	// Run runs the commands (default: os/exec).
	Run Runner
}

// Backend is the LSF (bsub + jsrun) sched.Backend.
type Backend struct{ cfg Config }

var _ sched.Backend = (*Backend)(nil)

// New returns an LSF backend.
func New(cfg Config) *Backend {
	if cfg.Bsub == "" {
		cfg.Bsub = "bsub"
	}
	if cfg.Bjobs == "" {
		cfg.Bjobs = "bjobs"
	}
	if cfg.Bkill == "" {
		cfg.Bkill = "bkill"
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
func (b *Backend) Name() string { return "lsf" }

// ScriptExt implements sched.Backend.
func (b *Backend) ScriptExt() string { return ".lsf" }

// Render implements sched.Backend: a bsub script with one jsrun step per
// spec step, one resource set (1 task, 1 GPU) per worker.
func (b *Backend) Render(spec sched.JobSpec) ([]byte, error) {
	if spec.Launcher != "" && spec.Launcher != "jsrun" {
		return nil, fmt.Errorf("%w: lsf: launcher %q (want jsrun)", sched.ErrRequest, spec.Launcher)
	}
	return sched.Execute(tmpl, spec)
}

func (b *Backend) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	out, err := b.cfg.Run(ctx, stdin, name, args...)
	if err == nil {
		return out, nil
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("%w: lsf: %s: %w", sched.ErrUnreachable, name, err)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: lsf: %s %s: no answer within %v: %w", sched.ErrScheduler, name, strings.Join(args, " "), b.cfg.Timeout, ctx.Err())
	}
	return out, fmt.Errorf("%w: lsf: %s %s: %w", sched.ErrScheduler, name, strings.Join(args, " "), err)
}

var submitted = regexp.MustCompile(`Job <([0-9]+)> is submitted`)

// Submit implements sched.Backend with `bsub < PATH` (LSF reads #BSUB
// lines only from a script on standard input).
func (b *Backend) Submit(ctx context.Context, path string) (string, error) {
	script, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: lsf: %w", sched.ErrRejected, err)
	}
	out, err := b.run(ctx, script, b.cfg.Bsub)
	if err != nil {
		if errors.Is(err, sched.ErrUnreachable) || ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: %s: %w", sched.ErrRejected, path, err)
	}
	return ParseJobID(out)
}

// ParseJobID reads bsub's "Job <ID> is submitted to queue <Q>." line.
func ParseJobID(out []byte) (string, error) {
	m := submitted.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%w: lsf: bsub said %q (want \"Job <ID> is submitted ...\")", sched.ErrScheduler, strings.TrimSpace(string(out)))
	}
	return string(m[1]), nil
}

// Status implements sched.Backend with `bjobs -noheader -o stat ID`; a job
// bjobs no longer knows is sched.StateEnded.
func (b *Backend) Status(ctx context.Context, id string) (sched.State, error) {
	out, err := b.run(ctx, nil, b.cfg.Bjobs, "-noheader", "-o", "stat", id)
	s := strings.TrimSpace(string(out))
	if err != nil {
		if !errors.Is(err, sched.ErrUnreachable) && strings.Contains(err.Error(), "is not found") {
			return sched.StateEnded, nil
		}
		return sched.StateUnknown, err
	}
	if s == "" || strings.Contains(s, "is not found") {
		return sched.StateEnded, nil
	}
	return ParseState(s), nil
}

// ParseState maps an LSF job status to a sched.State.
func ParseState(s string) sched.State {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	switch strings.TrimSpace(s) {
	case "PEND", "PSUSP", "WAIT":
		return sched.StatePending
	case "RUN", "USUSP", "SSUSP", "PROV":
		return sched.StateRunning
	case "DONE":
		return sched.StateCompleted
	case "EXIT", "ZOMBI":
		return sched.StateFailed
	}
	return sched.StateUnknown
}

// Cancel implements sched.Backend with bkill.
func (b *Backend) Cancel(ctx context.Context, id string) error {
	_, err := b.run(ctx, nil, b.cfg.Bkill, id)
	return err
}

// ExecRunner runs name with os/exec; its error carries the command's
// standard error.
func ExecRunner(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
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
