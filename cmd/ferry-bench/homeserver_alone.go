package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/internal/localhs"
)

// The homeserver alone. How fast IRC -> Matrix can drain depends first on
// how fast the homeserver takes messages into a room, and that differs
// from one machine to the next by more than Ferry's whole share. So
// irc-to-matrix also sends the same bursts with no Ferry in the way: a
// second local user sends them, at the same interval, into rooms it
// shares with the Matrix user (one per bridged channel; Ferry has no one
// in them, so it is not asked to bridge them), and the Matrix user reads
// them through the same /sync, as it reads a ghost's. Its bursts
// alternate with Ferry's, so that both meet the same machine. What the
// homeserver does for a bridge and not here is the rest of the
// difference: pushing each event to the appservice, and a third member
// in the room (the bridge's bot).
//
// By default (-homeserver-alone ordered) each room's messages are sent in
// order, each once the one before it is answered, as a bridge must send
// them to keep a conversation's order (Ferry's pipelined connection is no
// faster: the homeserver reads a connection's next request only after
// answering the last). -homeserver-alone concurrent sends each message on
// a goroutine of its own when it is due, as the IRC peer writes each line
// without waiting: the most the homeserver takes in, with messages free
// to reach the room in another order, which that baseline counts but
// does not fail on.

// The baseline's kinds, for -homeserver-alone.
const (
	aloneOrdered    = "ordered"
	aloneConcurrent = "concurrent"
	aloneOff        = "off"
)

const homeserverAlonePath = "another local user's send request started -> Matrix client's /sync response read, in rooms of their own (no Ferry)"

// warmUpHomeserverAlone registers the sender, makes the baseline's rooms
// and sends a first message into each: none of that is what is measured.
func warmUpHomeserverAlone(ctx context.Context, e *env, _ *ircPeer, runID string) error {
	reg, err := e.hs.RegisterUser("benchsender", localhs.RandomHex(8), false)
	if err != nil {
		return fmt.Errorf("register the homeserver-alone sender: %w", err)
	}
	if e.aloneSender, err = mautrix.NewClient(e.hs.URL, reg.UserID, reg.AccessToken); err != nil {
		return err
	}
	e.aloneRooms = nil
	warm := make([]string, len(e.portals))
	starts := make([]int, len(e.portals))
	for k := range e.portals {
		resp, err := e.aloneSender.CreateRoom(ctx, &mautrix.ReqCreateRoom{
			Preset: "private_chat", Name: "homeserver alone " + strconv.Itoa(k), Invite: []id.UserID{e.user.UserID},
		})
		if err != nil {
			return fmt.Errorf("create the homeserver-alone room: %w", err)
		}
		if _, err = e.user.JoinRoomByID(ctx, resp.RoomID); err != nil {
			return fmt.Errorf("join the homeserver-alone room: %w", err)
		}
		e.aloneRooms = append(e.aloneRooms, resp.RoomID)
		starts[k] = e.user.count(resp.RoomID)
		warm[k] = "warmup " + runID + " " + strconv.Itoa(k)
		if _, err = e.aloneSender.SendText(ctx, resp.RoomID, warm[k]); err != nil {
			return fmt.Errorf("warm up the homeserver-alone room: %w", err)
		}
	}
	return e.user.waitFor(ctx, "the warm-up messages in the homeserver-alone rooms", 60*time.Second, func() bool {
		for k, room := range e.aloneRooms {
			if !hasBody(e.user.timelines[room][starts[k]:], warm[k]) {
				return false
			}
		}
		return true
	})
}

// homeserverAlone sends one burst as the sender into the baseline's rooms,
// round-robin, one round per interval, and has the Matrix user read it.
func homeserverAlone(ctx context.Context, e *env, s *settings, _ *ircPeer, runID string) (*burst, error) {
	rooms := e.aloneRooms
	if len(rooms) != len(e.portals) {
		return nil, fmt.Errorf("homeserver alone: %d rooms for %d channels (no warm-up?)", len(rooms), len(e.portals))
	}
	before, prefixes, sent, err := e.startBurst(ctx, runID, s.N)
	if err != nil {
		return nil, err
	}
	say("homeserver alone: %d messages per room over %d rooms, %s between rounds", s.N, len(rooms), s.Interval)
	starts := make([]int, len(rooms))
	for k, room := range rooms {
		starts[k] = e.user.count(room)
	}
	var (
		sends    sync.WaitGroup
		failMu   sync.Mutex
		failures []string
	)
	send := func(room id.RoomID, body string) {
		if _, err := e.aloneSender.SendText(ctx, room, body); err != nil {
			failMu.Lock()
			failures = append(failures, fmt.Sprintf("%s: %v", body, err))
			failMu.Unlock()
		}
	}
	var sendEnd time.Time
	first := time.Now()
	// Message i of every room is due at first + i*interval, as the IRC
	// peer's line is; its latency counts from then.
	due := func(i int) time.Time { return first.Add(time.Duration(i) * s.Interval) }
	if s.HomeserverAlone == aloneConcurrent {
		for i := 0; i < s.N; i++ {
			time.Sleep(time.Until(due(i)))
			for k, room := range rooms {
				sent[k][i] = due(i)
				sends.Add(1)
				go func() {
					defer sends.Done()
					send(room, prefixes[k]+strconv.Itoa(i))
				}()
			}
		}
		sendEnd = time.Now()
	} else {
		// In order, as a bridge must send: each message once the one
		// before it is answered, or when it is due if that is later.
		for k, room := range rooms {
			sends.Add(1)
			go func() {
				defer sends.Done()
				for i := 0; i < s.N; i++ {
					time.Sleep(time.Until(due(i)))
					sent[k][i] = due(i)
					send(room, prefixes[k]+strconv.Itoa(i))
				}
			}()
		}
	}
	sends.Wait()
	if sendEnd.IsZero() {
		sendEnd = time.Now() // the last message answered
	}
	for _, f := range failures {
		say("homeserver alone: send failed: %s", f) // counted as lost below
	}

	b := &burst{first: first, sendEnd: sendEnd, before: before}
	b.res = &result{Scenario: s.Scenario, Direction: homeserverAloneDirection, Channels: len(rooms),
		Path: homeserverAlonePath + ", sent " + s.HomeserverAlone, Unordered: s.HomeserverAlone == aloneConcurrent}
	names := make([]string, len(rooms))
	for k, room := range rooms {
		names[k] = room.String()
	}
	if err = e.receiveBurst(ctx, s, b, "the homeserver-alone burst", burstRooms{rooms, names, starts, prefixes, sent}); err != nil {
		return nil, err
	}
	return b, nil
}

// homeserverAloneDirection names the baseline's result.
const homeserverAloneDirection = "homeserver-alone"
