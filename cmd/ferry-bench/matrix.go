package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// syncFilter asks for long timelines: without it Dendrite answers a burst
// with "limited" 10-event timelines and older events never appear, which
// looks exactly like message loss.
var syncFilter = &mautrix.Filter{Room: &mautrix.RoomFilter{Timeline: &mautrix.FilterPart{Limit: 500}}}

// arrival is a timeline event and when its /sync response was read.
type arrival struct {
	evt *event.Event
	at  time.Time
}

// matrixUser is a Matrix client whose /sync loop records every timeline
// event with its arrival time, and the rooms it is invited to.
type matrixUser struct {
	*mautrix.Client

	mu        sync.Mutex
	changed   changeSignal // at every recorded change
	seen      map[id.EventID]bool
	timelines map[id.RoomID][]arrival
	invites   map[id.RoomID][]*event.Event
	syncErr   error
}

func newMatrixUser(hsURL string, user id.UserID, token string) (*matrixUser, error) {
	cli, err := mautrix.NewClient(hsURL, user, token)
	if err != nil {
		return nil, err
	}
	return &matrixUser{
		Client:    cli,
		changed:   newChangeSignal(),
		seen:      make(map[id.EventID]bool),
		timelines: make(map[id.RoomID][]arrival),
		invites:   make(map[id.RoomID][]*event.Event),
	}, nil
}

// syncLoop runs /sync until ctx ends.
func (u *matrixUser) syncLoop(ctx context.Context) {
	var filterID string
	for filterID == "" {
		resp, err := u.CreateFilter(ctx, syncFilter)
		if err == nil {
			filterID = resp.FilterID
			break
		}
		if !u.backoff(ctx, err) {
			return
		}
	}
	since := ""
	for ctx.Err() == nil {
		resp, err := u.SyncRequest(ctx, 30000, since, filterID, false, "")
		if err != nil {
			if !u.backoff(ctx, err) {
				return
			}
			continue
		}
		at := time.Now()
		since = resp.NextBatch
		u.record(resp, at)
	}
}

func (u *matrixUser) backoff(ctx context.Context, err error) bool {
	u.mu.Lock()
	u.syncErr = err
	u.mu.Unlock()
	select {
	case <-ctx.Done():
		return false
	case <-time.After(200 * time.Millisecond):
		return true
	}
}

func (u *matrixUser) record(resp *mautrix.RespSync, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for room, r := range resp.Rooms.Join {
		for _, evt := range r.Timeline.Events {
			if evt.ID != "" && u.seen[evt.ID] {
				continue
			}
			u.seen[evt.ID] = true
			evt.RoomID = room
			_ = evt.Content.ParseRaw(evt.Type)
			u.timelines[room] = append(u.timelines[room], arrival{evt: evt, at: at})
		}
	}
	for room, r := range resp.Rooms.Invite {
		for _, evt := range r.State.Events {
			evt.RoomID = room
			_ = evt.Content.ParseRaw(evt.Type)
		}
		u.invites[room] = r.State.Events
	}
	u.changed.notify()
}

// waitFor calls check under the lock at every change until it returns
// true, or fails after timeout.
func (u *matrixUser) waitFor(ctx context.Context, what string, timeout time.Duration, check func() bool) error {
	err := waitUntil(ctx, &u.mu, &u.changed, timeout, func() (bool, error) { return check(), nil })
	if errors.Is(err, errWaitTimeout) {
		u.mu.Lock()
		syncErr := u.syncErr
		u.mu.Unlock()
		return fmt.Errorf("timed out after %s waiting for %s (last sync error: %v)", timeout, what, syncErr)
	}
	return err
}

// waitNotice waits for a message from sender in room containing want,
// after the first skip events of the room.
func (u *matrixUser) waitNotice(ctx context.Context, room id.RoomID, sender id.UserID, want string, skip int) error {
	_, err := u.waitAnyNotice(ctx, room, sender, skip, want)
	return err
}

// waitAnyNotice waits for a message from sender in room containing one of
// wants, after the first skip events of the room, and returns which.
func (u *matrixUser) waitAnyNotice(ctx context.Context, room id.RoomID, sender id.UserID, skip int, wants ...string) (string, error) {
	var found string
	err := u.waitFor(ctx, fmt.Sprintf("%q from %s", wants, sender), 60*time.Second, func() bool {
		tl := u.timelines[room]
		for _, a := range tl[min(skip, len(tl)):] {
			if a.evt.Sender != sender || a.evt.Type != event.EventMessage {
				continue
			}
			msg := a.evt.Content.AsMessage()
			if msg == nil {
				continue
			}
			for _, want := range wants {
				if strings.Contains(msg.Body, want) {
					found = want
					return true
				}
			}
		}
		return false
	})
	return found, err
}

// count returns how many events room's timeline holds.
func (u *matrixUser) count(room id.RoomID) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.timelines[room])
}

// command sends text to room and waits for the bot's answer containing want.
func (u *matrixUser) command(ctx context.Context, room id.RoomID, bot id.UserID, text, want string) error {
	before := u.count(room)
	if _, err := u.SendText(ctx, room, text); err != nil {
		return fmt.Errorf("send %q: %w", text, err)
	}
	if err := u.waitNotice(ctx, room, bot, want, before); err != nil {
		return fmt.Errorf("after %q: %w", text, err)
	}
	return nil
}

// commandRetry is command, sent again while the bot answers with retry
// (e.g. "not connected" while an IRC login is still registering).
func (u *matrixUser) commandRetry(ctx context.Context, room id.RoomID, bot id.UserID, text, want, retry string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		before := u.count(room)
		if _, err := u.SendText(ctx, room, text); err != nil {
			return fmt.Errorf("send %q: %w", text, err)
		}
		got, err := u.waitAnyNotice(ctx, room, bot, before, want, retry)
		if err != nil {
			return fmt.Errorf("after %q: %w", text, err)
		}
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %q: the bot still answers %q", text, retry)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitInvite waits for an invite to a room that is not in skip nor a
// space.
func (u *matrixUser) waitInvite(ctx context.Context, skip map[id.RoomID]bool) (id.RoomID, error) {
	var found id.RoomID
	err := u.waitFor(ctx, "a portal invite", 60*time.Second, func() bool {
		for room, state := range u.invites {
			if skip[room] || isSpace(state) {
				continue
			}
			found = room
			return true
		}
		return false
	})
	return found, err
}

func isSpace(state []*event.Event) bool {
	for _, evt := range state {
		if evt.Type == event.StateCreate {
			if typ, ok := evt.Content.Raw["type"].(string); ok && typ == string(event.RoomTypeSpace) {
				return true
			}
		}
	}
	return false
}

// createDM opens a direct chat with the bot, retrying while the bot is not
// yet registered.
func (u *matrixUser) createDM(ctx context.Context, bot id.UserID) (id.RoomID, error) {
	var last error
	for attempt := 0; attempt < 50; attempt++ {
		resp, err := u.CreateRoom(ctx, &mautrix.ReqCreateRoom{
			Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{bot},
		})
		if err == nil {
			return resp.RoomID, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("create DM with %s: %w", bot, last)
}
