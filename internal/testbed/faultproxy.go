package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultProxy is a reverse proxy on a loopback port in front of an HTTP
// server (usually Dendrite's client API, or an appservice), which can answer
// chosen requests with errors, delay them, or go down entirely. Dendrite
// never rate-limits appservice users, so 429 handling is tested through it.
//
// Requests are matched by a pattern: a path prefix ("/_matrix/client/v3/rooms/"),
// optionally preceded by a method and a space ("PUT /_matrix/client/v3/rooms/").
// The path is the decoded URL path (r.URL.Path). An empty pattern matches
// every request.
type FaultProxy struct {
	target *url.URL
	addr   string // 127.0.0.1:<port>, kept across Down/Up
	proxy  *httputil.ReverseProxy

	mu       sync.Mutex
	server   *http.Server // nil while refusing connections
	outage   Outage
	faults   []*faultRule
	requests []ProxiedRequest
}

// Fault describes what the proxy does with a matching request.
type Fault struct {
	// Status is the HTTP status to answer with; 0 passes the request
	// through to the target (after Delay).
	Status int
	// Body is the response body; if empty, a Matrix error JSON fitting
	// Status is sent (M_LIMIT_EXCEEDED with retry_after_ms for 429).
	Body string
	// RetryAfter sets retry_after_ms in the default 429 body and the
	// Retry-After header (whole seconds, rounded up).
	RetryAfter time.Duration
	// Delay is waited before answering or passing through.
	Delay time.Duration
	// LoseAnswer passes the request through to the target, lets it finish
	// there, then throws the target's answer away and answers 504 Gateway
	// Timeout, as a front proxy does whose upstream answered too late:
	// the request took effect, but the client cannot know it did.
	LoseAnswer bool
	// RedirectTo, with a 3xx Status, answers with a Location header that
	// sends the client to the same request URI under this base address
	// (e.g. the target's own URL), as a front that redirects http to
	// https, or to another host, does.
	RedirectTo string
	// AnswerFirst answers 504 Gateway Timeout at once and passes the
	// request through to the target afterwards, after Delay, as a front
	// proxy does that gave up before its slow upstream got to the request:
	// the request takes effect only after the client saw it fail.
	AnswerFirst bool
}

// Outage is how a FaultProxy is down.
type Outage int

const (
	// OutageRefuse closes the listener and all open connections: new
	// connections are refused, requests in flight fail.
	OutageRefuse Outage = iota + 1
	// Outage502 keeps accepting connections and answers every request with
	// 502 Bad Gateway and an HTML body, like a front proxy whose upstream
	// is gone.
	Outage502
)

// ProxiedRequest records one request the proxy received.
type ProxiedRequest struct {
	Time     time.Time
	Method   string
	Path     string // decoded URL path
	Status   int    // status sent to the client
	Injected bool   // true if the status came from a Fault or an outage
}

type faultRule struct {
	method, prefix string
	left           int // < 0: unlimited
	fault          Fault
}

// NewFaultProxy starts a proxy to target (e.g. Dendrite.URL) on a free
// loopback port; it is closed in t.Cleanup.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Fatalf("testbed: fault proxy target %q is not an absolute URL (%v)", target, err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	p := &FaultProxy{target: u}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
		},
		Transport: transport,
		ErrorLog:  log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeBadGateway(w)
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testbed: fault proxy listen: %v", err)
	}
	p.addr = l.Addr().String()
	p.serve(l)
	t.Cleanup(func() {
		p.mu.Lock()
		srv := p.server
		p.server = nil
		p.mu.Unlock()
		if srv != nil {
			srv.Close()
		}
		transport.CloseIdleConnections()
	})
	return p
}

// serve starts a new http.Server on l; p.mu must not be held.
func (p *FaultProxy) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(p.handle), ErrorLog: log.New(io.Discard, "", 0)}
	p.mu.Lock()
	p.server = srv
	p.mu.Unlock()
	go srv.Serve(l)
}

// URL is the proxy's base URL, http://127.0.0.1:<port>; it stays the same
// across Down and Up.
func (p *FaultProxy) URL() string { return "http://" + p.addr }

// Inject applies f to the next n requests matching pattern (n < 0: every
// matching request until ClearFaults). Rules are tried in the order they
// were added; the first one with requests left applies.
func (p *FaultProxy) Inject(pattern string, n int, f Fault) {
	method, prefix := parsePattern(pattern)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &faultRule{method: method, prefix: prefix, left: n, fault: f})
}

// RateLimitNext answers the next n matching requests with 429
// M_LIMIT_EXCEEDED and retry_after_ms.
func (p *FaultProxy) RateLimitNext(pattern string, n int, retryAfter time.Duration) {
	p.Inject(pattern, n, Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter})
}

// FailNext answers the next n matching requests with status and a Matrix
// error body.
func (p *FaultProxy) FailNext(pattern string, n int, status int) {
	p.Inject(pattern, n, Fault{Status: status})
}

// DelayNext passes the next n matching requests through after delay.
func (p *FaultProxy) DelayNext(pattern string, n int, delay time.Duration) {
	p.Inject(pattern, n, Fault{Delay: delay})
}

// ClearFaults removes all injected faults (not an outage).
func (p *FaultProxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// Down takes the proxy down in the given way until Up.
func (p *FaultProxy) Down(mode Outage) {
	p.mu.Lock()
	p.outage = mode
	srv := p.server
	if mode == OutageRefuse {
		p.server = nil
	}
	p.mu.Unlock()
	if mode == OutageRefuse {
		if srv != nil {
			srv.Close() // closes the listener and every connection, also those in flight
		}
		return
	}
	p.listen()
}

// Up ends an outage: the proxy listens again on the same address and passes
// requests through.
func (p *FaultProxy) Up() {
	p.mu.Lock()
	p.outage = 0
	p.mu.Unlock()
	p.listen()
}

// listen serves on p.addr again if the proxy is refusing connections. It
// panics if the address cannot be listened on again.
func (p *FaultProxy) listen() {
	p.mu.Lock()
	listening := p.server != nil
	p.mu.Unlock()
	if listening {
		return
	}
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		panic(fmt.Sprintf("testbed: fault proxy cannot listen on %s again: %v", p.addr, err))
	}
	p.serve(l)
}

// Count returns how many received requests matched pattern, whatever their
// answer. Refused connections are not requests and are not counted.
func (p *FaultProxy) Count(pattern string) int {
	method, prefix := parsePattern(pattern)
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.requests {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// Requests returns every request received so far, in order of completion.
func (p *FaultProxy) Requests() []ProxiedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ProxiedRequest(nil), p.requests...)
}

// parsePattern splits "METHOD /prefix" into method and prefix; a pattern
// without a method matches every method.
func parsePattern(pattern string) (method, prefix string) {
	if m, rest, ok := strings.Cut(pattern, " "); ok && !strings.HasPrefix(pattern, "/") {
		return m, rest
	}
	return "", pattern
}

// take returns the fault for r, if any, consuming one use of its rule.
func (p *FaultProxy) take(r *http.Request) (Fault, Outage, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.outage != 0 {
		return Fault{}, p.outage, false
	}
	for _, rule := range p.faults {
		if rule.left == 0 || (rule.method != "" && rule.method != r.Method) || !strings.HasPrefix(r.URL.Path, rule.prefix) {
			continue
		}
		if rule.left > 0 {
			rule.left--
		}
		return rule.fault, 0, true
	}
	return Fault{}, 0, false
}

func (p *FaultProxy) handle(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	injected := false
	defer func() {
		p.mu.Lock()
		p.requests = append(p.requests, ProxiedRequest{
			Time: time.Now(), Method: r.Method, Path: r.URL.Path, Status: rec.status, Injected: injected,
		})
		p.mu.Unlock()
	}()
	fault, outage, ok := p.take(r)
	if outage != 0 {
		injected = true
		writeBadGateway(rec)
		return
	}
	if ok && fault.AnswerFirst {
		injected = true
		p.passLater(r, fault.Delay)
		writeFault(rec, Fault{Status: http.StatusGatewayTimeout})
		return
	}
	if ok && fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if ok && fault.LoseAnswer {
		injected = true
		p.proxy.ServeHTTP(httptest.NewRecorder(), r)
		writeFault(rec, Fault{Status: http.StatusGatewayTimeout})
		return
	}
	if ok && fault.Status != 0 {
		injected = true
		if fault.RedirectTo != "" {
			rec.Header().Set("Location", strings.TrimSuffix(fault.RedirectTo, "/")+r.URL.RequestURI())
		}
		writeFault(rec, fault)
		return
	}
	p.proxy.ServeHTTP(rec, r)
}

// passLater passes a copy of r through to the target after delay, in the
// background; its answer is thrown away.
func (p *FaultProxy) passLater(r *http.Request, delay time.Duration) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	later := r.Clone(context.Background())
	go func() {
		time.Sleep(delay)
		later.Body = io.NopCloser(bytes.NewReader(body))
		p.proxy.ServeHTTP(httptest.NewRecorder(), later)
	}()
}

func writeFault(w http.ResponseWriter, f Fault) {
	body := f.Body
	if body == "" {
		errcode, msg := "M_UNKNOWN", "injected by testbed.FaultProxy"
		obj := map[string]any{}
		switch f.Status {
		case http.StatusTooManyRequests:
			errcode, msg = "M_LIMIT_EXCEEDED", "Too many requests (injected by testbed.FaultProxy)"
			obj["retry_after_ms"] = f.RetryAfter.Milliseconds()
		case http.StatusForbidden:
			errcode = "M_FORBIDDEN"
		case http.StatusNotFound:
			errcode = "M_NOT_FOUND"
		}
		obj["errcode"], obj["error"] = errcode, msg
		b, _ := json.Marshal(obj)
		body = string(b)
	}
	if f.Status == http.StatusTooManyRequests && f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
	}
	if strings.HasPrefix(body, "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(f.Status)
	io.WriteString(w, body)
}

func writeBadGateway(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadGateway)
	io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n")
}

// statusRecorder remembers the status written through it. Unwrap lets
// http.ResponseController (used by ReverseProxy to flush) reach the real
// writer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
