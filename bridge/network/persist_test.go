package network

import (
	"context"
	"reflect"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
)

func TestEventRoundTrip(t *testing.T) {
	key := PortalKey{Network: "irc", Chat: "libera/#ferry"}
	meta := Meta{Portal: key, Sender: Sender{User: "libera/bob", FromMe: true}, Timestamp: time.UnixMilli(1_700_000_000_123).UTC(), CreatePortal: true}
	name, topic, no := "Ferry", "a topic", false
	level := 50
	events := []Event{
		&Message{Meta: meta, ID: "m1", ReplyTo: &MessageRef{ID: "m0"}, Parts: []Part{{
			ID:      "p",
			Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hi", Format: event.FormatHTML, FormattedBody: "<b>hi</b>"},
			Extra:   map[string]any{"k": "v"},
		}}},
		&Edit{Meta: meta, Target: "m1", Parts: []Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hey"}}}},
		// An edit with the network's own ID: a copy replayed from the
		// durable queue must keep it, or it gets a new transaction ID
		// and a second replacement in the room.
		&Edit{Meta: meta, ID: "e1", Target: "m1", Parts: []Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "hey"}}}},
		&Reaction{Meta: meta, Target: MessageRef{ID: "m1"}, Emoji: "e", Key: "👍"},
		&ReactionRemove{Meta: meta, Target: MessageRef{ID: "m1"}, Emoji: "e"},
		&Redaction{Meta: meta, Target: "m1"},
		&ChatInfoChange{Meta: meta, Info: &ChatInfo{Name: &name, Topic: &topic, InviteOnly: &no, Members: &MemberList{IsFull: true, Members: []Member{{User: "a", PowerLevel: &level}}}}},
		&Membership{Meta: meta, Target: "libera/carol", Action: MembershipKick, Reason: "spam"},
		&Typing{Meta: meta, Timeout: 5 * time.Second},
		&Receipt{Meta: meta, Target: "m1"},
		&ChatResync{Meta: meta},
		&Backfill{Meta: meta, Messages: []*Message{{Meta: meta, ID: "old", Parts: []Part{{Content: &event.MessageEventContent{MsgType: event.MsgText, Body: "old"}}}}}},
	}
	for _, evt := range events {
		data, err := MarshalEvent(evt)
		if err != nil {
			t.Fatalf("%T: %v", evt, err)
		}
		back, err := UnmarshalEvent(data)
		if err != nil {
			t.Fatalf("%T: %v", evt, err)
		}
		if !reflect.DeepEqual(back, evt) {
			t.Errorf("%T changed in a round trip:\n got %#v\nwant %#v", evt, back, evt)
		}
	}
}

func TestEventsWithFunctionsAreNotStored(t *testing.T) {
	media := func(ctx context.Context) (*Media, error) { return nil, nil }
	avatar := &Avatar{ID: "a", Get: func(ctx context.Context) ([]byte, error) { return nil, nil }}
	for _, evt := range []Event{
		&Message{Parts: []Part{{Content: &event.MessageEventContent{}, Media: media}}},
		&Edit{Parts: []Part{{Content: &event.MessageEventContent{}, Media: media}}},
		&ChatInfoChange{Info: &ChatInfo{Avatar: avatar}},
		&ChatResync{Info: &ChatInfo{Avatar: avatar}},
	} {
		if _, err := MarshalEvent(evt); err != ErrNotPersistable {
			t.Errorf("%T with a function: %v, want ErrNotPersistable", evt, err)
		}
	}
	if _, err := UnmarshalEvent([]byte(`{"type":"nonsense","event":{}}`)); err == nil {
		t.Errorf("an unknown stored type decoded")
	}
}
