package testbed

import (
	"testing"

	"github.com/ferrybridge/ferry/internal/localhs"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// picked outside the kernel's ephemeral range (see localhs.FreePort). The
// port is released before returning, so another process could still take
// it, but only by choosing the same port on purpose.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := localhs.FreePort()
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return port
}

// tailFile returns the last n lines of the file at path.
func tailFile(path string, n int) string { return localhs.TailFile(path, n) }

// randomHex returns n random bytes as hex.
func randomHex(n int) string { return localhs.RandomHex(n) }
