package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestGroupChangesByLIDReachTheMemberInTheRoom: in a LID-addressed group
// the room's members are the phone-number ghosts the group info lists, so
// a change naming a member by LID (leave, join, promotion, demotion) must
// name the same ghost; a LID whose number nobody knows stays a LID ghost.
func TestGroupChangesByLIDReachTheMemberInTheRoom(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		env := newEnv(t, db.Database, "")
		g := &types.GroupInfo{JID: group, GroupName: types.GroupName{Name: "G"}, Participants: []types.GroupParticipant{
			{JID: bobLID, LID: bobLID, PhoneNumber: bobPN},
			{JID: ownLID, LID: ownLID, PhoneNumber: ownPN},
		}}
		var member network.UserID
		for _, m := range env.cl.groupInfo(g).Members.Members {
			if !m.IsMe {
				member = m.User
			}
		}
		if member != "4915100000002" {
			t.Fatalf("member list names Bob %q", member)
		}
		// whatsmeow stores the LID<->number pairs a notification lists
		// before it dispatches the event, which does not carry them.
		if err := env.device.LIDs.PutLIDMapping(env.ctx, bobLID, bobPN); err != nil {
			t.Fatal(err)
		}
		env.dispatch(&events.GroupInfo{JID: group, Sender: &ownLID, Timestamp: msgTime, Promote: []types.JID{bobLID, carlLID}})
		env.dispatch(&events.GroupInfo{JID: group, Sender: &ownLID, Timestamp: msgTime, Demote: []types.JID{bobLID}})
		env.dispatch(&events.GroupInfo{JID: group, Sender: &bobLID, SenderPN: &bobPN, Timestamp: msgTime, Leave: []types.JID{bobLID}})
		env.dispatch(&events.GroupInfo{JID: group, Sender: &ownLID, Timestamp: msgTime, Join: []types.JID{bobLID}})
		// Bob's own leave, told without his number beside the sender.
		env.dispatch(&events.GroupInfo{JID: group, Sender: &bobLID, Timestamp: msgTime, Leave: []types.JID{bobLID}})
		queued, _ := env.host.take()
		if len(queued) != 5 {
			t.Fatalf("queued %d events: %+v", len(queued), queued)
		}
		promoted := queued[0].(*network.ChatInfoChange).Info.Members.Members
		if len(promoted) != 2 || promoted[0].User != member || promoted[1].User != "lid-300000000003" {
			t.Errorf("promotion names %+v; want %q and the unknown LID's ghost", promoted, member)
		}
		if demoted := queued[1].(*network.ChatInfoChange).Info.Members.Members; len(demoted) != 1 || demoted[0].User != member {
			t.Errorf("demotion names %+v, want %q", demoted, member)
		}
		for i, want := range []network.MembershipAction{network.MembershipLeave, network.MembershipJoin, network.MembershipLeave} {
			m := queued[2+i].(*network.Membership)
			if m.Target != member || m.Action != want {
				t.Errorf("membership %d: %s of %q; want %s of %q", i, m.Action, m.Target, want, member)
			}
		}
		if s := queued[4].(*network.Membership).Sender.User; s != member {
			t.Errorf("leave told without the number is sent by %q, want %q", s, member)
		}
	})
}
