package puppets

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// A homeserver that refuses a leave event sent to the state endpoint (as
// one does for a room on another server, where only /leave can go
// through federation) still sees the user leave, through /leave, with
// the reason in its body. The end-to-end tests cover the state endpoint
// against Dendrite; a room on another server cannot be had here, so this
// stand-in answers in its place.
func TestLeaveFallsBackToLeaveEndpoint(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var leaveBody map[string]any
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/state/m.room.member/"):
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"not in room"}`)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/leave"):
			_ = json.NewDecoder(r.Body).Decode(&leaveBody)
			_, _ = io.WriteString(w, `{}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errcode":"M_NOT_FOUND","error":"no"}`)
		}
	}))
	defer hs.Close()

	m := matrixFor(t, hs.URL)
	as := m.AS
	ctx := context.Background()
	room := id.RoomID("!remote:elsewhere.example")
	bot := m.Bot()
	if err := as.StateStore.MarkRegistered(ctx, bot.UserID); err != nil {
		t.Fatal(err)
	}
	if err := m.Leave(ctx, bot, room, "You are not allowed to use this bridge."); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var sawState, sawLeave bool
	for _, req := range got {
		sawState = sawState || strings.HasPrefix(req, "PUT ") && strings.Contains(req, "/state/m.room.member/")
		sawLeave = sawLeave || req == "POST /_matrix/client/v3/rooms/"+string(room)+"/leave"
	}
	if !sawState || !sawLeave {
		t.Fatalf("requests %v: want the leave event tried first, then /leave", got)
	}
	if leaveBody["reason"] != "You are not allowed to use this bridge." {
		t.Errorf("/leave body %v: the reason is missing", leaveBody)
	}
	if ok := as.StateStore.IsMembership(ctx, room, bot.UserID, event.MembershipLeave); !ok {
		t.Error("the state store does not know the bot left")
	}
}

// matrixFor is a gateway to the homeserver at url (a stand-in), as the
// appservice "ferry" on example.org.
func matrixFor(t testing.TB, url string) *Matrix {
	t.Helper()
	reg := appservice.CreateRegistration()
	reg.AppToken, reg.ServerToken, reg.SenderLocalpart = "as-token", "hs-token", "ferry"
	as, err := appservice.CreateFull(appservice.CreateOpts{Registration: reg, HomeserverDomain: "example.org", HomeserverURL: url})
	if err != nil {
		t.Fatal(err)
	}
	return NewMatrix(as, zerolog.Nop())
}
