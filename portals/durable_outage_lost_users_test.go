package portals

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
	"github.com/ferrybridge/ferry/puppets"
)

// The report of messages lost in an outage, for a portal without a room,
// goes to the management room of every user they came for. When it
// reaches some of them and the homeserver cannot be reached for the
// others, only those who missed it get it again later: a user who got
// it must not read it twice.
func TestLostReportIsSentAgainOnlyToTheUsersWhoMissedIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		setForTest(t, &ResumeAfterOutage, 50*time.Millisecond)
		_, p, dir, alice := roomlessScene(t, db)
		bob := &network.Login{ID: "bob", User: id.UserID("@bob:example.org")}
		bobTries := 0
		dir.failUser = func(user id.UserID) error {
			if user != bob.User {
				return nil
			}
			bobTries++
			if bobTries == 1 {
				return fmt.Errorf("send the notice to the management room: %w", puppets.ErrUnreachable)
			}
			return nil
		}
		for _, login := range []*network.Login{alice, bob} {
			p.noteLostInOutage(login, &network.Message{
				Meta:  network.Meta{Portal: p.Key, Sender: network.Sender{User: "carol"}, Timestamp: time.Now()},
				ID:    network.MessageID("lost-" + login.ID),
				Parts: []network.Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hello"}}},
			})
		}

		deadline := time.Now().Add(5 * time.Second)
		for len(dir.noticesOf(bob.User)) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		// A few more tries would be due by now, were any left.
		time.Sleep(5 * ResumeAfterOutage)
		for _, user := range []id.UserID{alice.User, bob.User} {
			got := dir.noticesOf(user)
			if len(got) != 1 || !strings.Contains(got[0], "2 messages from Testnet") || !strings.Contains(got[0], "no Matrix room yet, were not bridged") {
				t.Errorf("%s's management room got %q, want the report of the 2 messages lost once", user, got)
			}
		}
	})
}
