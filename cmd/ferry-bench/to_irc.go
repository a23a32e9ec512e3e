package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// warmUpMatrixToIRC sends a first message into each portal and waits for
// it on IRC.
func warmUpMatrixToIRC(ctx context.Context, e *env, peer *ircPeer, runID string) error {
	starts := make([]int, len(e.portals))
	warm := make([]string, len(e.portals))
	for k, pt := range e.portals {
		starts[k] = len(peer.received(pt.channel))
		warm[k] = "warmup " + runID + " " + strconv.Itoa(k)
		if _, err := e.user.SendText(ctx, pt.room, warm[k]); err != nil {
			return fmt.Errorf("send warm-up to %s: %w", pt.room, err)
		}
	}
	err := peer.waitFor(ctx, 60*time.Second, "the warm-up messages on IRC", func() bool {
		for k, pt := range e.portals {
			found := false
			for _, l := range peer.lines[strings.ToLower(pt.channel)][starts[k]:] {
				found = found || l.text == warm[k]
			}
			if !found {
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

// matrixToIRC: the Matrix user sends numbered messages into every portal
// (one sender per room, each waiting for its previous send to return, as
// a client does, and pacing its sends by interval); the IRC peer receives
// them. The observer appservice times Dendrite's own push of the same
// events, the baseline. The warm-up has run.
func matrixToIRC(ctx context.Context, e *env, s *settings, peer *ircPeer, runID string) (*burst, error) {
	starts := make([]int, len(e.portals))
	before, prefixes, sent, err := e.startBurst(ctx, runID, s.N)
	if err != nil {
		return nil, err
	}
	say("Matrix -> IRC: %d messages per room over %d rooms, %s between sends", s.N, len(e.portals), s.Interval)
	for k, pt := range e.portals {
		starts[k] = len(peer.received(pt.channel))
	}
	first := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(e.portals))
	for k, pt := range e.portals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ticker := time.NewTicker(s.Interval)
			defer ticker.Stop()
			for i := 0; i < s.N; i++ {
				if i > 0 {
					<-ticker.C
				}
				sent[k][i] = time.Now()
				if _, err := e.user.SendText(ctx, pt.room, prefixes[k]+strconv.Itoa(i)); err != nil {
					errs[k] = fmt.Errorf("Matrix send %d to %s: %w", i, pt.room, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sendEnd := time.Now()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	collect := func(k int) []arrived {
		var got []arrived
		for _, l := range peer.lines[strings.ToLower(e.portals[k].channel)][starts[k]:] {
			if strings.HasPrefix(l.text, prefixes[k]) {
				got = append(got, arrived{body: l.text, at: l.at})
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
		return peer.waitFor(ctx, timeout, "the burst on IRC", check)
	})
	settle()

	b := &burst{first: first, sendEnd: sendEnd, before: before}
	b.res = &result{Scenario: s.Scenario, Direction: "matrix-to-irc", Channels: len(e.portals),
		Path: "Matrix client's send request started -> IRC peer's line read"}
	peer.mu.Lock()
	got := make([][]arrived, len(e.portals))
	for k := range e.portals {
		got[k] = collect(k)
	}
	peer.mu.Unlock()
	for k, pt := range e.portals {
		if l := tally(b.res, pt.channel, prefixes[k], sent[k], got[k], &b.lat); l.After(b.last) {
			b.last = l
		}
		received := make(map[string]time.Time, len(got[k]))
		for _, a := range got[k] {
			if _, dup := received[a.body]; !dup {
				received[a.body] = a.at
			}
		}
		for i, at := range sent[k] {
			body := prefixes[k] + strconv.Itoa(i)
			if e.tap != nil {
				if door, ok := e.tap.log.arrival(body); ok {
					b.ferryPush = append(b.ferryPush, float64(door.Sub(at).Microseconds())/1000)
					if rcv, ok := received[body]; ok {
						b.afterFerry = append(b.afterFerry, float64(rcv.Sub(door).Microseconds())/1000)
					}
				}
			}
			if e.observer == nil {
				continue
			}
			pushed, ok := e.observer.arrival(body)
			if !ok {
				b.res.PushMissing++
				continue
			}
			b.push = append(b.push, float64(pushed.Sub(at).Microseconds())/1000)
			if rcv, ok := received[body]; ok {
				b.afterPush = append(b.afterPush, float64(rcv.Sub(pushed).Microseconds())/1000)
			}
		}
	}
	if b.after, err = e.scrape(ctx); err != nil {
		return nil, err
	}
	b.finish(e.burstProcessors(total))
	return b, nil
}
