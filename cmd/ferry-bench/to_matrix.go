package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// warmUpIRCToMatrix sends a first message into each channel and waits for
// it in the portals: it makes the peer's ghost and its join, which is not
// what is measured.
func warmUpIRCToMatrix(ctx context.Context, e *env, peer *ircPeer, runID string) error {
	starts := make([]int, len(e.portals))
	warm := make([]string, len(e.portals))
	for k, pt := range e.portals {
		starts[k] = e.user.count(pt.room)
		warm[k] = "warmup " + runID + " " + strconv.Itoa(k)
		if err := peer.send(pt.channel, warm[k]); err != nil {
			return err
		}
	}
	err := e.user.waitFor(ctx, "the warm-up messages in the portals", 60*time.Second, func() bool {
		for k, pt := range e.portals {
			if !hasBody(e.user.timelines[pt.room][starts[k]:], warm[k]) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return e.withFerryLog(err)
	}
	return nil
}

// ircToMatrix: the IRC peer sends numbered PRIVMSGs into every bridged
// channel, round-robin, one round per interval; the Matrix user's /sync
// receives them. The warm-up has run.
func ircToMatrix(ctx context.Context, e *env, s *settings, peer *ircPeer, runID string) (*burst, error) {
	starts := make([]int, len(e.portals))
	before, prefixes, sent, err := e.startBurst(ctx, runID, s.N)
	if err != nil {
		return nil, err
	}
	say("IRC -> Matrix: %d messages per channel over %d channels, %s between rounds", s.N, len(e.portals), s.Interval)
	for k, pt := range e.portals {
		starts[k] = e.user.count(pt.room)
	}
	ticker := time.NewTicker(s.Interval)
	first := time.Now()
	for i := 0; i < s.N; i++ {
		if i > 0 {
			<-ticker.C
		}
		for k, pt := range e.portals {
			sent[k][i] = time.Now()
			if err := peer.send(pt.channel, prefixes[k]+strconv.Itoa(i)); err != nil {
				ticker.Stop()
				return nil, fmt.Errorf("peer send %d to %s: %w", i, pt.channel, err)
			}
		}
	}
	ticker.Stop()
	sendEnd := time.Now()

	b := &burst{first: first, sendEnd: sendEnd, before: before}
	b.res = &result{Scenario: s.Scenario, Direction: "irc-to-matrix", Channels: len(e.portals),
		Path: "IRC peer's PRIVMSG written -> Matrix client's /sync response read"}
	rooms, names := make([]id.RoomID, len(e.portals)), make([]string, len(e.portals))
	for k, pt := range e.portals {
		rooms[k], names[k] = pt.room, pt.channel
	}
	if err = e.receiveBurst(ctx, s, b, "the burst", burstRooms{rooms, names, starts, prefixes, sent}); err != nil {
		return nil, err
	}
	return b, nil
}

// burstRooms are the rooms a burst was sent into, with what was sent:
// names label them in the result, starts are the Matrix user's timeline
// lengths before the burst, and each room's messages start with its
// prefix and were sent at its times.
type burstRooms struct {
	rooms    []id.RoomID
	names    []string
	starts   []int
	prefixes []string
	sent     [][]time.Time
}

// receiveBurst waits for a burst's messages in the Matrix user's /sync
// (all of them, or until none came for -drain-timeout), checks each
// room's against what was sent, and fills b from them and from Ferry's
// metrics.
func (e *env) receiveBurst(ctx context.Context, s *settings, b *burst, what string, br burstRooms) error {
	collect := func(k int) []arrived {
		var got []arrived
		for _, a := range e.user.timelines[br.rooms[k]][br.starts[k]:] {
			if msg := a.evt.Content.AsMessage(); a.evt.Type == event.EventMessage && msg != nil && strings.HasPrefix(msg.Body, br.prefixes[k]) {
				got = append(got, arrived{body: msg.Body, at: a.at})
			}
		}
		return got
	}
	total := s.N * len(br.rooms)
	drain(total, s.DrainTimeout, func() int {
		n := 0
		for k := range br.rooms {
			n += len(collect(k))
		}
		return n
	}, func(timeout time.Duration, check func() bool) error {
		return e.user.waitFor(ctx, what, timeout, check)
	})
	settle()
	e.user.mu.Lock()
	for k := range br.rooms {
		if l := tally(b.res, br.names[k], br.prefixes[k], br.sent[k], collect(k), &b.lat); l.After(b.last) {
			b.last = l
		}
	}
	e.user.mu.Unlock()
	var err error
	if b.after, err = e.scrape(ctx); err != nil {
		return err
	}
	b.finish(e.burstProcessors(total))
	return nil
}

func hasBody(arrivals []arrival, body string) bool {
	for _, a := range arrivals {
		if msg := a.evt.Content.AsMessage(); a.evt.Type == event.EventMessage && msg != nil && msg.Body == body {
			return true
		}
	}
	return false
}
