package irc

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
)

// holdProxy is a TCP proxy in front of an IRC server that can hold back
// what the server sends to one client (named by the nick it registered
// with), to deliver those lines late, as a busy reader gets them.
type holdProxy struct {
	addr string
	up   string
	// rewrite, when set before the first connection, changes every line
	// the server sends (CRLF included) on its way to the client.
	rewrite func(line string) string

	mu   sync.Mutex
	held map[string]chan struct{} // nick -> closed when released
	// from holds, by nick, when to start holding (see holdFrom).
	from map[string]func(line string) bool
}

func newHoldProxy(t *testing.T, upstream string) *holdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{addr: ln.Addr().String(), up: upstream, held: map[string]chan struct{}{}, from: map[string]func(string) bool{}}
	// One cleanup, registered now: made before Ferry starts, the proxy
	// then closes its connections only after Ferry has stopped. Closed
	// under a running Ferry, they would be connections lost, whose
	// debounced notice can fire after the test.
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		p.releaseAll()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", upstream)
			if err != nil {
				client.Close()
				continue
			}
			p.mu.Lock()
			conns = append(conns, client, server)
			p.mu.Unlock()
			go p.pipe(client, server)
		}
	}()
	return p
}

// pipe copies both ways; the client's first NICK names the connection.
func (p *holdProxy) pipe(client, server net.Conn) {
	var nick sync.Mutex
	name := ""
	go func() {
		defer server.Close()
		br := bufio.NewReader(client)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				if rest, ok := strings.CutPrefix(line, "NICK "); ok {
					nick.Lock()
					if name == "" {
						name = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
					}
					nick.Unlock()
				}
				if _, werr := server.Write([]byte(line)); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer client.Close()
	br := bufio.NewReader(server)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			nick.Lock()
			who := name
			nick.Unlock()
			p.holdIfFrom(who, line)
			p.waitReleased(who)
			if p.rewrite != nil {
				line = p.rewrite(line)
			}
			if _, werr := client.Write([]byte(line)); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// hold keeps what the server sends to nick's connection until release.
func (p *holdProxy) hold(nick string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held[nick] == nil {
		p.held[nick] = make(chan struct{})
	}
}

// holdFrom holds what the server sends to nick's connection from the
// first line at matches on, that line included, until release: the
// client has not read what it answers when the test acts.
func (p *holdProxy) holdFrom(nick string, at func(line string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.from[nick] = at
}

func (p *holdProxy) holdIfFrom(nick, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at := p.from[nick]; at != nil && at(line) {
		delete(p.from, nick)
		if p.held[nick] == nil {
			p.held[nick] = make(chan struct{})
		}
	}
}

// release delivers what was held for nick, and lets later lines through.
func (p *holdProxy) release(nick string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch := p.held[nick]; ch != nil {
		close(ch)
		delete(p.held, nick)
	}
}

func (p *holdProxy) releaseAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for nick, ch := range p.held {
		close(ch)
		delete(p.held, nick)
	}
}

func (p *holdProxy) waitReleased(nick string) {
	p.mu.Lock()
	ch := p.held[nick]
	p.mu.Unlock()
	if ch != nil {
		<-ch
	}
}
