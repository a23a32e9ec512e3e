package bridge

import (
	"context"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/dbtest"
)

func joinRuleEvent(evtID id.EventID, sender id.UserID, rule event.JoinRule) *event.Event {
	empty := ""
	evt := &event.Event{ID: evtID, Sender: sender, RoomID: stateRoom, Type: event.StateJoinRules, StateKey: &empty}
	evt.Content.Parsed = &event.JoinRulesEventContent{JoinRule: rule}
	return evt
}

func storedJoinRule(t *testing.T, store *memberStateStore) event.JoinRule {
	t.Helper()
	rules, err := store.GetJoinRules(context.Background(), stateRoom)
	if err != nil {
		t.Fatal(err)
	}
	if rules == nil {
		return ""
	}
	return rules.JoinRule
}

// TestOwnStateKeepsTheHomeserversOrder: the state events that come in
// (through mautrix.UpdateStateStore, as putTransaction applies them) and
// Ferry's own changes, recorded as they are accepted, end in the store
// as the room has them, whichever of a change's answer and echo comes
// first.
func TestOwnStateKeepsTheHomeserversOrder(t *testing.T) {
	const bot, alice = id.UserID("@ferry:example.org"), id.UserID("@alice:example.org")
	dbtest.Each(t, func(t *testing.T, db *database.Database) {
		ctx := context.Background()
		store, _ := stateStores(t, db)

		// Answer first: alice's older change, then the echo, then her newer one.
		store.UpdateOwnState(ctx, joinRuleEvent("$own1", bot, event.JoinRuleInvite))
		mautrix.UpdateStateStore(ctx, store, joinRuleEvent("$older", alice, event.JoinRulePublic))
		if got := storedJoinRule(t, store); got != event.JoinRuleInvite {
			t.Fatalf("after an older change of alice's: %q, want Ferry's newer invite", got)
		}
		mautrix.UpdateStateStore(ctx, store, joinRuleEvent("$own1", bot, event.JoinRuleInvite))
		mautrix.UpdateStateStore(ctx, store, joinRuleEvent("$newer", alice, event.JoinRuleKnock))
		if got := storedJoinRule(t, store); got != event.JoinRuleKnock {
			t.Fatalf("after alice's change after Ferry's echo: %q, want her knock", got)
		}

		// Echo first: the answer, coming after alice's newer change, must
		// not put Ferry's older one back.
		mautrix.UpdateStateStore(ctx, store, joinRuleEvent("$own2", bot, event.JoinRuleInvite))
		mautrix.UpdateStateStore(ctx, store, joinRuleEvent("$newest", alice, event.JoinRulePublic))
		store.UpdateOwnState(ctx, joinRuleEvent("$own2", bot, event.JoinRuleInvite))
		if got := storedJoinRule(t, store); got != event.JoinRulePublic {
			t.Fatalf("after a late answer: %q, want alice's newest public", got)
		}
		mautrix.UpdateStateStore(ctx, store, joinRuleEvent("$last", alice, event.JoinRuleKnock))
		if got := storedJoinRule(t, store); got != event.JoinRuleKnock {
			t.Fatalf("after alice's last change: %q, want knock (nothing left waiting for an echo)", got)
		}
	})
}
