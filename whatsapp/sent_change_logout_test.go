package whatsapp

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.mau.fi/util/dbutil"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/ferrybridge/ferry/bridge/network"
	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

// TestSentChangeOutlivesItsSendersLogout: the test account and Dave both
// use Ferry and share Bob's group. The test account reacts from Matrix and
// logs out before Dave's login, offline meanwhile, gets the reaction as any
// member's. The room has the reaction already (the core sent it, and keeps
// it when the login goes); Dave's login must not show it a second time.
// What is kept for that no longer names the account's phone number.
func TestSentChangeOutlivesItsSendersLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.Database) { sentChangeOutlivesItsSendersLogout(t, db.Database) })
}

func sentChangeOutlivesItsSendersLogout(t *testing.T, db *dbutil.Database) {
	env := newEnv(t, db, "")
	dave := loadDave(t, env)
	bob := types.MessageSource{Chat: group, Sender: bobPN, IsGroup: true}
	env.seen(t, "G1", bob)
	if _, err := env.cl.React(env.ctx, &network.OutgoingReaction{OutgoingMeta: outMeta(groupPortal(group)), Target: network.MessageRef{ID: "G1"}, Key: "👍"}); err != nil {
		t.Fatalf("React = %v", err)
	}
	sent := env.wa.lastSent(t)
	if len(sent.Extra) != 1 || sent.Extra[0].ID == "" {
		t.Fatalf("the reaction was sent without an ID: %+v", sent.Extra)
	}
	if err := env.cl.Logout(env.ctx); err != nil {
		t.Fatalf("Logout = %v", err)
	}
	env.host.take()
	checkNoRowNames(t, db, "whatsapp_sent_change", ownPN.User)

	echo := &events.Message{
		Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: group, Sender: ownPN, IsGroup: true}, ID: sent.Extra[0].ID, Timestamp: msgTime},
		RawMessage: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key:  &waCommon.MessageKey{FromMe: proto.Bool(false), ID: proto.String("G1"), RemoteJID: proto.String(group.String()), Participant: proto.String(bobPN.String())},
			Text: proto.String("👍"), SenderTimestampMS: proto.Int64(msgTime.UnixMilli()),
		}},
	}
	if !dave.handleEvent(echo) {
		t.Fatal("the echo was not acknowledged")
	}
	if queued, handled := env.host.take(); len(queued)+len(handled) != 0 {
		t.Errorf("the echo of the reaction, sent from Matrix before its sender logged out, was handed to the core: %s", describe(append(queued, handled...)))
	}
}

// checkNoRowNames fails if any value of any row of table holds digits
// (a phone number).
func checkNoRowNames(t *testing.T, db *dbutil.Database, table, digits string) {
	t.Helper()
	values, err := queryValues(context.Background(), db, "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	if len(values) == 0 {
		t.Fatalf("%s is empty; nothing was checked", table)
	}
	for _, v := range values {
		if strings.Contains(v, digits) {
			t.Errorf("%s still names %s: %q", table, digits, v)
		}
	}
}

// queryValues runs query and returns every value of every row it
// returns, as text (NULLs left out).
func queryValues(ctx context.Context, db *dbutil.Database, query string, args ...any) ([]string, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for _, v := range vals {
			switch v := v.(type) {
			case nil:
			case []byte:
				out = append(out, string(v))
			default:
				out = append(out, fmt.Sprint(v))
			}
		}
	}
	return out, rows.Err()
}
