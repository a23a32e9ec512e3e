package ircconn

import (
	"bufio"
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// benchServer registers clients as fast as it can (CAP LS, ACK, 001,
// InspIRCd's 005 lines, 422) and then keeps their sockets without
// reading, like an idle network.
// Its per-connection goroutine exits after registration, so what it keeps
// is one socket per connection.
type benchServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newBenchServer(b *testing.B) *benchServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &benchServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.register(c)
		}
	}()
	return s
}

func (s *benchServer) register(c net.Conn) {
	br := bufio.NewReaderSize(c, 512)
	nick := "x"
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return
		}
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "CAP" && f[1] == "LS":
			c.Write([]byte(":bench CAP * LS :server-time message-tags batch\r\n"))
		case len(f) >= 2 && f[0] == "CAP" && f[1] == "REQ":
			c.Write([]byte(":bench CAP * ACK " + strings.Join(f[2:], " ") + "\r\n"))
		case len(f) >= 2 && f[0] == "NICK":
			nick = f[1]
		case len(f) >= 2 && f[0] == "CAP" && f[1] == "END":
			// The ISUPPORT of InspIRCd 3 with the test bed's modules, in
			// its three lines: what every connection is sent in real use.
			c.Write([]byte(":bench 001 " + nick + " :Welcome " + nick + "!u@bench.host\r\n" +
				":bench 005 " + nick + " AWAYLEN=200 CASEMAPPING=rfc1459 CHANLIMIT=#:100 CHANMODES=IXbeg,k,Hfjl,ACKMNOPQRSTcimnprstz CHANNELLEN=64 CHANTYPES=# ELIST=CMNTU ESILENCE=CcdiNnPpTtx EXCEPTS=e EXTBAN=,ACNOQRSTUacjmnprswz HOSTLEN=64 INVEX=I :are supported by this server\r\n" +
				":bench 005 " + nick + " KEYLEN=32 KICKLEN=255 LINELEN=512 MAXLIST=I:100,X:100,b:100,e:100,g:100 MAXTARGETS=20 MODES=20 MONITOR=30 NAMELEN=128 NAMESX NETWORK=Bench NICKLEN=30 PREFIX=(ov)@+ :are supported by this server\r\n" +
				":bench 005 " + nick + " SAFELIST SILENCE=32 STATUSMSG=@+ TOPICLEN=307 UHNAMES USERIP USERLEN=10 USERMODES=,,s,BDHILRSTWcdghikorswxz WHOX :are supported by this server\r\n" +
				":bench 422 " + nick + " :No MOTD\r\n"))
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			return
		}
	}
}

func (s *benchServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
}

// rss returns the process's resident set size in bytes (Linux), or 0.
func rss() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

type memSample struct{ heap, stack, rss uint64 }

func sample() memSample {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{heap: ms.HeapAlloc, stack: ms.StackInuse, rss: rss()}
}

// BenchmarkIdleConns opens idle registered connections to a local server
// and reports what each costs: heap-bytes/conn (live heap after GC),
// stack-bytes/conn (goroutine stacks), rss-bytes/conn (resident set, noisy)
// and goroutines/conn. Both ends of each socket live in this process, so
// the figures include the server's end of the socket (a few hundred
// bytes). Run with -benchtime=1x; FERRY_BENCH_CONNS sets the count (1000).
func BenchmarkIdleConns(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("FERRY_BENCH_CONNS")); err == nil && v > 0 {
		n = v
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(2*n+100) {
		n = int(lim.Cur-100) / 2
		b.Logf("file descriptor limit %d: measuring %d connections", lim.Cur, n)
	}
	for i := 0; i < b.N; i++ {
		srv := newBenchServer(b)
		before := sample()
		goroutinesBefore := runtime.NumGoroutine()
		conns := make([]*Conn, n)
		sem := make(chan struct{}, 32)
		var wg sync.WaitGroup
		var failed error
		var failMu sync.Mutex
		for j := range conns {
			wg.Add(1)
			sem <- struct{}{}
			go func(j int) {
				defer wg.Done()
				defer func() { <-sem }()
				c, err := Dial(context.Background(), Config{Addr: srv.ln.Addr().String(), Nick: "idle" + strconv.Itoa(j)})
				if err != nil {
					failMu.Lock()
					failed = err
					failMu.Unlock()
					return
				}
				conns[j] = c
			}(j)
		}
		wg.Wait()
		if failed != nil {
			b.Fatal(failed)
		}
		after := sample()
		goroutines := runtime.NumGoroutine() - goroutinesBefore
		per := func(a, b uint64) float64 {
			if a < b {
				return 0
			}
			return float64(a-b) / float64(n)
		}
		b.ReportMetric(per(after.heap, before.heap), "heap-bytes/conn")
		b.ReportMetric(per(after.stack, before.stack), "stack-bytes/conn")
		b.ReportMetric(per(after.heap+after.stack, before.heap+before.stack), "heap+stack-bytes/conn")
		b.ReportMetric(per(after.rss, before.rss), "rss-bytes/conn")
		b.ReportMetric(float64(goroutines)/float64(n), "goroutines/conn")
		for _, c := range conns {
			c.nc.Close() // no QUIT round trip for a thousand connections
		}
		for _, c := range conns {
			<-c.Done()
		}
		srv.close()
	}
}
