package whatsapp

import (
	"context"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/testbed"
	"github.com/ferrybridge/ferry/whatsapp/wasim"
)

// sharedGroup is a simScene in which Dave uses Ferry too, and Bob's
// group has Alice and Dave in it: Alice is in its portal and has seen
// Bob's first message there.
type sharedGroup struct {
	*simScene
	dave      *testbed.Client
	daveMgmt  id.RoomID
	davePhone *wasim.Phone
	bob       *contact
	bobGhost  id.UserID
	group     *types.GroupInfo
	room      id.RoomID
}

// newSharedGroup sets up a sharedGroup with a group named name, Bob's
// first message in it first; ctx, ending after timeout (counted once
// both logins are in), is for the rest of the test.
func newSharedGroup(t *testing.T, timeout time.Duration, name, first string) (*sharedGroup, context.Context) {
	t.Helper()
	g := &sharedGroup{simScene: newSimScene(t)}
	g.davePhone = newPhone(t, g.sim, "4915100000004", "Dave")
	g.dave = g.h.User("dave")
	g.daveMgmt = g.h.ManagementRoom(g.dave)
	g.loginByQR(t, g.dave, g.daveMgmt, g.davePhone)
	g.bob = newContact(t, g.sim, "4915100000002", "Bob")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)

	var err error
	g.group, err = g.bob.cli.CreateGroup(ctx, whatsmeow.ReqCreateGroup{
		Name: name, Participants: []types.JID{g.alicePhone.JID(), g.davePhone.JID()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = g.bob.cli.SendMessage(ctx, g.group.JID, &waE2E.Message{Conversation: proto.String(first)}); err != nil {
		t.Fatal(err)
	}
	g.room = joinPortal(t, g.alice, g.mgmt)
	g.bobGhost = ghostOf(g.bob.phone.JID().User)
	g.alice.WaitForEvent(t, g.room, simWait, saysText(g.bobGhost, first))
	return g, ctx
}
