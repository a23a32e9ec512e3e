package localhs

import (
	"net"
	"strconv"
	"testing"
)

// FreePort's ports come from below the kernel's ephemeral range, where no
// outgoing connection can take them, and can be listened on.
func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	if low <= minFreePort+1000 {
		t.Skipf("the ephemeral range starts at %d: no room below it, FreePort falls back to the kernel's choice", low)
	}
	for range 20 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if port < minFreePort || port >= low {
			t.Errorf("FreePort = %d, want in [%d, %d)", port, minFreePort, low)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Errorf("FreePort's %d cannot be listened on: %v", port, err)
			continue
		}
		l.Close()
	}
}

// Two servers of one test must never be given the same port, even though
// each port is still free until its server listens.
func TestFreePortNeverRepeats(t *testing.T) {
	// Random picks from the range below the ephemeral ports would repeat
	// many times over among this many (about n²/2N of them).
	const n = 2000
	seen := make(map[int]bool, n)
	for range n {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
	}
}
