package localhs

import (
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a server started later. It is picked below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range): a port from that range, the kind
// listening on port 0 returns, can meanwhile become the local port of any
// outgoing connection on the machine, and the server's listen then fails
// with "address already in use". Tests make many connections while a
// homeserver starts, and that happened.
//
// A port is never handed out twice by one process. A test picks Ferry's
// port before Dendrite starts and picks its own, and Ferry only listens
// after that: a second random pick of the same still-free port gave both
// servers one port, and Ferry's listen failed.
func FreePort() (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	if low := ephemeralLow(); low > minFreePort+1000 {
		for range 100 {
			port := minFreePort + mathrand.IntN(low-minFreePort)
			if handedOut.ports[port] {
				continue
			}
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				l.Close()
				handedOut.ports[port] = true
				return port, nil
			}
		}
	}
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("find a free port: the kernel offered only ports already handed out")
}

// handedOut is every port FreePort has returned in this process.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: make(map[int]bool)}

// minFreePort is the lowest port FreePort picks: above the ports that
// well-known services are configured on.
const minFreePort = 20000

// ephemeralLow is the first port of the kernel's ephemeral range, or 0 if
// it cannot be read.
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	low, _ := strconv.Atoi(f[0])
	return low
}
