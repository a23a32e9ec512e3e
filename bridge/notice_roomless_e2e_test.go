package bridge_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/internal/testnet"
)

// Notices of a portal that has no room go to the management room of the
// user the event came for: before, they were only logged.

// TestRefusedRoomCreationIsToldInTheManagementRoom: a message for a new
// chat whose room the homeserver refuses to create is reported to alice
// in her management room, naming the chat and the homeserver's reason.
func TestRefusedRoomCreationIsToldInTheManagementRoom(t *testing.T) {
	s := newScene(t, true)
	s.openPortal(t, "before") // the login's space exists: the next createRoom is the portal's
	s.proxy.FailNext("POST /_matrix/client/v3/createRoom", 1, http.StatusForbidden)
	chat2 := network.PortalKey{Network: testnet.ID, Chat: "chat2", Receiver: "alice"}
	if err := s.cl.Handle(s.h.Context(time.Minute), textMessage(chat2, "r0", "carol", time.Now(), "no room for me")); err == nil {
		t.Fatal("the message was bridged though its room could not be created")
	}
	carol := s.h.Bridge.Ghosts.MXID(network.GhostKey{Network: testnet.ID, User: "carol"})
	notice := s.h.WaitForBotNotice(s.alice, s.mgmt, "was not bridged")
	body := notice.Content.AsMessage().Body
	for _, want := range []string{"A message from " + carol.String(), "Testnet", "“Chat chat2”", "M_FORBIDDEN"} {
		if !strings.Contains(body, want) {
			t.Errorf("notice %q lacks %q", body, want)
		}
	}
}

// TestStoredEventOfARoomlessPortalIsToldInTheManagementRoom: a stored
// event that cannot be read back, for a chat that has no room yet, is
// reported to the user of its login in their management room.
func TestStoredEventOfARoomlessPortalIsToldInTheManagementRoom(t *testing.T) {
	s := newScene(t, false)
	ctx := s.h.Context(time.Minute)
	garbled, err := json.Marshal(map[string]any{"type": "message", "event": map[string]any{"ID": 7}})
	if err != nil {
		t.Fatal(err)
	}
	chat3 := network.PortalKey{Network: testnet.ID, Chat: "chat3", Receiver: "alice"}
	row := &database.RemoteEvent{Portal: chat3, Login: "alice", Payload: garbled, ReceivedAt: time.Now()}
	if err = s.h.Bridge.DB.RemoteEvents.Insert(ctx, row); err != nil {
		t.Fatal(err)
	}
	s.h.StopBridge()
	s.h.StartBridge()
	notice := s.h.WaitForBotNotice(s.alice, s.mgmt, "was not bridged")
	body := notice.Content.AsMessage().Body
	for _, want := range []string{"An event was not bridged from Testnet", "chat3", "Ferry could not read it back"} {
		if !strings.Contains(body, want) {
			t.Errorf("notice %q lacks %q", body, want)
		}
	}
}

// TestLostEventOfARoomlessPortalIsToldInTheManagementRoom: a message for
// a new chat lost in an outage (its room could not be created, and it
// could not be kept) is reported to alice in her management room once
// the homeserver is back.
func TestLostEventOfARoomlessPortalIsToldInTheManagementRoom(t *testing.T) {
	withStoreBehind(t, time.Hour)
	withResumeAfterOutage(t, 300*time.Millisecond)
	s := newScene(t, true)
	openIdlePortal(t, s)
	db := s.h.Bridge.DB
	if db.Dialect != dbutil.SQLite {
		t.Skip("the refusing trigger is written for SQLite, the harness's database")
	}
	ctx := s.h.Context(time.Minute)
	if _, err := db.Exec(ctx, `CREATE TRIGGER ferrytest_refuse BEFORE INSERT ON remote_event
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	s.h.Bridge.Matrix.RetryFor = time.Second
	s.proxy.Down(testbed.Outage502)
	chat4 := network.PortalKey{Network: testnet.ID, Chat: "chat4", Receiver: "alice"}
	s.cl.Queue(textMessage(chat4, "l0", "dave", time.Now(), "lost 0"))
	// Long past RetryFor: the room's creation has been given up, and the store.
	time.Sleep(4 * time.Second)
	if _, err := db.Exec(ctx, `DROP TRIGGER ferrytest_refuse`); err != nil {
		t.Fatal(err)
	}
	s.proxy.Up()
	notice := s.h.WaitForBotNotice(s.alice, s.mgmt, "not bridged")
	body := notice.Content.AsMessage().Body
	if !strings.Contains(body, "A message from Testnet in the chat “Chat chat4”") || !strings.Contains(body, "Matrix could not be reached") {
		t.Errorf("notice %q does not say that a message of chat4 was lost in the outage", body)
	}
}
