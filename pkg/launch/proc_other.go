//go:build !unix

package launch

import (
	"os"
	"syscall"
)

type sigNum int

const (
	sigTerm sigNum = 15
	sigKill sigNum = 9
)

func supported() error { return ErrUnsupported }

func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, sig sigNum) error { return ErrUnsupported }

func classify(rank, pid int, ps *os.ProcessState, waitErr error) *WorkerError {
	if ps == nil || ps.ExitCode() != 0 {
		code := -1
		if ps != nil {
			code = ps.ExitCode()
		}
		return &WorkerError{Rank: rank, PID: pid, ExitCode: code, Err: waitErr}
	}
	return nil
}
