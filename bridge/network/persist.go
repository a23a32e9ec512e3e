package network

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Remote events are stored by the core while they wait for their portal
// (the homeserver may be down, Ferry may restart). An event can be stored
// when it carries no functions: media and avatars fetched lazily cannot be
// written down, and such events travel in memory only — networks that
// send them should use Host.HandleEvent and acknowledge upstream after.

// ErrNotPersistable is returned by MarshalEvent for events with lazily
// fetched media or avatars.
var ErrNotPersistable = errors.New("event carries functions and cannot be stored")

type storedEvent struct {
	Type  string          `json:"type"`
	Event json.RawMessage `json:"event"`
}

// eventTypes names every event type; the names are stored, so they are
// permanent.
var eventTypes = map[string]func() Event{
	"message":         func() Event { return &Message{} },
	"edit":            func() Event { return &Edit{} },
	"reaction":        func() Event { return &Reaction{} },
	"reaction_remove": func() Event { return &ReactionRemove{} },
	"redaction":       func() Event { return &Redaction{} },
	"chat_info":       func() Event { return &ChatInfoChange{} },
	"membership":      func() Event { return &Membership{} },
	"typing":          func() Event { return &Typing{} },
	"receipt":         func() Event { return &Receipt{} },
	"chat_resync":     func() Event { return &ChatResync{} },
	"backfill":        func() Event { return &Backfill{} },
}

func eventTypeName(evt Event) (string, error) {
	switch evt.(type) {
	case *Message:
		return "message", nil
	case *Edit:
		return "edit", nil
	case *Reaction:
		return "reaction", nil
	case *ReactionRemove:
		return "reaction_remove", nil
	case *Redaction:
		return "redaction", nil
	case *ChatInfoChange:
		return "chat_info", nil
	case *Membership:
		return "membership", nil
	case *Typing:
		return "typing", nil
	case *Receipt:
		return "receipt", nil
	case *ChatResync:
		return "chat_resync", nil
	case *Backfill:
		return "backfill", nil
	}
	return "", fmt.Errorf("unknown event type %T", evt)
}

// Persistable reports whether MarshalEvent can store evt.
func Persistable(evt Event) bool {
	switch e := evt.(type) {
	case *Message:
		return partsPersistable(e.Parts)
	case *Edit:
		return partsPersistable(e.Parts)
	case *ChatInfoChange:
		return infoPersistable(e.Info)
	case *ChatResync:
		return infoPersistable(e.Info)
	case *Backfill:
		for _, m := range e.Messages {
			if m != nil && !partsPersistable(m.Parts) { // nil entries are skipped when bridged
				return false
			}
		}
		return true
	}
	return evt != nil
}

func partsPersistable(parts []Part) bool {
	for _, p := range parts {
		if p.Media != nil {
			return false
		}
	}
	return true
}

func infoPersistable(info *ChatInfo) bool {
	return info == nil || info.Avatar == nil || info.Avatar.Get == nil
}

// MarshalEvent encodes a remote event for the durable queue.
func MarshalEvent(evt Event) ([]byte, error) {
	if !Persistable(evt) {
		return nil, ErrNotPersistable
	}
	name, err := eventTypeName(evt)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(evt)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", name, err)
	}
	return json.Marshal(storedEvent{Type: name, Event: body})
}

// UnmarshalEvent decodes what MarshalEvent encoded.
func UnmarshalEvent(data []byte) (Event, error) {
	var stored storedEvent
	if err := json.Unmarshal(data, &stored); err != nil {
		return nil, fmt.Errorf("decode stored event: %w", err)
	}
	mk, ok := eventTypes[stored.Type]
	if !ok {
		return nil, fmt.Errorf("decode stored event: unknown type %q", stored.Type)
	}
	evt := mk()
	if err := json.Unmarshal(stored.Event, evt); err != nil {
		return nil, fmt.Errorf("decode stored %s event: %w", stored.Type, err)
	}
	return evt, nil
}
