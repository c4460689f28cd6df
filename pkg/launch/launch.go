package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/scibench/scibench/pkg/cluster"
)

// DefaultGrace is the SIGTERM→SIGKILL grace period when Config.Grace is 0.
const DefaultGrace = 5 * time.Second

// DefaultLinger is Config.Linger's default.
const DefaultLinger = 2 * time.Second

// MaxGrace bounds Config.Grace: LSF sends SIGKILL 10 s after SIGTERM, so
// workers must be gone before that.
const MaxGrace = 10 * time.Second

// MaxProc bounds Config.NProc.
const MaxProc = 4096

// Errors. A failed worker is reported as a *WorkerError, which matches
// ErrWorkerFailed under errors.Is.
var (
	ErrConfig       = errors.New("launch: bad config")
	ErrStart        = errors.New("launch: cannot start worker")
	ErrWorkerFailed = errors.New("launch: worker failed")
	ErrInterrupted  = errors.New("launch: interrupted")
	ErrUnsupported  = errors.New("launch: unsupported on this operating system")
)

// Config describes one local job. The zero value of every field but NProc
// means "default".
type Config struct {
	NProc      int
	Path       string        // executable to run; default os.Executable()
	Args       []string      // arguments for each worker
	Env        []string      // extra environment for every worker (appended to os.Environ())
	MasterAddr string        // default "127.0.0.1"
	MasterPort int           // 0 = pick a free port on MasterAddr
	JobID      string        // default "local-<pid>-<unix ms>"
	Stdout     io.Writer     // default os.Stdout; each worker line is prefixed "[rank N] "
	Stderr     io.Writer     // default os.Stderr; each worker line is prefixed "[rank N] "
	Grace      time.Duration // SIGTERM→SIGKILL grace, default 5s (must be < 10s)
	// Linger is how long the other workers may go on after the first
	// failure before they get SIGTERM, so that they can report what they
	// saw (a dead peer names the missing rank, host and step). Default
	// DefaultLinger; negative means no wait.
	Linger time.Duration
	Logger *slog.Logger // default: discard
	// DeviceEnv, if set, returns extra environment for the worker of one
	// local rank, e.g. CUDA_VISIBLE_DEVICES=<localRank>.
	DeviceEnv func(localRank int) []string
	// Started, if set, is called once per worker right after it started,
	// from the goroutine that called Run, in rank order.
	Started func(rank, pid int)
}

// WorkerError reports the first worker that failed.
type WorkerError struct {
	Rank     int
	PID      int
	ExitCode int    // -1 when killed by a signal or when waiting failed
	Signal   string // e.g. "killed", "segmentation fault"; "" when it exited
	Err      error  // error from waiting, if any
}

func (e *WorkerError) Error() string {
	switch {
	case e.Signal != "":
		return fmt.Sprintf("launch: rank %d (pid %d) killed by signal %s", e.Rank, e.PID, e.Signal)
	case e.Err != nil && e.ExitCode < 0:
		return fmt.Sprintf("launch: rank %d (pid %d): %v", e.Rank, e.PID, e.Err)
	default:
		return fmt.Sprintf("launch: rank %d (pid %d) exited with code %d", e.Rank, e.PID, e.ExitCode)
	}
}

// Unwrap returns the wait error, if any.
func (e *WorkerError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrWorkerFailed) true.
func (e *WorkerError) Is(target error) bool { return target == ErrWorkerFailed }

func (c Config) withDefaults() (Config, error) {
	if c.NProc < 1 || c.NProc > MaxProc {
		return c, fmt.Errorf("%w: NProc=%d outside [1,%d]", ErrConfig, c.NProc, MaxProc)
	}
	switch {
	case c.Grace == 0:
		c.Grace = DefaultGrace
	case c.Grace < 0 || c.Grace >= MaxGrace:
		return c, fmt.Errorf("%w: Grace=%v outside (0,%v)", ErrConfig, c.Grace, MaxGrace)
	}
	switch {
	case c.Linger == 0:
		c.Linger = DefaultLinger
	case c.Linger < 0:
		c.Linger = 0
	}
	if c.MasterPort < 0 || c.MasterPort > 65535 {
		return c, fmt.Errorf("%w: MasterPort=%d", ErrConfig, c.MasterPort)
	}
	if c.Path == "" {
		p, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("%w: no Path and os.Executable failed: %w", ErrConfig, err)
		}
		c.Path = p
	}
	if c.MasterAddr == "" {
		c.MasterAddr = "127.0.0.1"
	}
	if c.JobID == "" {
		c.JobID = "local-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// freePort asks the kernel for a free TCP port on addr. Another process may
// take it before the master binds it; the collective reports that clearly.
func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("%w: no free port on MasterAddr %q: %w", ErrConfig, addr, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("launch: close probe listener: %w", err)
	}
	return port, nil
}

// Run starts cfg.NProc workers, waits for all of them and returns nil when
// every one exited 0. When a worker fails, or ctx is done, Run sends SIGTERM
// to every worker's process group, SIGKILL after cfg.Grace, waits for all,
// and returns the *WorkerError of the first worker that failed, or an error
// wrapping ErrInterrupted and the context's cause.
func Run(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if err := supported(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: job %s not started: %w", ErrInterrupted, cfg.JobID, context.Cause(ctx))
	}
	token, err := cluster.NewToken()
	if err != nil {
		return fmt.Errorf("launch: job %s: %w", cfg.JobID, err)
	}
	if cfg.MasterPort == 0 {
		if cfg.MasterPort, err = freePort(cfg.MasterAddr); err != nil {
			return err
		}
	}
	log := cfg.Logger.With("job_id", cfg.JobID)
	base := append(os.Environ(), cfg.Env...)

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	out := &sink{}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		first     *WorkerError
		lingering *time.Timer
	)
	fail := func(we *WorkerError) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil && runCtx.Err() == nil {
			first = we
			log.Error("worker failed; stopping the others", "rank", we.Rank, "pid", we.PID,
				"exit_code", we.ExitCode, "signal", we.Signal, "after", cfg.Linger)
			if cfg.Linger > 0 {
				// let the survivors notice the loss and say so; they
				// usually exit on their own well before this fires
				lingering = time.AfterFunc(cfg.Linger, func() { stop(we) })
			} else {
				stop(we)
			}
		}
	}
	var startErr error
	for rank := 0; rank < cfg.NProc && runCtx.Err() == nil; rank++ {
		info := cluster.Info{Rank: rank, WorldSize: cfg.NProc, LocalRank: rank, LocalWorldSize: cfg.NProc,
			Hosts: []string{cfg.MasterAddr}, MasterAddr: cfg.MasterAddr, MasterPort: cfg.MasterPort,
			JobID: cfg.JobID, Token: token, Source: "scibench"}
		env := append([]string(nil), base...)
		if cfg.DeviceEnv != nil {
			env = append(env, cfg.DeviceEnv(rank)...)
		}
		env = append(env, info.Environ()...)
		w := &worker{rank: rank, cfg: &cfg, env: env, out: out, log: log, started: make(chan error, 1)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if we := w.run(runCtx); we != nil {
				fail(we)
			}
		}()
		if err := <-w.started; err != nil {
			if runCtx.Err() != nil {
				break // a worker already failed, or ctx is done: reported below
			}
			startErr = fmt.Errorf("%w: rank %d: %s: %w", ErrStart, rank, cfg.Path, err)
			stop(startErr)
			break
		}
		log.Debug("worker started", "rank", rank, "pid", w.pid)
		if cfg.Started != nil {
			cfg.Started(rank, w.pid)
		}
	}
	wg.Wait()
	mu.Lock()
	if lingering != nil {
		lingering.Stop()
	}
	mu.Unlock()
	switch {
	case startErr != nil:
		return startErr
	case first != nil:
		return first
	case ctx.Err() != nil:
		return fmt.Errorf("%w: job %s: %w", ErrInterrupted, cfg.JobID, context.Cause(ctx))
	}
	return nil
}

// drainTimeout bounds how long output is read after a worker's process
// group is gone: only a process that left the group (setsid) can still hold
// the pipe then.
const drainTimeout = time.Second

type worker struct {
	rank    int
	cfg     *Config
	env     []string
	out     *sink
	log     *slog.Logger
	started chan error
	pid     int
}

// run starts the worker, reports the start on w.started, waits for it and
// kills what is left of its process group. It returns nil when the worker
// exited 0.
func (w *worker) run(ctx context.Context) *WorkerError {
	// The parent-death signal (Linux) is tied to the thread that forked:
	// keep this goroutine on that thread until the worker is reaped.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		w.started <- err
		return nil
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		closeAll(stdoutR, stdoutW)
		w.started <- err
		return nil
	}
	cmd := exec.CommandContext(ctx, w.cfg.Path, w.cfg.Args...)
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, sigTerm) }
	cmd.WaitDelay = w.cfg.Grace
	err = cmd.Start()
	closeAll(stdoutW, stderrW) // the child has its own copies
	if err != nil {
		closeAll(stdoutR, stderrR)
		w.started <- err
		return nil
	}
	w.pid = cmd.Process.Pid
	prefix := "[rank " + strconv.Itoa(w.rank) + "] "
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); copyLines(w.out, w.cfg.Stdout, stdoutR, prefix) }()
	go func() { defer readers.Done(); copyLines(w.out, w.cfg.Stderr, stderrR, prefix) }()
	w.started <- nil

	waitErr := cmd.Wait()
	// No orphans: whatever the worker left in its group dies with it.
	_ = signalGroup(w.pid, sigKill)
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		w.log.Warn("worker output still open after exit; closing", "rank", w.rank, "pid", w.pid)
		closeAll(stdoutR, stderrR) // unblocks the readers
		<-drained
	}
	closeAll(stdoutR, stderrR)
	return classify(w.rank, w.pid, cmd.ProcessState, waitErr)
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}
