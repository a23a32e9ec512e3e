//go:build !linux

package localhs

import "syscall"

// ChildProcAttr has no parent-death signal outside Linux; t.Cleanup still
// stops the child.
func ChildProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
