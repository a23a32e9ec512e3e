package ircconn

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// newTestLineReader reads from nc as Dial sets it up: with the peeking
// wait when nc is plain TCP and peek says it can.
func newTestLineReader(t *testing.T, nc net.Conn, peek bool) *lineReader {
	t.Helper()
	lr := &lineReader{}
	if peek {
		rc, err := nc.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		lr.rc = rc
	}
	return lr
}

func TestLineReader(t *testing.T) {
	modes := []struct {
		name string
		peek bool
	}{{"read", false}}
	if canPeek {
		modes = append(modes, struct {
			name string
			peek bool
		}{"peek", true})
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			nc, srv := tcpPair(t)
			lr := newTestLineReader(t, nc, m.peek)
			nc.SetReadDeadline(time.Now().Add(fakeTimeout))
			write := func(s string) {
				if _, err := srv.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			want := func(line string) {
				t.Helper()
				got, err := lr.readLine(nc)
				if err != nil {
					t.Fatalf("want %q, got error %v", line, err)
				}
				if string(got) != line {
					t.Fatalf("got %q, want %q", got, line)
				}
			}

			// Two lines in one write, LF-only endings and empty lines.
			write("PING :a\r\n\r\nPING :b\n\n")
			want("PING :a")
			want("PING :b")

			// A line that arrives in parts, with a wait between.
			write("PRIVMSG #c :hel")
			go func() {
				time.Sleep(50 * time.Millisecond)
				write("lo\r\n")
			}()
			want("PRIVMSG #c :hello")

			// A tag-heavy line grows the buffer; the next read after it
			// is consumed starts from the idle size again.
			long := "@" + strings.Repeat("t", 3000) + " PRIVMSG #c :x"
			write(long + "\r\n")
			want(long)
			write("PING :c\r\n")
			want("PING :c")
			if len(lr.buf) != readBufSize {
				t.Errorf("buffer of %d bytes, want %d", len(lr.buf), readBufSize)
			}

			// A line longer than maxInLine is dropped whole.
			write(strings.Repeat("x", maxInLine+100) + "\r\nPING :after\r\n")
			want("PING :after")

			// A deadline ends the wait with a timeout and keeps a partial
			// line for the next read.
			write("PING :par")
			time.Sleep(20 * time.Millisecond)
			nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			if _, err := lr.readLine(nc); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %v, want a deadline error", err)
			}
			nc.SetReadDeadline(time.Now().Add(fakeTimeout))
			write("tial\r\n")
			want("PING :partial")

			// Waiting with nothing buffered holds no buffer when peeking.
			nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			if _, err := lr.readLine(nc); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %v, want a deadline error", err)
			}
			if m.peek && lr.buf != nil {
				t.Errorf("buffer of %d bytes held while waiting", len(lr.buf))
			}

			// EOF after the last line.
			nc.SetReadDeadline(time.Now().Add(fakeTimeout))
			write("PING :last\r\n")
			srv.Close()
			want("PING :last")
			if _, err := lr.readLine(nc); !errors.Is(err, io.EOF) {
				t.Fatalf("got %v, want EOF", err)
			}
		})
	}
}

// A server line of tags and a space and nothing more made the pinned
// parser index past the line's end, on the reader's goroutine: the whole
// process ended. It is skipped, and the next line is read.
func TestLineOfTagsAloneIsSkipped(t *testing.T) {
	s := newFakeServer(t)
	rec := &recorder{}
	c, fc := mustDial(t, s, Config{Nick: "ferry", Handler: rec.handle}, "")
	defer shut(c, fc)
	fc.send("@a ", "@ ", ":irc.test PING :still-alive")
	fc.expect("PONG still-alive")
}
