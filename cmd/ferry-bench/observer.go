package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ferrybridge/ferry/internal/localhs"
)

// observer is a second appservice registered in the bench's Dendrite that
// does nothing but note when each event's transaction arrives. Its
// namespace claims every room ID (non-exclusively), which makes Dendrite
// push every room event to it, the bench room's included, through the
// same appservice machinery that pushes them to Ferry. So "Matrix client
// send -> transaction at the observer" is Dendrite's own push latency,
// measured in the same run as Ferry's path: the baseline Ferry's Matrix ->
// IRC latency is compared with.
type observer struct {
	srv     *http.Server
	addr    string
	hsToken string

	log pushLog
}

// observerNamespace is printed with the results.
const observerNamespace = `rooms: [{exclusive: false, regex: "!.*"}]`

func needsObserver(s *settings) bool {
	return s.Scenario == "matrix-to-irc" || s.Scenario == "throughput" || s.Observe
}

// startObserver listens on a free loopback port and writes its
// registration file to regPath.
func startObserver(regPath string) (*observer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("observer: %w", err)
	}
	o := &observer{addr: ln.Addr().String(), hsToken: localhs.RandomHex(16)}
	reg := fmt.Sprintf(`id: bench-observer
url: http://%s
as_token: %s
hs_token: %s
sender_localpart: benchobserver
rate_limited: false
namespaces:
    users: [{exclusive: true, regex: "@benchobserver_.*:localhost"}]
    %s
`, o.addr, localhs.RandomHex(16), o.hsToken, observerNamespace)
	if err := os.WriteFile(regPath, []byte(reg), 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /_matrix/app/v1/transactions/{txn}", o.transaction)
	mux.HandleFunc("PUT /transactions/{txn}", o.transaction)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		// User and alias queries: nothing of ours exists.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND"}`)
	})
	o.srv = &http.Server{Handler: mux}
	go func() { _ = o.srv.Serve(ln) }()
	return o, nil
}

func (o *observer) describe() string {
	return "second appservice at " + o.addr + ", " + observerNamespace
}

func (o *observer) transaction(w http.ResponseWriter, r *http.Request) {
	at := time.Now() // before reading the body: the push has arrived
	if !strings.HasSuffix(r.Header.Get("Authorization"), " "+o.hsToken) && r.URL.Query().Get("access_token") != o.hsToken {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if body, err := io.ReadAll(r.Body); err == nil {
		o.log.record(body, at)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, "{}")
}

// arrival is when a message with body first reached the observer.
func (o *observer) arrival(body string) (time.Time, bool) { return o.log.arrival(body) }

func (o *observer) close() { _ = o.srv.Close() }
