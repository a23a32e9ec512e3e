//go:build unix

package localhs

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on path, waiting as long as needed.
// The kernel drops the lock if the process dies. scripts/test.sh takes the
// same lock with flock(1).
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
