package wasim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

type trio struct {
	alicePhone, bobPhone, carolPhone *Phone
	alice, bob, carol                *client
}

func newTrio(e *env) *trio {
	tr := &trio{
		alicePhone: e.phone("15550001111", "Alice"),
		bobPhone:   e.phone("15550002222", "Bob"),
		carolPhone: e.phone("15550003333", "Carol"),
		alice:      e.newClient("alice"),
		bob:        e.newClient("bob"),
		carol:      e.newClient("carol"),
	}
	e.pair(tr.alice, tr.alicePhone)
	e.pair(tr.bob, tr.bobPhone)
	e.pair(tr.carol, tr.carolPhone)
	return tr
}

func memberLIDs(info *types.GroupInfo) []types.JID {
	var out []types.JID
	for _, p := range info.Participants {
		out = append(out, p.LID)
	}
	slices.SortFunc(out, func(a, b types.JID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// TestGroupOfThree: Alice creates a group with Bob and Carol (by phone
// number); both learn of it (JoinedGroup), see all three members with
// LIDs and phone numbers (group info, joined groups), and both decrypt
// Alice's group message (sender keys distributed through pairwise
// sessions, the simulator relaying).
func TestGroupOfThree(t *testing.T) {
	e := newEnv(t)
	tr := newTrio(e)

	info, err := tr.alice.cli.CreateGroup(t.Context(), whatsmeow.ReqCreateGroup{
		Name: "Ferry crew", Participants: []types.JID{tr.bobPhone.JID(), tr.carolPhone.JID()},
	})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	want := []types.JID{tr.alicePhone.LID(), tr.bobPhone.LID(), tr.carolPhone.LID()}
	if got := memberLIDs(info); !slices.Equal(got, want) {
		t.Errorf("created group members %v, want %v", got, want)
	}
	for _, c := range []*client{tr.bob, tr.carol} {
		joined := waitFor[*events.JoinedGroup](t, c, 10*time.Second)
		if joined.JID != info.JID || joined.Name != "Ferry crew" {
			t.Errorf("joined %s %q, want %s", joined.JID, joined.Name, info.JID)
		}
	}
	bobView, err := tr.bob.cli.GetGroupInfo(t.Context(), info.JID)
	if err != nil {
		t.Fatalf("Bob's group info: %v", err)
	}
	if got := memberLIDs(bobView); !slices.Equal(got, want) {
		t.Errorf("Bob sees members %v, want %v", got, want)
	}
	for _, p := range bobView.Participants {
		if p.LID == tr.alicePhone.LID() && (p.PhoneNumber != tr.alicePhone.JID() || !p.IsSuperAdmin) {
			t.Errorf("Alice's participant entry %+v lacks her number or superadmin", p)
		}
	}

	joined, err := tr.carol.cli.GetJoinedGroups(t.Context())
	if err != nil {
		t.Fatalf("Carol's joined groups: %v", err)
	}
	if len(joined) != 1 || joined[0].JID != info.JID {
		t.Errorf("Carol's joined groups: %v, want just %s", joined, info.JID)
	}

	resp, err := tr.alice.cli.SendMessage(t.Context(), info.JID, &waE2E.Message{Conversation: proto.String("hi both")})
	if err != nil {
		t.Fatalf("send to group: %v", err)
	}
	for _, c := range []*client{tr.bob, tr.carol} {
		msg := waitForMessage(t, c, 10*time.Second)
		if msg.Info.Chat != info.JID || !msg.Info.IsGroup {
			t.Errorf("message chat %s (group %v), want %s", msg.Info.Chat, msg.Info.IsGroup, info.JID)
		}
		if msg.Info.ID != resp.ID || msg.Message.GetConversation() != "hi both" {
			t.Errorf("got %s %q", msg.Info.ID, msg.Message.GetConversation())
		}
		if msg.Info.Sender.ToNonAD() != tr.alicePhone.LID() || msg.Info.SenderAlt.ToNonAD() != tr.alicePhone.JID() {
			t.Errorf("sender %s / %s, want Alice's LID and number", msg.Info.Sender, msg.Info.SenderAlt)
		}
	}
}

// TestGroupParticipantRemoval: when Alice removes Carol, Bob and Carol
// get the change (GroupInfo with Leave), and Alice's next group message
// reaches Bob only.
func TestGroupParticipantRemoval(t *testing.T) {
	e := newEnv(t)
	tr := newTrio(e)
	info, err := tr.alice.cli.CreateGroup(t.Context(), whatsmeow.ReqCreateGroup{
		Name: "Shrinking", Participants: []types.JID{tr.bobPhone.JID(), tr.carolPhone.JID()},
	})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	waitFor[*events.JoinedGroup](t, tr.carol, 10*time.Second)

	res, err := tr.alice.cli.UpdateGroupParticipants(t.Context(), info.JID, []types.JID{tr.carolPhone.LID()}, whatsmeow.ParticipantChangeRemove)
	if err != nil {
		t.Fatalf("remove: %v", err)
	}
	if len(res) != 1 || res[0].Error != 0 {
		t.Fatalf("remove result %+v", res)
	}
	for _, c := range []*client{tr.bob, tr.carol} {
		change := waitFor[*events.GroupInfo](t, c, 10*time.Second)
		if change.JID != info.JID || !slices.Contains(change.Leave, tr.carolPhone.LID()) {
			t.Errorf("group change %s leave=%v, want Carol leaving %s", change.JID, change.Leave, info.JID)
		}
	}
	if _, err = tr.carol.cli.GetGroupInfo(t.Context(), info.JID); err == nil {
		t.Error("Carol can still read the group's info after removal")
	}

	resp, err := tr.alice.cli.SendMessage(t.Context(), info.JID, &waE2E.Message{Conversation: proto.String("just us")})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	msg := waitForMessage(t, tr.bob, 10*time.Second)
	if msg.Info.ID != resp.ID {
		t.Errorf("Bob got %s, want %s", msg.Info.ID, resp.ID)
	}
	// The simulator sends a group message to all member devices in one
	// batch, so Carol's copy would be in flight by now.
	expectNone[*events.Message](t, tr.carol, 300*time.Millisecond)
}
