package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// The busy-join scenario: what a user meets on joining a busy IRC
// channel. -members other clients are in busyChannel; the Matrix user
// asks Ferry to join it; one member speaks the moment the user's JOIN
// shows on IRC, and the user answers as soon as the portal room is there.
// It reports how long the invite, that first line and that first reply
// took, and when the last member's ghost was in the room. Then half of
// the members quit at once (a server restarting) and the speaker says one
// more line: how long that line and the ghosts' leaves took. Every new ghost
// costs the homeserver a registration, a profile and a join, and a portal
// joins its member list between its messages (portals/member_sync.go),
// so the first two should not wait for the third.

const (
	busyChannel = "#busy"
	busyFirst   = "first line in the busy channel"
	busyReply   = "first reply in the busy channel"
	busyAfter   = "a line right after the quits"
	speakerNick = "speaker"
	// busyDialers bounds the members registering at once.
	busyDialers = 100
)

// busyJoinResult is the outcome of the busy-join scenario.
type busyJoinResult struct {
	// Members is how many clients were in the channel besides the speaker.
	Members int `json:"members"`
	// InviteMs: the join command sent until the portal's invite was seen
	// in the user's /sync.
	InviteMs float64 `json:"invite_after_command_ms"`
	// FirstLineMs: the speaker's line written until it arrived in the
	// user's /sync.
	FirstLineMs float64 `json:"first_line_irc_to_matrix_ms"`
	// FirstReplyMs: the user's reply sent until the speaker read it.
	FirstReplyMs float64 `json:"first_reply_matrix_to_irc_ms"`
	// GhostsBeforeFirstLine is how many ghosts joined the room before the
	// first line, in the room's timeline.
	GhostsBeforeFirstLine int `json:"ghosts_joined_before_first_line"`
	// AllGhostsS: the join command sent until the last ghost's join (the
	// members' and the speaker's) arrived in the user's /sync.
	AllGhostsS float64 `json:"all_ghosts_joined_after_command_s"`
	// GhostsPerSec is the ghosts' joins over that time.
	GhostsPerSec float64 `json:"ghost_joins_per_second"`
	// Quits is how many members then quit at once (half of them).
	Quits int `json:"quits"`
	// LineAfterQuitsMs: the speaker's line written right after the quits
	// until it arrived in the user's /sync.
	LineAfterQuitsMs float64 `json:"line_after_quits_irc_to_matrix_ms"`
	// AllLeavesS: the quits until the last of their ghosts' leaves
	// arrived in the user's /sync.
	AllLeavesS float64 `json:"all_leaves_after_quits_s"`
}

// speaker is the member who speaks first; it notes when the Matrix user
// joins the channel and when the user's reply arrives.
type speaker struct {
	conn *ircconn.Conn

	mu           sync.Mutex
	said         time.Time
	replyArrived time.Time
	err          error
	changed      changeSignal
}

func (s *speaker) handle(m *irc.Message) {
	at := time.Now()
	if m.Prefix == nil || !strings.EqualFold(m.Prefix.Name, benchNick) || !strings.EqualFold(m.Param(0), busyChannel) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case m.Command == "JOIN" && s.said.IsZero():
		// The user is in: speak at once, before the portal has settled.
		s.said = time.Now()
		s.err = s.conn.Send(&irc.Message{Command: "PRIVMSG", Params: []string{busyChannel, busyFirst}})
	case m.Command == "PRIVMSG" && m.Param(1) == busyReply && s.replyArrived.IsZero():
		s.replyArrived = at
	default:
		return
	}
	s.changed.notify()
}

// wait calls check under the lock at every change until it returns true.
func (s *speaker) wait(ctx context.Context, what string, timeout time.Duration, check func() bool) error {
	err := waitUntil(ctx, &s.mu, &s.changed, timeout, func() (bool, error) {
		if s.err != nil {
			return false, fmt.Errorf("speaker: %w", s.err)
		}
		return check(), nil
	})
	if errors.Is(err, errWaitTimeout) {
		return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
	}
	return err
}

// fillBusyChannel connects n members and the speaker, all in busyChannel.
func fillBusyChannel(ctx context.Context, e *env, n int) (*speaker, []*ircconn.Conn, error) {
	conns := make([]*ircconn.Conn, n)
	errs := make([]error, n)
	slots := make(chan struct{}, busyDialers)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			conns[i], errs[i] = joinBusy(ctx, e, fmt.Sprintf("member%04d", i), nil)
		}()
	}
	wg.Wait()
	var live []*ircconn.Conn
	for i, c := range conns {
		if c != nil {
			live = append(live, c)
		}
		if errs[i] != nil {
			return nil, live, errs[i]
		}
	}
	sp := &speaker{changed: newChangeSignal()}
	conn, err := joinBusy(ctx, e, speakerNick, sp.handle)
	if err != nil {
		return nil, live, err
	}
	sp.mu.Lock()
	sp.conn = conn
	sp.mu.Unlock()
	return sp, append(live, conn), nil
}

// joinBusy connects nick and returns once it is in busyChannel (the end
// of its NAMES). Lines after that go to handler.
func joinBusy(ctx context.Context, e *env, nick string, handler func(*irc.Message)) (*ircconn.Conn, error) {
	in := make(chan struct{})
	var once sync.Once
	conn, err := ircconn.Dial(ctx, ircconn.Config{
		Addr: e.ircd.Addr, Nick: nick, Unlimited: true,
		Handler: func(m *irc.Message) {
			if m.Command == "366" && strings.EqualFold(m.Param(1), busyChannel) {
				once.Do(func() { close(in) })
				return
			}
			if handler != nil {
				handler(m)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", nick, err)
	}
	if err := conn.Send(&irc.Message{Command: "JOIN", Params: []string{busyChannel}}); err != nil {
		_ = conn.Close("bye")
		return nil, fmt.Errorf("%s: %w", nick, err)
	}
	select {
	case <-in:
		return conn, nil
	case <-ctx.Done():
		_ = conn.Close("bye")
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		_ = conn.Close("bye")
		return nil, fmt.Errorf("%s never got into %s", nick, busyChannel)
	}
}

func runBusyJoin(ctx context.Context, e *env, s *settings) (*busyJoinResult, error) {
	say("connecting %d members and the speaker to %s", s.Members, busyChannel)
	sp, conns, err := fillBusyChannel(ctx, e, s.Members)
	defer func() {
		for _, c := range conns {
			_ = c.Close("bye")
		}
	}()
	if err != nil {
		return nil, err
	}
	known := map[id.RoomID]bool{e.mgmt: true}
	for _, pt := range e.portals {
		known[pt.room] = true
	}

	say("joining %s from Matrix", busyChannel)
	start := time.Now()
	if err := e.user.command(ctx, e.mgmt, e.bot, "irc join "+ircNetwork+" "+busyChannel, "Joining "+busyChannel); err != nil {
		return nil, e.withFerryLog(err)
	}
	roomID, err := e.user.waitInvite(ctx, known)
	if err != nil {
		return nil, e.withFerryLog(err)
	}
	invited := time.Now()
	if _, err := e.user.JoinRoom(ctx, roomID.String(), nil); err != nil {
		return nil, fmt.Errorf("join the portal of %s: %w", busyChannel, err)
	}
	replySent := time.Now()
	if _, err := e.user.SendText(ctx, roomID, busyReply); err != nil {
		return nil, fmt.Errorf("send the reply: %w", err)
	}

	res := &busyJoinResult{Members: s.Members, InviteMs: toMs(invited.Sub(start))}
	if err := sp.wait(ctx, "the reply on IRC", 10*time.Minute, func() bool { return !sp.replyArrived.IsZero() }); err != nil {
		return nil, e.withFerryLog(err)
	}
	res.FirstReplyMs = toMs(sp.replyArrived.Sub(replySent))

	// Every member's ghost and the speaker's, told apart from the user and
	// the bot by being neither.
	ghosts := s.Members + 1
	var room busyRoom
	err = e.user.waitFor(ctx, fmt.Sprintf("%d ghosts in the room", ghosts), 10*time.Minute, func() bool {
		room = readBusyRoom(e.user.timelines[roomID], e.user.UserID, e.bot)
		return room.ghosts >= ghosts && !room.firstAt.IsZero()
	})
	if err != nil {
		return nil, e.withFerryLog(err)
	}
	res.GhostsBeforeFirstLine = room.beforeFirst
	sp.mu.Lock()
	said := sp.said
	sp.mu.Unlock()
	res.FirstLineMs = toMs(room.firstAt.Sub(said))
	res.AllGhostsS = round(room.lastJoin.Sub(start).Seconds())
	if res.AllGhostsS > 0 {
		res.GhostsPerSec = round(float64(ghosts) / res.AllGhostsS)
	}

	res.Quits = s.Members / 2
	say("%d members quit at once", res.Quits)
	quitStart := time.Now()
	for _, c := range conns[:res.Quits] {
		_ = c.Close("gone")
	}
	sp.mu.Lock()
	saidAfter := time.Now()
	err = sp.conn.Send(&irc.Message{Command: "PRIVMSG", Params: []string{busyChannel, busyAfter}})
	sp.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("speaker: %w", err)
	}
	err = e.user.waitFor(ctx, fmt.Sprintf("%d ghosts' leaves", res.Quits), 10*time.Minute, func() bool {
		room = readBusyRoom(e.user.timelines[roomID], e.user.UserID, e.bot)
		return room.left >= res.Quits && !room.afterAt.IsZero()
	})
	if err != nil {
		return nil, e.withFerryLog(err)
	}
	res.LineAfterQuitsMs = toMs(room.afterAt.Sub(saidAfter))
	res.AllLeavesS = round(room.lastLeave.Sub(quitStart).Seconds())
	return res, nil
}

// busyRoom is what the portal room's timeline says so far.
type busyRoom struct {
	// ghosts counts the users other than the Matrix user and the bot who
	// joined; lastJoin is when the last of them was seen.
	ghosts   int
	lastJoin time.Time
	// firstAt is when the speaker's first line was seen (zero: not yet),
	// and beforeFirst how many ghosts had joined before it in the
	// timeline.
	firstAt     time.Time
	beforeFirst int
	// left counts the ghosts whose last membership seen is a leave;
	// lastLeave is when the last leave was seen. afterAt is when the
	// speaker's line after the quits was seen.
	left      int
	lastLeave time.Time
	afterAt   time.Time
}

func readBusyRoom(timeline []arrival, user, bot id.UserID) busyRoom {
	var r busyRoom
	joined := map[id.UserID]bool{}
	latest := map[id.UserID]event.Membership{}
	for _, a := range timeline {
		evt := a.evt
		switch evt.Type.Type {
		case event.EventMessage.Type:
			msg := evt.Content.AsMessage()
			switch {
			case msg == nil:
			case r.firstAt.IsZero() && msg.Body == busyFirst:
				r.firstAt, r.beforeFirst = a.at, len(joined)
			case r.afterAt.IsZero() && msg.Body == busyAfter:
				r.afterAt = a.at
			}
		case event.StateMember.Type:
			if evt.StateKey == nil {
				continue
			}
			who := id.UserID(*evt.StateKey)
			if who == user || who == bot {
				continue
			}
			membership := evt.Content.AsMember().Membership
			latest[who] = membership
			switch membership {
			case event.MembershipJoin:
				if !joined[who] {
					joined[who] = true
					r.lastJoin = a.at
				}
			case event.MembershipLeave:
				r.lastLeave = a.at
			}
		}
	}
	r.ghosts = len(joined)
	for _, membership := range latest {
		if membership == event.MembershipLeave {
			r.left++
		}
	}
	return r
}

func printBusyJoin(row func(string, any), r *busyJoinResult) {
	row("members (besides the speaker)", r.Members)
	row("join command -> portal invite", fmt.Sprintf("%.1f ms", r.InviteMs))
	row("first line, IRC -> Matrix", fmt.Sprintf("%.1f ms (written when the Matrix user's JOIN showed on IRC; ghosts in the room before it: %d)", r.FirstLineMs, r.GhostsBeforeFirstLine))
	row("first reply, Matrix -> IRC", fmt.Sprintf("%.1f ms (sent once the user was in the room)", r.FirstReplyMs))
	row("join command -> every ghost in", fmt.Sprintf("%.2f s (%.1f ghost joins per second)", r.AllGhostsS, r.GhostsPerSec))
	row("then members quit at once", r.Quits)
	row("a line right after, IRC -> Matrix", fmt.Sprintf("%.1f ms", r.LineAfterQuitsMs))
	row("quits -> every leave in", fmt.Sprintf("%.2f s", r.AllLeavesS))
}
