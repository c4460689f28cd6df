package launch

import "syscall"

// sysProcAttr puts the worker in its own process group and has the kernel
// SIGKILL it if the launcher dies without cleaning up (kill -9, OOM).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
