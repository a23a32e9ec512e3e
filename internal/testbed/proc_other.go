//go:build !linux

package testbed

import "syscall"

// childProcAttr has no parent-death signal outside Linux; t.Cleanup still
// stops the child.
func childProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
