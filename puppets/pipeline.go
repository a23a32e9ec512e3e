package puppets

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"
)

// A Pipeline carries one room's events to the homeserver over one
// HTTP/1.1 connection, writing each request without waiting for the
// answer to the one before (pipelining). A room's events must reach the
// homeserver in order, so without this a room sends one event per round
// trip and a burst queues in Ferry; with it the homeserver always has the
// next event in hand. The order still holds: RFC 9112 §9.3.2 has a server
// answer pipelined requests in order and process requests with unsafe
// methods one after the other, and PUT /send/{txnId} is idempotent, which
// is also what makes resending after a lost connection safe.
//
// Failures that the homeserver may get over (a lost connection, 429, 500,
// 502-504) are retried inside the pipeline, in the original order, with
// backoff: callers see only final answers, or, once their context's
// deadline passes, the last answer asking for a retry. After a failure
// the first request waiting goes alone, as a probe, and the others
// follow once it has been answered, so that a homeserver coming back
// from an outage takes the first one first. What is already written
// when a failure comes back cannot be held: if a request fails and one
// written after it is accepted (a transient error on one request, or the
// homeserver coming back in the milliseconds between the two), the
// failed one is resent and lands after it. That is the one case in
// which order can change. A request given up at its deadline because
// the homeserver could not be reached takes the requests waiting behind
// it along (giveUp), so that they are sent again after it, not before,
// and refuses the room's next requests until the portal calls Resume.
type Pipeline struct {
	dial func(ctx context.Context) (net.Conn, error)
	log  zerolog.Logger

	// wmu orders writers: a request takes its place under wmu and is
	// written in that place.
	wmu sync.Mutex

	mu sync.Mutex // guards the fields below and every pipedRequest's state
	// waiting holds requests that are not answered, in the order given.
	waiting []*pipedRequest
	conn    *pipeConn
	// retrying is set while a resend is scheduled, careful when the next
	// resend is to send a probe, probe while the probe is out; in all
	// three new requests wait in line behind the ones to be resent.
	retrying bool
	careful  bool
	probe    *pipedRequest
	backoff  time.Duration
	closed   bool
	client   *http.Client
	// held is set when a request is given up because the homeserver
	// could not be reached (giveUp), until Resume: new requests are
	// refused with errHeldBehind meanwhile (see Resume).
	held bool
	// refusing counts the refused sends whose caller has yet to deal
	// with them (pipeline_refused.go): new requests wait, not written,
	// until it is back to 0, but for those of a ghost in passing (one
	// refused whose join again has not begun). joining holds the ghosts
	// whose join has begun, until refusing is back to 0.
	refusing int
	passing  map[id.UserID]bool
	joining  map[id.UserID]bool
	// lastTurn is closed once the latest send given to the pipeline
	// through Matrix.SendMessageAhead, and every one before it, has
	// finished, in whatever way; nil before the first. A send that must
	// go through the ordinary client instead waits for it, to keep its
	// place (pipeline_redirect.go).
	lastTurn chan struct{}
}

// pipelineIdle is how long an unused connection stays open.
var pipelineIdle = 10 * time.Second

// maxPipelinedResponse bounds an answer's body: answers to sends are a
// few dozen bytes of JSON.
const maxPipelinedResponse = 1 << 20

const (
	pipelineFirstBackoff = 200 * time.Millisecond
	pipelineMaxBackoff   = 30 * time.Second
)

type pipedRequest struct {
	req  *http.Request
	body []byte
	// conn is the connection the request was last written to; nil while it
	// waits to be (re)written.
	conn      *pipeConn
	written   bool // written at least once (for the trace)
	abandoned bool
	finished  bool
	done      chan struct{}
	resp      *http.Response
	err       error
	// last is the homeserver's last answer to the request, one asking for
	// a retry (lastBody its body); nil when it has had none, or when the
	// connection was lost since. A request given up at its deadline ends
	// with it, as Retry ends with its last attempt's error: the caller
	// tells a homeserver that fails on the event (500) from one that is
	// not there by it.
	last     *http.Response
	lastBody []byte
	// afterRefusal: the request came while a refused send was being
	// retried (refusing), and waits for that to be done.
	afterRefusal bool
}

type pipeConn struct {
	nc net.Conn
	bw *bufio.Writer
	br *bufio.Reader
	// inflight are the requests written to this connection and not yet
	// answered, in the order written, which is the order of the answers.
	inflight []*pipedRequest
	reading  bool
	broken   bool
	idle     *time.Timer
}

// NewPipeline makes a pipeline to the homeserver at base (http or https).
// It holds no connection until the first request.
func NewPipeline(base string, tlsConfig *tls.Config, log zerolog.Logger) (*Pipeline, error) {
	dial, err := pipelineDialer(base, tlsConfig)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{dial: dial, log: log, backoff: pipelineFirstBackoff}
	// No timeout: the caller's context bounds the wait, and a request cut
	// off by a timeout would leave its answer unmatched. No redirects
	// followed: the request after one would take a second place in the
	// room's order (and tell the caller twice that it has one), behind
	// what was sent since; a redirect is the send's answer, and switches
	// pipelining off (pipeline_redirect.go).
	p.client = &http.Client{Transport: p, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return p, nil
}

func (p *Pipeline) httpClient() *http.Client { return p.client }

// RoundTrip sends req in the pipeline and waits for its final answer.
// Once it has taken its place, it calls the function placed in the
// request's context (see withPlaced): the next request may then start.
func (p *Pipeline) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readRequestBody(req)
	if err != nil {
		notifyPlaced(req.Context())
		return nil, err
	}
	pr := &pipedRequest{req: req, body: body, done: make(chan struct{})}
	p.wmu.Lock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wmu.Unlock()
		notifyPlaced(req.Context())
		return nil, errors.New("pipeline closed")
	}
	if p.held {
		p.mu.Unlock()
		p.wmu.Unlock()
		notifyPlaced(req.Context())
		return nil, errHeldBehind
	}
	pr.afterRefusal = p.waitsForRefusalLocked(refusalHoldOf(req.Context()).user)
	p.waiting = append(p.waiting, pr)
	hold := p.retrying || p.careful || p.probe != nil || pr.afterRefusal
	p.mu.Unlock()
	notifyPlaced(req.Context())
	if !hold {
		p.writeLocked(pr)
	}
	p.wmu.Unlock()
	select {
	case <-pr.done:
		return pr.resp, pr.err
	case <-req.Context().Done():
		return p.giveUp(pr, req.Context().Err())
	}
}

// errHeldBehind fails a request that waited behind one given up because
// the homeserver could not be reached, or that came after it, before
// Resume (see giveUp).
var errHeldBehind = errors.New("an earlier event of the room could not be sent")

// errSendHeldBehind is the outcome of a send that the ordinary client
// does not make while its pipeline is held (sendInTurn, and a refused
// pipelined send's retry): unreachable, as the send given up before it,
// so that its portal keeps it behind that one.
var errSendHeldBehind = fmt.Errorf("send event: %w: %w", ErrUnreachable, errHeldBehind)

// giveUp ends pr, whose context ended with ctxErr: its caller stops
// waiting. At its deadline it ends with its last answer, if it had one.
//
// A request given up at its deadline because the homeserver could not be
// reached (no answer, 429, 502-504) is not lost: the portal keeps it and
// sends it again later (portals' durable_outage.go). The requests behind
// it that are waiting to be written must not go before it, so they are
// given up with it, with errHeldBehind, to be kept with it and sent again
// after it. (One already written cannot be called back.) Until the
// portal has marked its backlog as held for the homeserver, it may still
// hand over an event it took before it heard of this: the pipeline is
// held (see Resume), so that such an event is refused too, rather than
// written and perhaps taken by a homeserver back in the meantime, ahead
// of the one given up. That window is there whether or not requests were
// waiting behind this one, so the pipeline is held either way.
func (p *Pipeline) giveUp(pr *pipedRequest, ctxErr error) (*http.Response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.finished {
		return pr.resp, pr.err // answered meanwhile
	}
	deadline := errors.Is(ctxErr, context.DeadlineExceeded)
	if deadline && (pr.last == nil || unreachableStatus(pr.last.StatusCode)) {
		if !p.held {
			p.log.Warn().Msg("A send was given up for an unreachable homeserver; holding the room's next sends until the portal resumes")
		}
		p.held = true
		behind := false
		for _, w := range append([]*pipedRequest(nil), p.waiting...) {
			if w == pr {
				behind = true
			} else if behind && w.conn == nil && !w.abandoned {
				p.finishLocked(w, nil, errHeldBehind)
				p.unprobeLocked(w)
			}
		}
	}
	p.abandonLocked(pr)
	if !deadline || pr.last == nil {
		return nil, ctxErr
	}
	resp := *pr.last
	resp.Body = io.NopCloser(bytes.NewReader(pr.lastBody))
	return &resp, nil
}

// Held says whether the pipeline refuses new requests because one was
// given up for an unreachable homeserver (see giveUp).
func (p *Pipeline) Held() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// Resume lets new requests in again after a request was given up for an
// unreachable homeserver. The portal calls it once the events it kept
// are to be sent again, or once it knows that it kept none (the event
// given up could not be stored): from then on its own record of the
// outage orders what follows.
func (p *Pipeline) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = false
}

// writeLocked writes pr to the current connection, dialling one if
// needed. wmu must be held. A failure schedules a resend of everything
// unanswered.
func (p *Pipeline) writeLocked(pr *pipedRequest) {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		nc, err := p.dial(ctx)
		cancel()
		if err != nil {
			p.log.Warn().Err(err).Msg("Failed to connect to the homeserver for sending")
			p.mu.Lock()
			pr.last = nil // this attempt got no answer
			if p.probe == pr {
				p.probe = nil
			}
			p.scheduleRetryLocked()
			p.mu.Unlock()
			return
		}
		c = &pipeConn{nc: nc, bw: bufio.NewWriterSize(nc, 4096), br: bufio.NewReaderSize(nc, 4096)}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = nc.Close()
			return
		}
		p.conn = c
		p.mu.Unlock()
	}
	p.mu.Lock()
	if pr.abandoned || pr.finished {
		p.mu.Unlock()
		return
	}
	if pr.afterRefusal {
		// Held since it was taken to be written, for a refusal read
		// meanwhile: refusalDealtWith writes it (pipeline_refused.go).
		if p.probe == pr {
			p.probe = nil
		}
		p.mu.Unlock()
		return
	}
	if c.broken {
		// Lost between the two locks: resent with the others.
		if p.probe == pr {
			p.probe = nil
		}
		p.scheduleRetryLocked()
		p.mu.Unlock()
		return
	}
	pr.conn = c
	c.inflight = append(c.inflight, pr)
	if c.idle != nil {
		c.idle.Stop()
	}
	if !c.reading {
		c.reading = true
		go p.read(c)
	}
	first := !pr.written
	pr.written = true
	p.mu.Unlock()

	// The request is rebuilt for every attempt: Write consumes the body.
	out := pr.req.Clone(pr.req.Context())
	out.Body = io.NopCloser(bytes.NewReader(pr.body))
	out.ContentLength = int64(len(pr.body))
	err := out.Write(c.bw)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		p.connFailed(c, fmt.Errorf("write: %w", err))
		return
	}
	if trace := httptrace.ContextClientTrace(pr.req.Context()); first && trace != nil && trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
}

// read reads the answers on c in order, while any are due.
func (p *Pipeline) read(c *pipeConn) {
	for {
		p.mu.Lock()
		if c.broken || len(c.inflight) == 0 {
			c.reading = false
			if !c.broken && p.conn == c {
				c.idle = time.AfterFunc(pipelineIdle, func() { p.closeIdle(c) })
			}
			p.mu.Unlock()
			return
		}
		pr := c.inflight[0]
		p.mu.Unlock()

		resp, err := readPipelinedResponse(c.br, pr.req)
		if err != nil {
			p.connFailed(c, err)
			continue
		}
		p.mu.Lock()
		if len(c.inflight) > 0 && c.inflight[0] == pr {
			c.inflight = c.inflight[1:]
		}
		if retryableStatus(resp.StatusCode) && !pr.abandoned {
			// Asked again in line, after a pause; meanwhile the
			// answers to later requests are still read.
			pr.conn = nil
			if p.probe == pr {
				p.probe = nil
			}
			// readPipelinedResponse read the body whole: this cannot fail.
			pr.lastBody, _ = io.ReadAll(resp.Body)
			pr.last = resp
			if wait := retryAfter(resp, pr.lastBody); wait > p.backoff {
				p.backoff = min(wait, pipelineMaxBackoff)
			}
			p.log.Warn().Int("status", resp.StatusCode).Msg("Homeserver asked to retry a send; retrying in order")
			p.scheduleRetryLocked()
		} else {
			p.backoff = pipelineFirstBackoff
			p.holdForRefusalLocked(pr, resp)
			p.finishLocked(pr, resp, nil)
			if p.probe == pr {
				// The homeserver is back: the rest follow, pipelined,
				// and a new request waits behind them until they are
				// written (retrying holds it, as while a resend is due).
				p.probe = nil
				p.retrying = true
				go p.resend()
			}
		}
		closing := resp.Close
		p.mu.Unlock()
		if closing {
			p.connFailed(c, errors.New("the homeserver closed the connection"))
		}
	}
}

// connFailed drops c; whatever was written to it and not answered is
// resent in order, since the homeserver may not have seen it.
func (p *Pipeline) connFailed(c *pipeConn, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.broken {
		return
	}
	c.broken = true
	_ = c.nc.Close()
	if p.conn == c {
		p.conn = nil
	}
	lost := 0
	if p.probe != nil && p.probe.conn == c {
		p.probe = nil
	}
	for _, pr := range c.inflight {
		if pr.abandoned {
			p.removeLocked(pr)
			continue
		}
		pr.conn = nil
		pr.last = nil // this attempt got no answer
		lost++
	}
	c.inflight = nil
	if lost > 0 {
		p.log.Warn().Err(err).Int("unanswered", lost).Msg("Lost the connection to the homeserver while sending; resending in order")
		p.scheduleRetryLocked()
	}
}

func (p *Pipeline) scheduleRetryLocked() {
	if p.retrying || p.closed {
		return
	}
	p.retrying = true
	p.careful = true
	wait := p.backoff
	p.backoff = min(p.backoff*2, pipelineMaxBackoff)
	time.AfterFunc(wait, p.resend)
}

// resend writes, in order, every request that waits to be written.
func (p *Pipeline) resend() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	p.retrying = false
	if p.probe != nil {
		// Still out; its answer calls resend again.
		p.mu.Unlock()
		return
	}
	var again []*pipedRequest
	for _, pr := range p.waiting {
		if pr.conn == nil && !pr.abandoned && !pr.afterRefusal {
			again = append(again, pr)
		}
	}
	if p.careful && len(again) > 0 {
		again = again[:1]
		p.probe = again[0]
	}
	p.careful = false
	p.mu.Unlock()
	for _, pr := range again {
		p.writeLocked(pr)
		p.mu.Lock()
		stop := p.retrying
		p.mu.Unlock()
		if stop {
			// The connection failed again: the next resend takes the rest.
			return
		}
	}
}

// abandonLocked forgets a request whose caller stopped waiting. One
// already written stays on its connection until answered, so the answers
// stay matched.
func (p *Pipeline) abandonLocked(pr *pipedRequest) {
	pr.abandoned = true
	if pr.conn == nil {
		p.removeLocked(pr)
		p.unprobeLocked(pr)
	}
}

// unprobeLocked lets the next request go as the probe if pr, ended before
// it was written, was to be it.
func (p *Pipeline) unprobeLocked(pr *pipedRequest) {
	if p.probe == pr {
		p.probe = nil
		p.retrying = true // new requests wait behind the resend
		go p.resend()
	}
}

func (p *Pipeline) finishLocked(pr *pipedRequest, resp *http.Response, err error) {
	p.removeLocked(pr)
	if pr.finished {
		return
	}
	pr.finished = true
	pr.resp, pr.err = resp, err
	close(pr.done)
}

func (p *Pipeline) removeLocked(pr *pipedRequest) {
	for i, w := range p.waiting {
		if w == pr {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			return
		}
	}
}

// closeIdle closes c if it is still unused.
func (p *Pipeline) closeIdle(c *pipeConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.reading || len(c.inflight) > 0 || c.broken {
		return
	}
	c.broken = true
	_ = c.nc.Close()
	if p.conn == c {
		p.conn = nil
	}
}

// Close closes the connection; requests still waiting fail.
func (p *Pipeline) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if c := p.conn; c != nil {
		c.broken = true
		_ = c.nc.Close()
		p.conn = nil
	}
	for _, pr := range append([]*pipedRequest(nil), p.waiting...) {
		p.finishLocked(pr, nil, errors.New("pipeline closed"))
	}
}

// Idle says whether the pipeline has nothing to send or wait for.
func (p *Pipeline) Idle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiting) == 0
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter is the wait a 429 or 503 (with body data) asks for
// (askedWait); 0 if it asks for none.
func retryAfter(resp *http.Response, data []byte) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	var body struct {
		RetryAfterMS float64 `json:"retry_after_ms"`
	}
	_ = json.Unmarshal(data, &body) // not JSON: no wait in it
	wait, _ := askedWait(resp.Header, body.RetryAfterMS)
	return wait
}

func readRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return body, nil
}

// readPipelinedResponse reads one whole answer, so that the next one can
// be read after it.
func readPipelinedResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPipelinedResponse+1))
	if err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	if len(body) > maxPipelinedResponse {
		return nil, fmt.Errorf("response body over %d bytes", maxPipelinedResponse)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// pipelineDialer dials the homeserver of base: TCP for http, TLS offering
// only HTTP/1.1 for https (HTTP/2 multiplexes, which would lose the order).
func pipelineDialer(base string, tlsConfig *tls.Config) (func(ctx context.Context) (net.Conn, error), error) {
	req, err := http.NewRequest(http.MethodGet, base, nil)
	if err != nil {
		return nil, fmt.Errorf("homeserver address: %w", err)
	}
	u := req.URL
	var d net.Dialer
	switch u.Scheme {
	case "http":
		addr := hostPort(u.Host, "80")
		return func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }, nil
	case "https":
		addr := hostPort(u.Host, "443")
		cfg := &tls.Config{}
		if tlsConfig != nil {
			cfg = tlsConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		return func(ctx context.Context) (net.Conn, error) {
			td := tls.Dialer{NetDialer: &d, Config: cfg}
			return td.DialContext(ctx, "tcp", addr)
		}, nil
	}
	return nil, fmt.Errorf("homeserver address %q: pipelining needs http or https", base)
}

func hostPort(host, port string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(host, port)
}

type placedKey struct{}

// withPlaced makes placed run once the request has taken its place in a
// pipeline (or failed before that).
func withPlaced(ctx context.Context, placed func()) context.Context {
	return context.WithValue(ctx, placedKey{}, placed)
}

func notifyPlaced(ctx context.Context) {
	if f, ok := ctx.Value(placedKey{}).(func()); ok {
		f()
	}
}
