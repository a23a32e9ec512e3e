package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// result is the outcome of one direction of one scenario.
type result struct {
	Scenario  string `json:"scenario"`
	Direction string `json:"direction"` // irc-to-matrix or matrix-to-irc
	// Path says what the end-to-end latency runs from and to.
	Path       string `json:"path"`
	Channels   int    `json:"channels"`
	Sent       int    `json:"sent"`
	Received   int    `json:"received"`
	Lost       int    `json:"lost"`
	Duplicated int    `json:"duplicated"`
	Reordered  int    `json:"reordered"`
	// Unordered marks a result whose messages were sent concurrently, so
	// their order is not judged (the concurrent homeserver-alone baseline).
	Unordered bool `json:"unordered,omitempty"`
	// BadChannels lists the channels with loss, duplication or reordering.
	BadChannels []string `json:"bad_channels,omitempty"`
	OK          bool     `json:"ok"`
	P50ms       float64  `json:"p50_ms"`
	P95ms       float64  `json:"p95_ms"`
	P99ms       float64  `json:"p99_ms"`
	MaxMs       float64  `json:"max_ms"`
	MeanMs      float64  `json:"mean_ms"`
	SendSecs    float64  `json:"send_seconds"`
	DrainSecs   float64  `json:"drain_seconds"`
	SentPerSec  float64  `json:"sent_per_second"`
	Throughput  float64  `json:"drained_per_second"`

	// FerryShare is Ferry's own time per message from its /metrics: IRC
	// line read -> send request written to the homeserver, or homeserver
	// transaction received -> IRC line written to the socket.
	FerryShare *stageStats `json:"ferry_share,omitempty"`
	// Transaction is Ferry's answer time to the homeserver's transactions
	// (Matrix -> IRC): the homeserver pushes the next one only after it.
	Transaction *stageStats `json:"ferry_transaction,omitempty"`
	// Queue is the part of FerryShare spent waiting for the portal (behind
	// the room's earlier messages); Handling is the rest (IRC -> Matrix).
	Queue    *stageStats `json:"ferry_queue,omitempty"`
	Handling *stageStats `json:"ferry_handling,omitempty"`
	// Store times storing the message. IRC -> Matrix: the line read until
	// its row committed, part of Queue (only lines that found their
	// portal busy). Matrix -> IRC: the transaction received until its
	// events were, which is after the line was written, so not part of
	// FerryShare.
	Store *stageStats `json:"ferry_store,omitempty"`
	// Homeserver is the homeserver's answer to Ferry's send (IRC -> Matrix).
	Homeserver *stageStats `json:"homeserver_send,omitempty"`
	// FerrySend is transaction received -> the IRC network's Send returned,
	// which includes the IRC server's echo of the line (Matrix -> IRC).
	FerrySend *stageStats `json:"ferry_until_send_returned,omitempty"`
	// Processors is what the processors did during the burst.
	Processors *processorUse `json:"processors,omitempty"`

	// DendritePush is the baseline of Matrix -> IRC: the Matrix client's
	// send -> the transaction's arrival at a second appservice (observer.go).
	DendritePush *latency `json:"dendrite_push,omitempty"`
	// PushMissing counts messages the observer never saw.
	PushMissing int `json:"dendrite_push_missing,omitempty"`
	// AbovePushP99ms is the end-to-end p99 minus Dendrite's push p99.
	AbovePushP99ms *float64 `json:"p99_above_dendrite_push_ms,omitempty"`
	// AfterPush is, per message, IRC peer receive - observer arrival.
	AfterPush *latency `json:"per_message_after_dendrite_push,omitempty"`
	// FerryPush is, with -tap, the Matrix client's send -> the transaction
	// at Ferry's door; AfterFerryPush from there to the IRC peer.
	FerryPush      *latency `json:"dendrite_push_to_ferry,omitempty"`
	AfterFerryPush *latency `json:"per_message_after_push_to_ferry,omitempty"`

	// Bursts are each burst's own figures when there were several; the
	// rest of the result then pools them (bursts.go).
	Bursts []burstFigures `json:"bursts,omitempty"`
}

type latency struct {
	Count  int     `json:"count"`
	P50ms  float64 `json:"p50_ms"`
	P95ms  float64 `json:"p95_ms"`
	P99ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

func summarize(vals []float64) *latency {
	if len(vals) == 0 {
		return nil
	}
	sorted := append([]float64(nil), vals...)
	sort.Float64s(sorted)
	var sum float64
	for _, v := range sorted {
		sum += v
	}
	return &latency{
		Count: len(sorted), P50ms: pct(sorted, 50), P95ms: pct(sorted, 95), P99ms: pct(sorted, 99),
		MaxMs: sorted[len(sorted)-1], MeanMs: round(sum / float64(len(sorted))),
	}
}

// runScenario runs the scenario s names on a started test bed: the
// warm-up, then -bursts bursts, burstPause apart; with several, each
// direction's result pools them (bursts.go).
func runScenario(ctx context.Context, e *env, s *settings) ([]*result, error) {
	runID := strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	peer, err := dialPeer(ctx, e, s.Bursts*s.N*s.Channels+64)
	if err != nil {
		return nil, err
	}
	defer peer.close()
	type direction struct {
		warmUp func(ctx context.Context, e *env, peer *ircPeer, runID string) error
		burst  func(ctx context.Context, e *env, s *settings, peer *ircPeer, runID string) (*burst, error)
		tag    string
	}
	up := direction{warmUpIRCToMatrix, ircToMatrix, "u"}
	down := direction{warmUpMatrixToIRC, matrixToIRC, "d"}
	alone := direction{warmUpHomeserverAlone, homeserverAlone, "h"}
	var dirs []direction
	switch s.Scenario {
	case "irc-to-matrix":
		dirs = []direction{up}
		if s.HomeserverAlone != "" {
			dirs = append(dirs, alone)
		}
	case "matrix-to-irc":
		dirs = []direction{down}
	case "throughput":
		// Both directions over every channel, one after the other so that
		// each direction's rate is its own.
		dirs = []direction{up, down}
	default:
		return nil, fmt.Errorf("unknown scenario %q", s.Scenario)
	}
	for _, d := range dirs {
		if err := d.warmUp(ctx, e, peer, runID+d.tag); err != nil {
			return nil, err
		}
	}
	bursts := make([][]*burst, len(dirs))
	for i := range s.Bursts {
		if i > 0 {
			time.Sleep(burstPause)
		}
		for k, d := range dirs {
			b, err := d.burst(ctx, e, s, peer, runID+d.tag+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			bursts[k] = append(bursts[k], b)
		}
	}
	results := make([]*result, len(dirs))
	for k := range dirs {
		results[k] = pool(bursts[k])
	}
	return results, nil
}

// arrived is one bridged message at its destination.
type arrived struct {
	body string
	at   time.Time
}

// tally checks one channel's arrivals against what was sent: every message
// once, in order. It adds the channel's latencies (ms) to lat and returns
// the last arrival.
func tally(res *result, channel, prefix string, sent []time.Time, got []arrived, lat *[]float64) time.Time {
	seen := make(map[int]bool, len(sent))
	prev := -1
	var last time.Time
	dup, reord := 0, 0
	for _, a := range got {
		i, err := strconv.Atoi(a.body[len(prefix):])
		if err != nil || i < 0 || i >= len(sent) {
			continue
		}
		if seen[i] {
			dup++
			continue
		}
		seen[i] = true
		if i < prev {
			reord++
		}
		prev = max(prev, i)
		*lat = append(*lat, float64(a.at.Sub(sent[i]).Microseconds())/1000)
		if a.at.After(last) {
			last = a.at
		}
	}
	lost := len(sent) - len(seen)
	res.Sent += len(sent)
	res.Received += len(seen)
	res.Lost += lost
	res.Duplicated += dup
	res.Reordered += reord
	if lost+dup+reord > 0 {
		res.BadChannels = append(res.BadChannels, fmt.Sprintf("%s (lost %d, duplicated %d, reordered %d)", channel, lost, dup, reord))
	}
	return last
}

// finish fills the latency and rate figures of res.
func finish(res *result, first, sendEnd, last time.Time, lat []float64) {
	res.OK = res.Lost == 0 && res.Duplicated == 0 && res.Reordered == 0
	res.SendSecs = sendEnd.Sub(first).Seconds()
	if res.SendSecs > 0 {
		res.SentPerSec = round(float64(res.Sent) / res.SendSecs)
	}
	if l := summarize(lat); l != nil {
		res.P50ms, res.P95ms, res.P99ms, res.MaxMs, res.MeanMs = l.P50ms, l.P95ms, l.P99ms, l.MaxMs, l.MeanMs
		res.DrainSecs = last.Sub(first).Seconds()
		if res.DrainSecs > 0 {
			res.Throughput = round(float64(res.Received) / res.DrainSecs)
		}
	}
}

// drain waits until total messages arrived, or until nothing new arrived
// for timeout. wait(timeout, check) blocks until check (called under the
// receiver's lock, as is count) is true, or fails.
func drain(total int, timeout time.Duration, count func() int, wait func(timeout time.Duration, check func() bool) error) {
	for {
		last, n := -1, 0
		err := wait(timeout, func() bool {
			n = count()
			if last < 0 {
				last = n
			}
			return n >= total || n > last
		})
		if err != nil || n >= total {
			return
		}
	}
}

// settle gives Ferry a moment to record the last messages' stages (some
// are recorded after the homeserver's or the IRC server's answer, which
// can come after the message reached the other side).
func settle() { time.Sleep(300 * time.Millisecond) }

// pct is the nearest-rank percentile of sorted values.
func pct(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }
