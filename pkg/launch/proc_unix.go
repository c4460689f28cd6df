//go:build unix

package launch

import (
	"errors"
	"os"
	"syscall"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

func supported() error { return nil }

// signalGroup sends sig to the process group led by pid (every worker is
// started with Setpgid, so its group id is its pid).
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// classify turns a worker's exit status into nil (exit 0) or a *WorkerError.
func classify(rank, pid int, ps *os.ProcessState, waitErr error) *WorkerError {
	if ps == nil {
		return &WorkerError{Rank: rank, PID: pid, ExitCode: -1, Err: waitErr}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled():
		return &WorkerError{Rank: rank, PID: pid, ExitCode: -1, Signal: ws.Signal().String()}
	case ps.ExitCode() != 0:
		return &WorkerError{Rank: rank, PID: pid, ExitCode: ps.ExitCode()}
	}
	return nil
}
