// Package launch runs a local scibench job: it starts NProc copies of a
// worker executable on this machine with the SCIBENCH_* environment
// contract of package cluster (rank r, world NProc, local rank r, a fresh
// random token per job, master 127.0.0.1 on a free port), prefixes each
// line a worker prints with "[rank N] ", and fails fast.
//
// # Lifecycle
//
// Every worker runs in its own process group (Setpgid), so signals reach the
// processes it started too. When ctx is done (the caller wires SIGINT and
// SIGTERM to it with signal.NotifyContext), or when any worker exits with a
// non-zero status or is killed by a signal, Run sends SIGTERM to every
// worker's group (after a failure, only once the others have had
// Config.Linger, default 2 s, to notice the loss and report it themselves)
// and SIGKILL after Config.Grace (default 5 s, always under
// the 10 s after which LSF sends SIGKILL itself). Run returns only after
// every worker has been reaped; the first failing worker is reported as a
// *WorkerError (rank, pid, exit code or signal), an interruption as an
// error wrapping ErrInterrupted.
//
// No orphans: when a worker exits, for any reason, whatever is left of its
// process group is sent SIGKILL. On Linux each worker also gets SIGKILL
// from the kernel if the launcher itself dies (parent-death signal); the
// goroutine that started a worker stays on its OS thread until the worker
// is reaped, as that signal is tied to the forking thread. A process that
// leaves its group (setsid) is beyond reach; its output is read for at most
// one more second after its worker exits.
//
// Output: lines are buffered per worker and stream (stdout, stderr) and
// written whole, one Write per line, under one mutex shared by Stdout and
// Stderr, so lines never interleave; a final line without newline is
// flushed with one; a line longer than 1 MiB is written in 1 MiB pieces,
// each prefixed.
//
// # Usage
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	err := launch.Run(ctx, launch.Config{
//		NProc: 2,
//		Args:  []string{"run", "earthquake"},
//		DeviceEnv: func(localRank int) []string {
//			return []string{"CUDA_VISIBLE_DEVICES=" + strconv.Itoa(localRank)}
//		},
//	})
//	var we *launch.WorkerError
//	switch {
//	case errors.As(err, &we): // exit code 1; we.Rank failed first
//	case errors.Is(err, launch.ErrInterrupted): // exit code 130
//	}
//
// Workers read their identity with cluster.FromEnv(os.LookupEnv).
package launch
