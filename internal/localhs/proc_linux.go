package localhs

import "syscall"

// ChildProcAttr makes the kernel SIGKILL the child when the thread that
// started it dies. The Go runtime only ends a thread when a goroutine exits
// while locked to it (runtime.LockOSThread), which the test bed never does,
// so in practice this fires when the test process dies.
func ChildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
