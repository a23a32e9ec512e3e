package bridge_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
)

// txnGate stands between Dendrite and Ferry's appservice API. While
// closed, it holds each transaction until let through (see pass).
type txnGate struct {
	proxy *httputil.ReverseProxy

	mu     sync.Mutex
	closed bool
	held   []*heldTxn
	wake   chan struct{}
}

type heldTxn struct {
	body string
	pass chan struct{}
	done chan struct{}
}

func newTxnGate(t *testing.T, target string) (*txnGate, string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &txnGate{proxy: httputil.NewSingleHostReverseProxy(u), wake: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(func() {
		g.open()
		srv.Close()
	})
	return g, srv.URL
}

func (g *txnGate) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	if !g.closed || !strings.Contains(r.URL.Path, "/transactions/") {
		g.mu.Unlock()
		g.proxy.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := &heldTxn{body: string(body), pass: make(chan struct{}), done: make(chan struct{})}
	g.held = append(g.held, h)
	close(g.wake)
	g.wake = make(chan struct{})
	g.mu.Unlock()
	<-h.pass
	g.proxy.ServeHTTP(w, r)
	close(h.done)
}

func (g *txnGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
}

// open lets everything through, held or not.
func (g *txnGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = false
	for _, h := range g.held {
		select {
		case <-h.pass:
		default:
			close(h.pass)
		}
	}
	g.held = nil
}

// waitFor returns the held transaction whose body contains s. Those
// held before it carry earlier events and are let through: the
// homeserver sends one transaction at a time, so holding one of them
// would keep s from ever coming.
func (g *txnGate) waitFor(t *testing.T, s string) *heldTxn {
	t.Helper()
	deadline := time.After(waitLong)
	for {
		g.mu.Lock()
		for _, h := range g.held {
			if strings.Contains(h.body, s) {
				g.mu.Unlock()
				return h
			}
			select {
			case <-h.pass:
			default:
				close(h.pass)
			}
		}
		wake := g.wake
		g.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("no transaction with %s came", s)
		}
	}
}

// TestOwnStateIsNotUndoneByAnOlderEvent: alice (a moderator) makes the
// room public; before her change reaches Ferry, Ferry (as the bot)
// makes it invite-only, and mautrix records that in the state store at
// once. Alice's older change then arrives, in a transaction of its own,
// before Ferry's echo: the state store must keep Ferry's newer rule, as
// the room does.
func TestOwnStateIsNotUndoneByAnOlderEvent(t *testing.T) {
	s, gate, room := gatedPortal(t, true)
	ctx := s.h.Context(2 * time.Minute)

	gate.close()
	defer gate.open()
	older, err := s.alice.SendStateEvent(ctx, room, event.StateJoinRules, "", &event.JoinRulesEventContent{JoinRule: event.JoinRulePublic})
	if err != nil {
		t.Fatal(err)
	}
	held := gate.waitFor(t, older.EventID.String())
	// Ferry's change, after hers; Dendrite keeps its echo for the next
	// transaction, behind the held one.
	newer, err := s.h.Bridge.Matrix.SendState(ctx, s.h.Bridge.Matrix.Bot(), room, event.StateJoinRules, "", &event.JoinRulesEventContent{JoinRule: event.JoinRuleInvite})
	if err != nil {
		t.Fatal(err)
	}
	s.alice.WaitForEvent(t, room, waitLong, func(evt *event.Event) bool { return evt.ID == newer })
	close(held.pass)
	<-held.done // Ferry has taken alice's change

	stored, err := s.h.Bridge.AS.StateStore.GetJoinRules(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if stored == nil || stored.JoinRule != event.JoinRuleInvite {
		t.Errorf("before Ferry's echo, the state store has the join rule %v; the room's newest (Ferry's) is invite", stored)
	}

	echo := gate.waitFor(t, newer.String())
	close(echo.pass)
	<-echo.done
	stored, err = s.h.Bridge.AS.StateStore.GetJoinRules(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if stored == nil || stored.JoinRule != event.JoinRuleInvite {
		t.Errorf("after Ferry's echo, the state store has the join rule %v; want invite", stored)
	}
}
