package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maunium.net/go/mautrix/event"
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

	collect := func(k int) []arrived {
		var got []arrived
		for _, a := range e.user.timelines[e.portals[k].room][starts[k]:] {
			if msg := a.evt.Content.AsMessage(); a.evt.Type == event.EventMessage && msg != nil && strings.HasPrefix(msg.Body, prefixes[k]) {
				got = append(got, arrived{body: msg.Body, at: a.at})
			}
		}
		return got
	}
	total := s.N * len(e.portals)
	drain(total, s.DrainTimeout, func() int {
		n := 0
		for k := range e.portals {
			n += len(collect(k))
		}
		return n
	}, func(timeout time.Duration, check func() bool) error {
		return e.user.waitFor(ctx, "the burst", timeout, check)
	})
	settle()

	b := &burst{first: first, sendEnd: sendEnd, before: before}
	b.res = &result{Scenario: s.Scenario, Direction: "irc-to-matrix", Channels: len(e.portals),
		Path: "IRC peer's PRIVMSG written -> Matrix client's /sync response read"}
	e.user.mu.Lock()
	for k, pt := range e.portals {
		if l := tally(b.res, pt.channel, prefixes[k], sent[k], collect(k), &b.lat); l.After(b.last) {
			b.last = l
		}
	}
	e.user.mu.Unlock()
	if b.after, err = e.scrape(ctx); err != nil {
		return nil, err
	}
	b.finish(e.burstProcessors(total))
	return b, nil
}

func hasBody(arrivals []arrival, body string) bool {
	for _, a := range arrivals {
		if msg := a.evt.Content.AsMessage(); a.evt.Type == event.EventMessage && msg != nil && msg.Body == body {
			return true
		}
	}
	return false
}
