package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrybridge/ferry/bridge/metrics"
)

// scrapeOf is what a scrape of reg returns now.
func scrapeOf(t *testing.T, reg *metrics.Registry) *metrics.Parsed {
	t.Helper()
	var buf bytes.Buffer
	if err := reg.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	p, err := metrics.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// matrixToIRCBurst makes a burst of n messages whose end-to-end latency
// is e2e(i) and Dendrite's push push(i), and records Ferry's share of each
// as share(i) in reg, scraped before and after.
func matrixToIRCBurst(t *testing.T, reg *metrics.Registry, start time.Time, n int, e2e, push func(int) float64, share func(int) time.Duration) *burst {
	t.Helper()
	b := &burst{res: &result{Scenario: "matrix-to-irc", Direction: "matrix-to-irc", Channels: 1}}
	b.before = scrapeOf(t, reg)
	key := metrics.StageKey{Direction: metrics.MatrixToRemote, Network: "irc", Stage: metrics.StageFerry}
	sent := make([]time.Time, n)
	var got []arrived
	for i := range n {
		sent[i] = start.Add(time.Duration(i) * 20 * time.Millisecond)
		at := sent[i].Add(time.Duration(e2e(i) * float64(time.Millisecond)))
		got = append(got, arrived{body: "p " + strconv.Itoa(i), at: at})
		b.push = append(b.push, push(i))
		reg.ObserveSince(key, at, at.Add(share(i)))
	}
	b.first, b.sendEnd = sent[0], sent[n-1]
	b.last = tally(b.res, "#c", "p ", sent, got, &b.lat)
	b.after = scrapeOf(t, reg)
	b.finish(&processorUse{WindowSecs: 4, FerryMs: 200, DendriteMs: 3000, MachineBusyPct: 50, Cores: 2, FerryPreempted: 600})
	return b
}

func TestPoolTakesPercentilesOverAllBursts(t *testing.T) {
	reg := metrics.New()
	start := time.Now() // the registry drops what began before it
	const n = 100
	// Burst 1: every message 10 ms, share 0.4 ms, but for two slow ones
	// (50 ms, share 2.2 ms): its own p99 (nearest rank 99) is slow.
	// Burst 2: every message 10 ms, share 0.4 ms. Together 200 messages,
	// whose p99 (nearest rank 198) is 10 ms.
	slow := func(i int) bool { return i == 7 || i == 40 }
	b1 := matrixToIRCBurst(t, reg, start, n,
		func(i int) float64 {
			if slow(i) {
				return 50
			}
			return 10
		},
		func(int) float64 { return 8 },
		func(i int) time.Duration {
			if slow(i) {
				return 2200 * time.Microsecond
			}
			return 400 * time.Microsecond
		})
	b2 := matrixToIRCBurst(t, reg, start.Add(time.Minute), n,
		func(int) float64 { return 10 }, func(int) float64 { return 8 },
		func(int) time.Duration { return 400 * time.Microsecond })

	if b1.res.P99ms != 50 || b1.res.FerryShare.P99ms != 2.5 {
		t.Fatalf("burst 1 alone: p99 %v ms, share p99 <= %v ms; want 50 and 2.5", b1.res.P99ms, b1.res.FerryShare.P99ms)
	}
	res := pool([]*burst{b1, b2})
	if res.Sent != 2*n || res.Received != 2*n || !res.OK {
		t.Errorf("pooled sent %d, received %d, ok %v; want %d, %d, true", res.Sent, res.Received, res.OK, 2*n, 2*n)
	}
	if res.P99ms != 10 || res.MaxMs != 50 {
		t.Errorf("pooled p99 %v ms, max %v ms; want 10 and 50", res.P99ms, res.MaxMs)
	}
	if res.FerryShare == nil || res.FerryShare.Count != 2*n || res.FerryShare.P99ms != 0.5 {
		t.Fatalf("pooled share = %+v; want %d messages, p99 <= 0.5 ms", res.FerryShare, 2*n)
	}
	if over := res.FerryShare.OverShareTarget; over == nil || *over != 2 {
		t.Errorf("pooled share over 2 ms = %v; want the two slow messages", over)
	}
	if res.AbovePushP99ms == nil || *res.AbovePushP99ms != 2 {
		t.Errorf("pooled p99 above push = %v; want 2 ms", res.AbovePushP99ms)
	}
	// Rates over the bursts' own durations, not the minute between them.
	if want := round(2 * n / (2 * b1.res.DrainSecs)); res.Throughput != want {
		t.Errorf("pooled drain rate %v msg/s; want %v", res.Throughput, want)
	}
	if p := res.Processors; p == nil || p.FerryMs != 400 || p.FerryPerMessageMs != 2 || p.FerryPreempted != 1200 || p.MachineBusyPct != 50 {
		t.Errorf("pooled processors = %+v; want 400 ms, 2 ms per message, 1200 preemptions, 50 %% busy", p)
	}
	if len(res.Bursts) != 2 || res.Bursts[0].P99ms != 50 || res.Bursts[1].P99ms != 10 || res.Bursts[0].FerryShare.P99ms != 2.5 {
		t.Errorf("per-burst figures = %+v; want burst 1 at 50 ms (share <= 2.5), burst 2 at 10 ms", res.Bursts)
	}
}

func TestPoolKeepsEachBurstsFaults(t *testing.T) {
	reg := metrics.New()
	start := time.Now() // the registry drops what began before it
	flat := func(int) float64 { return 10 }
	share := func(int) time.Duration { return 300 * time.Microsecond }
	good := matrixToIRCBurst(t, reg, start, 50, flat, flat, share)
	bad := matrixToIRCBurst(t, reg, start.Add(time.Minute), 50, flat, flat, share)
	// One message of the second burst lost on the way.
	bad.res = &result{Scenario: "matrix-to-irc", Direction: "matrix-to-irc", Channels: 1}
	sent := make([]time.Time, 50)
	var got []arrived
	for i := range sent {
		sent[i] = start.Add(time.Minute + time.Duration(i)*20*time.Millisecond)
		if i != 3 {
			got = append(got, arrived{body: "p " + strconv.Itoa(i), at: sent[i].Add(10 * time.Millisecond)})
		}
	}
	bad.lat = nil
	bad.last = tally(bad.res, "#c", "p ", sent, got, &bad.lat)
	bad.finish(nil)
	res := pool([]*burst{good, bad})
	if res.OK || res.Lost != 1 || res.Received != 99 {
		t.Errorf("pooled ok %v, lost %d, received %d; want false, 1, 99", res.OK, res.Lost, res.Received)
	}
	if len(res.BadChannels) != 1 || res.BadChannels[0] != "burst 2: #c (lost 1, duplicated 0, reordered 0)" {
		t.Errorf("bad channels = %q", res.BadChannels)
	}
	if !res.Bursts[0].Integrity || res.Bursts[1].Integrity {
		t.Errorf("per-burst integrity = %v, %v; want true, false", res.Bursts[0].Integrity, res.Bursts[1].Integrity)
	}
}

func TestPoolOfOneBurstIsThatBurst(t *testing.T) {
	reg := metrics.New()
	flat := func(int) float64 { return 10 }
	b := matrixToIRCBurst(t, reg, time.Now(), 20, flat, flat, func(int) time.Duration { return time.Millisecond })
	if res := pool([]*burst{b}); res != b.res || res.Bursts != nil {
		t.Errorf("pool of one burst = %+v; want that burst's result, without a burst list", res)
	}
}

// The concurrent homeserver-alone baseline sends without keeping order:
// pooled, it stays marked so, and its report does not call the order a
// fault, while an ordered result that arrived out of order still is one.
func TestUnorderedBaselineIsNotJudgedOnOrder(t *testing.T) {
	burstOf := func(unordered bool, at time.Time) *burst {
		b := &burst{first: at, sendEnd: at.Add(time.Second)}
		b.res = &result{Scenario: "irc-to-matrix", Direction: homeserverAloneDirection, Channels: 1, Unordered: unordered}
		sent := []time.Time{at, at.Add(20 * time.Millisecond)}
		got := []arrived{{body: "p 1", at: at.Add(30 * time.Millisecond)}, {body: "p 0", at: at.Add(40 * time.Millisecond)}}
		b.last = tally(b.res, "!room", "p ", sent, got, &b.lat)
		b.finish(nil)
		return b
	}
	now := time.Now()
	for _, unordered := range []bool{true, false} {
		res := pool([]*burst{burstOf(unordered, now), burstOf(unordered, now.Add(time.Minute))})
		if res.Unordered != unordered || res.Reordered != 2 {
			t.Errorf("pooled unordered %v, reordered %d; want %v, 2", res.Unordered, res.Reordered, unordered)
		}
		var out strings.Builder
		printResult(&out, func(name string, v any) { fmt.Fprintf(&out, "%s\t%v\n", name, v) }, res)
		judged := !strings.Contains(out.String(), "integrity\tnot judged")
		failed := strings.Contains(out.String(), "integrity\tFAILED")
		if judged == unordered || failed == unordered {
			t.Errorf("unordered %v: the report's integrity line judged %v, failed %v:\n%s", unordered, judged, failed, out.String())
		}
	}
}
