package testbed

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// SyncFilter is the filter the test client's /sync uses. Dendrite answers a
// burst with "limited" 10-event timelines unless asked for more, and the
// events left out never arrive, which looks exactly like message loss.
var SyncFilter = &mautrix.Filter{Room: &mautrix.RoomFilter{Timeline: &mautrix.FilterPart{Limit: 500}}}

// Client is a Matrix test user. A background /sync loop, started by
// NewClient and stopped in t.Cleanup, records every timeline event and
// invite it sees; the Wait methods block on that record. The embedded
// mautrix client makes no retries of its own (DefaultHTTPRetries 0).
type Client struct {
	*mautrix.Client
	Password string // set by Dendrite.RegisterUser

	cancel   context.CancelFunc
	loopDone chan struct{}

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced whenever something new is recorded
	timelines map[id.RoomID][]*event.Event
	seen      map[id.EventID]bool
	invites   map[id.RoomID][]*event.Event
	order     []id.RoomID // invites in arrival order
	syncs     int         // successful /sync responses
	syncErr   error       // last /sync error, nil after a success
}

// NewClient wraps an existing login (for example one made through a
// FaultProxy URL) in a Client and starts its background /sync.
func NewClient(t testing.TB, homeserverURL string, userID id.UserID, accessToken string) *Client {
	t.Helper()
	mc, err := mautrix.NewClient(homeserverURL, userID, accessToken)
	if err != nil {
		t.Fatalf("testbed: client for %s: %v", userID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		Client:    mc,
		cancel:    cancel,
		loopDone:  make(chan struct{}),
		changed:   make(chan struct{}),
		timelines: map[id.RoomID][]*event.Event{},
		seen:      map[id.EventID]bool{},
		invites:   map[id.RoomID][]*event.Event{},
	}
	go c.syncLoop(ctx)
	t.Cleanup(c.StopSync)
	return c
}

// StopSync stops the background /sync and waits for it to end. It shadows
// mautrix.Client.StopSync, which would not stop this loop.
func (c *Client) StopSync() {
	c.cancel()
	<-c.loopDone
}

func (c *Client) syncLoop(ctx context.Context) {
	defer close(c.loopDone)
	backoff := func(err error, wait *time.Duration) bool {
		c.mu.Lock()
		c.syncErr = err
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-time.After(*wait):
		}
		*wait = min(*wait*2, time.Second)
		return true
	}
	var filterID string
	wait := 50 * time.Millisecond
	for filterID == "" {
		resp, err := c.CreateFilter(ctx, SyncFilter)
		if err == nil {
			filterID = resp.FilterID
		} else if ctx.Err() != nil || !backoff(fmt.Errorf("create filter: %w", err), &wait) {
			return
		}
	}
	since := ""
	wait = 50 * time.Millisecond
	for ctx.Err() == nil {
		resp, err := c.SyncRequest(ctx, 30000, since, filterID, false, "")
		if err != nil {
			if ctx.Err() != nil || !backoff(fmt.Errorf("sync: %w", err), &wait) {
				return
			}
			continue
		}
		wait = 50 * time.Millisecond
		since = resp.NextBatch
		c.record(resp)
	}
}

func (c *Client) record(resp *mautrix.RespSync) {
	c.mu.Lock()
	defer c.mu.Unlock()
	addTimeline := func(room id.RoomID, events []*event.Event) {
		for _, evt := range events {
			if evt.ID != "" && c.seen[evt.ID] {
				continue
			}
			c.seen[evt.ID] = true
			prepare(room, evt)
			c.timelines[room] = append(c.timelines[room], evt)
		}
	}
	for room, r := range resp.Rooms.Join {
		addTimeline(room, r.Timeline.Events)
	}
	for room, r := range resp.Rooms.Leave {
		addTimeline(room, r.Timeline.Events)
	}
	for room, r := range resp.Rooms.Invite {
		state := r.State.Events
		for _, evt := range state {
			prepare(room, evt)
		}
		if _, ok := c.invites[room]; !ok {
			c.order = append(c.order, room)
		}
		c.invites[room] = state
	}
	c.syncs++
	c.syncErr = nil
	close(c.changed)
	c.changed = make(chan struct{})
}

// prepare sets an event's room and type class and parses its content, so
// that evt.Content.AsMessage() and friends work.
func prepare(room id.RoomID, evt *event.Event) {
	evt.RoomID = room
	if evt.StateKey != nil {
		evt.Type.Class = event.StateEventType
	} else {
		evt.Type.Class = event.MessageEventType
	}
	_ = evt.Content.ParseRaw(evt.Type) // unknown types stay unparsed (Raw and VeryRaw are kept)
}

// Events returns the timeline events of room seen so far, in order. The
// events are shared with the client: do not modify them.
func (c *Client) Events(room id.RoomID) []*event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*event.Event(nil), c.timelines[room]...)
}

// Invites returns the rooms this user has been invited to so far (also
// those joined since), in order.
func (c *Client) Invites() []id.RoomID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]id.RoomID(nil), c.order...)
}

// Synced reports how many /sync responses the client has processed.
func (c *Client) Synced() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.syncs
}

// waitFor calls check, outside the lock, until it returns true or the
// timeout passes, and again whenever the sync loop records something. It
// returns false on timeout.
func (c *Client) waitFor(timeout time.Duration, check func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		if check() {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return check()
		}
	}
}

// WaitForEvent returns the first timeline event in room, among all seen
// since the client started (including those before the call), for which
// match returns true. match may be nil to take any event; it is called
// without locks held, at most once per event. On timeout the test fails
// with a summary of what the room's timeline holds.
func (c *Client) WaitForEvent(t testing.TB, room id.RoomID, timeout time.Duration, match func(*event.Event) bool) *event.Event {
	t.Helper()
	var found *event.Event
	next := 0 // events before next did not match
	ok := c.waitFor(timeout, func() bool {
		events := c.Events(room)
		for ; next < len(events); next++ {
			if match == nil || match(events[next]) {
				found = events[next]
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("testbed: %s saw no matching event in %s within %s%s\n%s", c.UserID, room, timeout, c.syncState(), c.describeRoom(room, 30))
	}
	return found
}

// WaitForInvite returns the first room this user has been invited to
// (including invites seen before the call) for which match returns true;
// match may be nil and is called without locks held. inviteState is the
// stripped state sent with the invite; Dendrite includes the invite's own
// m.room.member event (with is_direct for DMs).
func (c *Client) WaitForInvite(t testing.TB, timeout time.Duration, match func(roomID id.RoomID, inviteState []*event.Event) bool) id.RoomID {
	t.Helper()
	var found id.RoomID
	ok := c.waitFor(timeout, func() bool {
		c.mu.Lock()
		rooms := append([]id.RoomID(nil), c.order...)
		states := make([][]*event.Event, len(rooms))
		for i, room := range rooms {
			states[i] = c.invites[room]
		}
		c.mu.Unlock()
		for i, room := range rooms {
			if match == nil || match(room, states[i]) {
				found = room
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("testbed: %s saw no matching invite within %s (invites seen: %v)%s", c.UserID, timeout, c.Invites(), c.syncState())
	}
	return found
}

// WaitForMessage waits for an m.room.message in room whose body is body.
func (c *Client) WaitForMessage(t testing.TB, room id.RoomID, timeout time.Duration, body string) *event.Event {
	t.Helper()
	return c.WaitForEvent(t, room, timeout, func(evt *event.Event) bool {
		return evt.Type == event.EventMessage && evt.Content.AsMessage().Body == body
	})
}

// WaitForMembership waits for an m.room.member event in room about user
// with the given membership.
func (c *Client) WaitForMembership(t testing.TB, room id.RoomID, user id.UserID, membership event.Membership, timeout time.Duration) *event.Event {
	t.Helper()
	return c.WaitForEvent(t, room, timeout, func(evt *event.Event) bool {
		return evt.Type == event.StateMember && evt.GetStateKey() == user.String() &&
			evt.Content.AsMember().Membership == membership
	})
}

// JoinsAfter counts the joins of users in room that came after the event
// after, in the room's order as the homeserver tells it (/messages, up to
// its last 1,000 events): how many of them that event did not wait for.
func (c *Client) JoinsAfter(t testing.TB, room id.RoomID, after id.EventID, users []id.UserID) int {
	t.Helper()
	return c.membershipsAfter(t, room, after, users, event.MembershipJoin)
}

// LeavesAfter is JoinsAfter for leaves.
func (c *Client) LeavesAfter(t testing.TB, room id.RoomID, after id.EventID, users []id.UserID) int {
	t.Helper()
	return c.membershipsAfter(t, room, after, users, event.MembershipLeave)
}

func (c *Client) membershipsAfter(t testing.TB, room id.RoomID, after id.EventID, users []id.UserID, membership event.Membership) int {
	t.Helper()
	history, err := c.Messages(context.Background(), room, "", "", mautrix.DirectionBackward, nil, 1000)
	if err != nil {
		t.Fatalf("testbed: history of %s: %v", room, err)
	}
	n := 0
	for _, evt := range history.Chunk { // newest first
		if evt.ID == after {
			return n
		}
		if evt.Type.Type == event.StateMember.Type && evt.StateKey != nil &&
			slices.Contains(users, id.UserID(*evt.StateKey)) &&
			evt.Content.Raw["membership"] == string(membership) {
			n++
		}
	}
	t.Fatalf("testbed: %s is not among the last %d events of %s", after, len(history.Chunk), room)
	return 0
}

func (c *Client) syncState() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprintf(" (%d syncs", c.syncs)
	if c.syncErr != nil {
		s += ", last sync error: " + c.syncErr.Error()
	}
	return s + ")"
}

// describeRoom summarises the last n timeline events of room.
func (c *Client) describeRoom(room id.RoomID, n int) string {
	events := c.Events(room)
	var b strings.Builder
	fmt.Fprintf(&b, "timeline of %s as seen by %s: %d events", room, c.UserID, len(events))
	if len(events) > n {
		fmt.Fprintf(&b, ", last %d:", n)
		events = events[len(events)-n:]
	}
	for _, evt := range events {
		fmt.Fprintf(&b, "\n  %s %s from %s", evt.ID, evt.Type.Type, evt.Sender)
		switch {
		case evt.Type == event.EventMessage:
			msg := evt.Content.AsMessage()
			fmt.Fprintf(&b, ": %s %q", msg.MsgType, msg.Body)
		case evt.Type == event.StateMember:
			fmt.Fprintf(&b, ": %s %s", evt.GetStateKey(), evt.Content.AsMember().Membership)
		case evt.StateKey != nil:
			fmt.Fprintf(&b, " state_key=%q", *evt.StateKey)
		}
	}
	return b.String()
}

// SendText sends an m.text message and returns its event ID.
func (c *Client) SendText(t testing.TB, room id.RoomID, text string) id.EventID {
	t.Helper()
	resp, err := c.Client.SendText(context.Background(), room, text)
	if err != nil {
		t.Fatalf("testbed: %s send text to %s: %v", c.UserID, room, err)
	}
	return resp.EventID
}

// CreateDM creates a direct chat the way Element does (preset
// trusted_private_chat, so the invitee gets the creator's power level;
// is_direct) and invites with.
func (c *Client) CreateDM(t testing.TB, with id.UserID) id.RoomID {
	t.Helper()
	resp, err := c.CreateRoom(context.Background(), &mautrix.ReqCreateRoom{
		Preset:   "trusted_private_chat",
		IsDirect: true,
		Invite:   []id.UserID{with},
	})
	if err != nil {
		t.Fatalf("testbed: %s create DM with %s: %v", c.UserID, with, err)
	}
	return resp.RoomID
}

// Join joins a room by ID or alias and returns the room ID.
func (c *Client) Join(t testing.TB, roomIDOrAlias string) id.RoomID {
	t.Helper()
	resp, err := c.JoinRoom(context.Background(), roomIDOrAlias, nil)
	if err != nil {
		t.Fatalf("testbed: %s join %s: %v", c.UserID, roomIDOrAlias, err)
	}
	return resp.RoomID
}
