package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"sync"
	"time"
)

// tap (with -tap) is a recording proxy between Dendrite and Ferry: the
// registration's url points at it, it notes when each event's transaction
// arrives and forwards the request unchanged. It splits the time after
// Dendrite's push to the observer into Dendrite pushing to Ferry and Ferry
// (plus the IRC server) delivering, per message. It adds one loopback hop
// to every transaction, so it is off unless asked for.
type tap struct {
	srv  *http.Server
	addr string
	log  pushLog
}

// pushLog records the first arrival of each message body in pushed
// transactions.
type pushLog struct {
	mu       sync.Mutex
	arrivals map[string]time.Time
}

func (l *pushLog) record(body []byte, at time.Time) {
	var txn struct {
		Events []struct {
			Content struct {
				Body string `json:"body"`
			} `json:"content"`
		} `json:"events"`
	}
	if json.Unmarshal(body, &txn) != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.arrivals == nil {
		l.arrivals = map[string]time.Time{}
	}
	for _, evt := range txn.Events {
		if b := evt.Content.Body; b != "" {
			if _, seen := l.arrivals[b]; !seen {
				l.arrivals[b] = at
			}
		}
	}
}

func (l *pushLog) arrival(body string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.arrivals[body]
	return at, ok
}

var registrationURL = regexp.MustCompile(`(?m)^url: .*$`)

// startTap proxies to Ferry's appservice port and points the registration
// file at itself.
func startTap(regPath string, ferryPort int) (*tap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("tap: %w", err)
	}
	t := &tap{addr: ln.Addr().String()}
	reg, err := os.ReadFile(regPath)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if !registrationURL.Match(reg) {
		ln.Close()
		return nil, fmt.Errorf("tap: no url in %s", regPath)
	}
	reg = registrationURL.ReplaceAll(reg, []byte("url: http://"+t.addr))
	if err := os.WriteFile(regPath, reg, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	target, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", ferryPort))
	proxy := httputil.NewSingleHostReverseProxy(target)
	t.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		if r.Method == http.MethodPut {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			t.log.record(body, at)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = t.srv.Serve(ln) }()
	return t, nil
}

func (t *tap) describe() string {
	return "on: Dendrite -> recording proxy " + t.addr + " -> Ferry (one extra loopback hop per transaction, and one more process wanting the processors when Ferry does: Ferry's share is best read from a run without it)"
}

func (t *tap) close() { _ = t.srv.Close() }
