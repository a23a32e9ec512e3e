package whatsapp

import (
	"context"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// newGroupWithCarol sets up a simScene in which Bob makes the group
// "Climbing" with Alice and Carol and sends "Saturday at ten?" to it;
// Alice has not joined its portal yet. ctx, ending after two minutes, is
// for the rest of the test.
func newGroupWithCarol(t *testing.T) (s *simScene, bob, carol *contact, group *types.GroupInfo, ctx context.Context) {
	t.Helper()
	s = newSimScene(t)
	bob = newContact(t, s.sim, "4915100000002", "Bob")
	carol = newContact(t, s.sim, "4915100000003", "Carol")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	group, err := bob.cli.CreateGroup(ctx, whatsmeow.ReqCreateGroup{
		Name: "Climbing", Participants: []types.JID{s.alicePhone.JID(), carol.phone.JID()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = bob.cli.SendMessage(ctx, group.JID, &waE2E.Message{Conversation: proto.String("Saturday at ten?")}); err != nil {
		t.Fatal(err)
	}
	return s, bob, carol, group, ctx
}
