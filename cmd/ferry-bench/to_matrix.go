package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/bridge/metrics"
)

// ircToMatrix: the IRC peer sends numbered PRIVMSGs into every bridged
// channel, round-robin, one round per interval; the Matrix user's /sync
// receives them.
func ircToMatrix(ctx context.Context, e *env, s *settings, peer *ircPeer, runID string) (*result, error) {
	// Warm up: the first message in each channel makes the peer's ghost
	// and its join, which is not what is measured.
	starts := make([]int, len(e.portals))
	warm := make([]string, len(e.portals))
	for k, pt := range e.portals {
		starts[k] = e.user.count(pt.room)
		warm[k] = "warmup " + runID + " " + strconv.Itoa(k)
		if err := peer.send(pt.channel, warm[k]); err != nil {
			return nil, err
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
		return nil, e.withFerryLog(err)
	}
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

	res := &result{Scenario: s.Scenario, Direction: "irc-to-matrix", Channels: len(e.portals),
		Path: "IRC peer's PRIVMSG written -> Matrix client's /sync response read"}
	var lat []float64
	var last time.Time
	e.user.mu.Lock()
	for k, pt := range e.portals {
		if l := tally(res, pt.channel, prefixes[k], sent[k], collect(k), &lat); l.After(last) {
			last = l
		}
	}
	e.user.mu.Unlock()
	finish(res, first, sendEnd, last, lat)

	after, err := e.scrape(ctx)
	if err != nil {
		return nil, err
	}
	res.FerryShare = stageDelta(before, after, metrics.RemoteToMatrix, metrics.StageFerry)
	res.Queue = stageDelta(before, after, metrics.RemoteToMatrix, metrics.StageQueue)
	res.Handling = stageDelta(before, after, metrics.RemoteToMatrix, metrics.StageHandling)
	res.Homeserver = stageDelta(before, after, metrics.RemoteToMatrix, metrics.StageHomeserver)
	res.Processors = e.burstProcessors(total)
	return res, nil
}

func hasBody(arrivals []arrival, body string) bool {
	for _, a := range arrivals {
		if msg := a.evt.Content.AsMessage(); a.evt.Type == event.EventMessage && msg != nil && msg.Body == body {
			return true
		}
	}
	return false
}
