package testbed

import (
	"net"
	"testing"

	"github.com/ferrybridge/ferry/internal/localhs"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port is released before returning, so another process could take it; the
// kernel hands out ephemeral ports in a way that makes this rare.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testbed: find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// tailFile returns the last n lines of the file at path.
func tailFile(path string, n int) string { return localhs.TailFile(path, n) }

// randomHex returns n random bytes as hex.
func randomHex(n int) string { return localhs.RandomHex(n) }
