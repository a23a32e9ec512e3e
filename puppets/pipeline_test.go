package puppets

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"
)

// rawServer accepts connections and hands each to serve, one at a time,
// so that a test can script exactly what the homeserver's side does.
func rawServer(t *testing.T, serve ...func(net.Conn, *bufio.Reader)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for _, fn := range serve {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fn(c, bufio.NewReader(c))
			c.Close()
		}
	}()
	return "http://" + l.Addr().String()
}

// readRequests reads n requests off a connection and returns their paths.
func readRequests(t *testing.T, br *bufio.Reader, n int) []string {
	var paths []string
	for range n {
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Errorf("server: reading request %d: %v", len(paths)+1, err)
			return paths
		}
		_, _ = io.Copy(io.Discard, req.Body)
		paths = append(paths, req.URL.Path)
	}
	return paths
}

func answer(c net.Conn, status int, body string) {
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}

func newTestPipeline(t *testing.T, base string) *Pipeline {
	t.Helper()
	p, err := NewPipeline(base, nil, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// roomPipeline is m's pipeline for room, closed when the test ends (after
// its defers, before the cleanups registered ahead of it, such as its
// homeserver's). The test fails if m gives none (pipelining not enabled).
func roomPipeline(t *testing.T, m *Matrix, room id.RoomID) *Pipeline {
	t.Helper()
	pipe := m.NewPipeline(room)
	if pipe == nil {
		t.Fatal("no pipeline")
	}
	t.Cleanup(pipe.Close)
	return pipe
}

type answerOf struct {
	status int
	body   string
	err    error
}

// sendInOrder starts one PUT per name, each once the one before has its
// place, as a portal does, and collects the answers by name.
func sendInOrder(ctx context.Context, t *testing.T, p *Pipeline, base string, names ...string) map[string]answerOf {
	t.Helper()
	var mu sync.Mutex
	got := map[string]answerOf{}
	var wg sync.WaitGroup
	for _, name := range names {
		placed := make(chan struct{})
		reqCtx := withPlaced(ctx, func() { close(placed) })
		req, err := http.NewRequestWithContext(reqCtx, http.MethodPut, base+"/send/"+name, strings.NewReader(`{"body":"`+name+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := answerOf{}
			resp, err := p.httpClient().Do(req)
			if err != nil {
				a.err = err
			} else {
				data, _ := io.ReadAll(resp.Body)
				a.status, a.body = resp.StatusCode, string(data)
			}
			mu.Lock()
			got[name] = a
			mu.Unlock()
		}()
		<-placed
	}
	wg.Wait()
	return got
}

func expectAnswers(t *testing.T, got map[string]answerOf, names ...string) {
	t.Helper()
	for _, name := range names {
		a := got[name]
		if a.err != nil || a.status != http.StatusOK || a.body != `{"event_id":"$`+name+`"}` {
			t.Errorf("request %s: got %d %q (err %v), want its own answer", name, a.status, a.body, a.err)
		}
	}
}

// TestPipelineWritesBeforeAnswers: the server answers only once it holds
// all five requests, which only pipelining gets it; each caller gets the
// answer to its own request.
func TestPipelineWritesBeforeAnswers(t *testing.T) {
	names := []string{"1", "2", "3", "4", "5"}
	base := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		paths := readRequests(t, br, len(names))
		for _, path := range paths {
			answer(c, http.StatusOK, `{"event_id":"$`+strings.TrimPrefix(path, "/send/")+`"}`)
		}
		_, _ = io.Copy(io.Discard, br)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	expectAnswers(t, sendInOrder(ctx, t, newTestPipeline(t, base), base, names...), names...)
}

// TestPipelineResendsInOrderAfterLostConnection: the server answers the
// first of three requests and drops the connection; the other two are
// written again, in their order, on a new connection: the first alone as
// a probe, then the other.
func TestPipelineResendsInOrderAfterLostConnection(t *testing.T) {
	var second []string
	base := rawServer(t,
		func(c net.Conn, br *bufio.Reader) {
			readRequests(t, br, 3)
			answer(c, http.StatusOK, `{"event_id":"$1"}`)
		},
		func(c net.Conn, br *bufio.Reader) {
			for range 2 {
				path := readRequests(t, br, 1)
				second = append(second, path...)
				for _, path := range path {
					answer(c, http.StatusOK, `{"event_id":"$`+strings.TrimPrefix(path, "/send/")+`"}`)
				}
			}
			_, _ = io.Copy(io.Discard, br)
		})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := sendInOrder(ctx, t, newTestPipeline(t, base), base, "1", "2", "3")
	expectAnswers(t, got, "1", "2", "3")
	if strings.Join(second, " ") != "/send/2 /send/3" {
		t.Errorf("resent on the new connection: %q, want /send/2 then /send/3", second)
	}
}

// TestPipelineRetriesInOrderWhileTheHomeserverIsUnavailable: a proxy
// answers 503 while its homeserver restarts; every request is retried
// and the homeserver, once back, accepts them in the order sent. A real
// net/http server stands in for the proxy: it handles a connection's
// pipelined requests one after the other, as RFC 9112 asks.
func TestPipelineRetriesInOrderWhileTheHomeserverIsUnavailable(t *testing.T) {
	var (
		mu       sync.Mutex
		down     = true
		refused  = make(chan struct{}, 100)
		accepted []string
		conns    int
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/send/")
		mu.Lock()
		defer mu.Unlock()
		if down {
			refused <- struct{}{}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		accepted = append(accepted, name)
		fmt.Fprintf(w, `{"event_id":"$%s"}`, name)
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	names := []string{"a", "b", "c", "d"}
	go func() {
		// Back once every request was refused at least once.
		for range names {
			<-refused
		}
		mu.Lock()
		down = false
		mu.Unlock()
	}()
	got := sendInOrder(ctx, t, newTestPipeline(t, srv.URL), srv.URL, names...)
	expectAnswers(t, got, names...)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(accepted, "") != "abcd" {
		t.Errorf("the homeserver accepted %q, want abcd in order", accepted)
	}
	if conns != 1 {
		t.Errorf("%d connections, want the one pipeline connection", conns)
	}
}

// TestPipelineKeepsAnswersMatchedWhenACallerGivesUp: a caller whose
// context ends stops waiting, but its request stays in line on the
// connection, so the next caller still gets its own answer.
func TestPipelineKeepsAnswersMatchedWhenACallerGivesUp(t *testing.T) {
	gaveUp := make(chan struct{})
	base := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		readRequests(t, br, 2)
		<-gaveUp
		answer(c, http.StatusOK, `{"event_id":"$1"}`)
		answer(c, http.StatusOK, `{"event_id":"$2"}`)
		_, _ = io.Copy(io.Discard, br)
	})
	p := newTestPipeline(t, base)
	ctx1, cancel1 := context.WithCancel(context.Background())
	placed := make(chan struct{})
	req1, _ := http.NewRequestWithContext(withPlaced(ctx1, func() { close(placed) }), http.MethodPut, base+"/send/1", strings.NewReader("{}"))
	first := make(chan error, 1)
	go func() {
		_, err := p.httpClient().Do(req1)
		first <- err
	}()
	<-placed
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	second := make(chan map[string]answerOf, 1)
	go func() { second <- sendInOrder(ctx, t, p, base, "2") }()
	cancel1()
	if err := <-first; err == nil {
		t.Error("the first caller gave up but got an answer")
	}
	close(gaveUp)
	expectAnswers(t, <-second, "2")
}

// TestPipelineOrderThroughAServer: a burst through a real net/http
// server reaches its handler in the order sent, over one connection.
func TestPipelineOrderThroughAServer(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/send/")
		mu.Lock()
		seen = append(seen, name)
		mu.Unlock()
		fmt.Fprintf(w, `{"event_id":"$%s"}`, name)
	}))
	defer srv.Close()
	var names []string
	for i := range 200 {
		names = append(names, fmt.Sprint(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := sendInOrder(ctx, t, newTestPipeline(t, srv.URL), srv.URL, names...)
	expectAnswers(t, got, names...)
	if strings.Join(seen, ",") != strings.Join(names, ",") {
		t.Errorf("the server saw the burst as %v", seen)
	}
}

// TestPipelineRefusesOtherSchemes: only http and https can be pipelined.
func TestPipelineRefusesOtherSchemes(t *testing.T) {
	if _, err := NewPipeline("unix:///run/hs.sock", nil, zerolog.Nop()); err == nil {
		t.Error("a unix socket address was accepted")
	}
}

// TestRequestsAfterTheProbeWaitTheirTurn: once the probe is answered,
// the requests waiting to be resent go first. A new request that took its
// place between the probe's answer and the resend was written ahead of
// them, and the homeserver took the room's events out of order.
func TestRequestsAfterTheProbeWaitTheirTurn(t *testing.T) {
	var (
		mu       sync.Mutex
		accepted []string
		upAt     = time.Now().Add(100 * time.Millisecond)
		probeIn  = make(chan struct{})
		release  = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/send/")
		if time.Now().Before(upAt) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		accepted = append(accepted, name)
		first := len(accepted) == 1
		mu.Unlock()
		if first {
			close(probeIn)
			<-release
		}
		fmt.Fprintf(w, `{"event_id":"$%s"}`, name)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := newTestPipeline(t, srv.URL)
	send := func(name string) (placed chan struct{}, done chan answerOf) {
		placed, done = make(chan struct{}), make(chan answerOf, 1)
		req, _ := http.NewRequestWithContext(withPlaced(ctx, func() { close(placed) }), http.MethodPut, srv.URL+"/send/"+name, strings.NewReader(`{}`))
		go func() {
			resp, err := p.httpClient().Do(req)
			a := answerOf{err: err}
			if err == nil {
				data, _ := io.ReadAll(resp.Body)
				a.status, a.body = resp.StatusCode, string(data)
			}
			done <- a
		}()
		return placed, done
	}
	placedA, doneA := send("A")
	<-placedA
	placedB, doneB := send("B")
	<-placedB
	<-probeIn // A and B were refused; A went again as the probe and is in
	// A request for C takes its place while the probe's answer comes.
	p.wmu.Lock()
	_, doneC := send("C")
	time.Sleep(50 * time.Millisecond)
	close(release)
	for {
		p.mu.Lock()
		cleared := p.probe == nil
		p.mu.Unlock()
		if cleared {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the resend now waits for wmu, behind C
	p.wmu.Unlock()
	for _, d := range []chan answerOf{doneA, doneB, doneC} {
		if a := <-d; a.err != nil || a.status != http.StatusOK {
			t.Fatalf("answer %+v", a)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(accepted, "") != "ABC" {
		t.Fatalf("the homeserver took %q, want ABC: C went ahead of B, which was waiting to be resent", accepted)
	}
}

// downHomeserver answers every send with 503 until up, then takes it
// and records its name (the path after /send/).
type downHomeserver struct {
	*httptest.Server
	mu       sync.Mutex
	down     bool
	accepted []string
	// stall, when set, makes a send that comes while the homeserver is
	// down wait for up and then be taken, as a send written just before
	// its deadline whose answer comes only after the homeserver is back.
	stall bool
	isUp  chan struct{} // closed by up
}

func newDownHomeserver(t *testing.T) *downHomeserver {
	h := &downHomeserver{down: true, isUp: make(chan struct{})}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/send/")
		h.mu.Lock()
		if h.down && h.stall {
			h.mu.Unlock()
			<-h.isUp
			h.mu.Lock()
		}
		defer h.mu.Unlock()
		if h.down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.accepted = append(h.accepted, name)
		fmt.Fprintf(w, `{"event_id":"$%s"}`, name)
	}))
	t.Cleanup(h.Close)
	t.Cleanup(h.up) // before Close: no stalled send left waiting
	return h
}

// up brings the homeserver back.
func (h *downHomeserver) up() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		h.down = false
		close(h.isUp)
	}
}

// taken is the names of the sends taken so far, in order.
func (h *downHomeserver) taken() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.accepted...)
}

// takenOnce is taken with each name once, where it was first taken: a
// homeserver takes one transaction once, and a send given up and kept by
// its portal is sent again with its transaction ID, so the copy of one
// written before it was given up and taken after is no second event.
func (h *downHomeserver) takenOnce() []string {
	var once []string
	for _, name := range h.taken() {
		if !slices.Contains(once, name) {
			once = append(once, name)
		}
	}
	return once
}
