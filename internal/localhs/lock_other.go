//go:build !unix

package localhs

// lockFile is a no-op where flock(2) is unavailable; the test bed targets
// Linux.
func lockFile(string) (func(), error) { return func() {}, nil }
