package localhs

import (
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a server started later. It is picked below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range): a port from that range, the kind
// listening on port 0 returns, can meanwhile become the local port of any
// outgoing connection on the machine, and the server's listen then fails
// with "address already in use". Tests make many connections while a
// homeserver starts, and that happened.
func FreePort() (int, error) {
	if low := ephemeralLow(); low > minFreePort+1000 {
		for range 100 {
			port := minFreePort + mathrand.IntN(low-minFreePort)
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				l.Close()
				return port, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

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
