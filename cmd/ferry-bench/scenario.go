package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/irc.v4"
	"maunium.net/go/mautrix/event"

	"github.com/ferrybridge/ferry/irc/ircconn"
)

// result is one scenario's outcome.
type result struct {
	Scenario   string  `json:"scenario"`
	Sent       int     `json:"sent"`
	Received   int     `json:"received"`
	Lost       int     `json:"lost"`
	Duplicated int     `json:"duplicated"`
	Reordered  int     `json:"reordered"`
	OK         bool    `json:"ok"`
	P50ms      float64 `json:"p50_ms"`
	P95ms      float64 `json:"p95_ms"`
	P99ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	MeanMs     float64 `json:"mean_ms"`
	SendSecs   float64 `json:"send_seconds"`
	DrainSecs  float64 `json:"drain_seconds"`
	SentPerSec float64 `json:"sent_per_second"`
	Throughput float64 `json:"drained_per_second"`
}

// ircToMatrix: an IRC peer sends numbered PRIVMSGs into the bridged
// channel; the Matrix user's /sync receives them.
func ircToMatrix(ctx context.Context, e *env, s *settings) (*result, error) {
	joined := make(chan struct{}, 1)
	peer, err := ircconn.Dial(ctx, ircconn.Config{
		Addr: e.ircd.Addr, Nick: peerNick, Unlimited: true, QueueSize: s.N + 16,
		Handler: func(m *irc.Message) {
			if m.Command == "366" { // end of NAMES: the JOIN is done
				select {
				case joined <- struct{}{}:
				default:
				}
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	defer peer.Close("bye")
	if err := peer.Send(&irc.Message{Command: "JOIN", Params: []string{ircChannel}}); err != nil {
		return nil, err
	}
	select {
	case <-joined:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("peer never joined %s", ircChannel)
	}

	// Warm up: the first message makes the peer's ghost and its join.
	runID := strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	before := e.user.count(e.portal)
	warm := "warmup " + runID
	if err := peer.Send(&irc.Message{Command: "PRIVMSG", Params: []string{ircChannel, warm}}); err != nil {
		return nil, err
	}
	if err := e.user.waitFor(ctx, "the warm-up message in the portal", 60*time.Second, func() bool {
		for _, a := range e.user.timelines[e.portal][before:] {
			if msg := a.evt.Content.AsMessage(); a.evt.Type == event.EventMessage && msg != nil && msg.Body == warm {
				return true
			}
		}
		return false
	}); err != nil {
		return nil, e.withFerryLog(err)
	}

	say("sending %d messages at %s intervals", s.N, s.Interval)
	prefix := "bench " + runID + " "
	start := e.user.count(e.portal)
	sent := make([]time.Time, s.N)
	ticker := time.NewTicker(s.Interval)
	for i := 0; i < s.N; i++ {
		if i > 0 {
			<-ticker.C
		}
		sent[i] = time.Now()
		if err := peer.Send(&irc.Message{Command: "PRIVMSG", Params: []string{ircChannel, prefix + strconv.Itoa(i)}}); err != nil {
			ticker.Stop()
			return nil, fmt.Errorf("peer send %d: %w", i, err)
		}
	}
	ticker.Stop()
	sendEnd := time.Now()

	// Collect until all arrived or nothing new came for DrainTimeout.
	var got []arrival
	collect := func() int {
		got = got[:0]
		for _, a := range e.user.timelines[e.portal][start:] {
			if msg := a.evt.Content.AsMessage(); a.evt.Type == event.EventMessage && msg != nil && strings.HasPrefix(msg.Body, prefix) {
				got = append(got, a)
			}
		}
		return len(got)
	}
	for {
		last := -1
		err := e.user.waitFor(ctx, "the burst", s.DrainTimeout, func() bool {
			n := collect()
			if last < 0 {
				last = n
			}
			return n >= s.N || n > last
		})
		if err != nil || len(got) >= s.N {
			break
		}
	}
	e.user.mu.Lock()
	collect()
	got = append([]arrival(nil), got...)
	e.user.mu.Unlock()

	res := &result{Scenario: s.Scenario, Sent: s.N}
	seen := make(map[int]bool)
	var lat []float64
	prev := -1
	var lastAt time.Time
	for _, a := range got {
		i, err := strconv.Atoi(strings.TrimPrefix(a.evt.Content.AsMessage().Body, prefix))
		if err != nil || i < 0 || i >= s.N {
			continue
		}
		if seen[i] {
			res.Duplicated++
			continue
		}
		seen[i] = true
		if i < prev {
			res.Reordered++
		}
		prev = max(prev, i)
		lat = append(lat, float64(a.at.Sub(sent[i]).Microseconds())/1000)
		if a.at.After(lastAt) {
			lastAt = a.at
		}
	}
	res.Received = len(seen)
	res.Lost = s.N - res.Received
	res.OK = res.Lost == 0 && res.Duplicated == 0 && res.Reordered == 0
	res.SendSecs = sendEnd.Sub(sent[0]).Seconds()
	if res.SendSecs > 0 {
		res.SentPerSec = float64(s.N) / res.SendSecs
	}
	if len(lat) > 0 {
		res.DrainSecs = lastAt.Sub(sent[0]).Seconds()
		res.Throughput = float64(res.Received) / res.DrainSecs
		sort.Float64s(lat)
		res.P50ms, res.P95ms, res.P99ms = pct(lat, 50), pct(lat, 95), pct(lat, 99)
		res.MaxMs = lat[len(lat)-1]
		var sum float64
		for _, v := range lat {
			sum += v
		}
		res.MeanMs = round(sum / float64(len(lat)))
	}
	return res, nil
}

// pct is the nearest-rank percentile of sorted values.
func pct(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }
