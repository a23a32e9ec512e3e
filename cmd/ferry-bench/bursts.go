package main

import (
	"strconv"
	"time"

	"github.com/ferrybridge/ferry/bridge/metrics"
)

// Repeated bursts. A p99 of one burst of 200 messages is its second-worst
// message, and on a small machine that one is decided by which thread the
// kernel happened to run at the time: it moves by a factor of two between
// identical runs. -bursts repeats the burst in the same test bed, reports
// every burst's own figures, and computes the percentiles over all the
// bursts' messages together, which estimates the same percentile of the
// same per-message latency with far less noise.

// burstPause separates two bursts, so that the tails of one (the IRC
// server's echoes, Dendrite's fan-out to other clients) are over before
// the next starts.
const burstPause = time.Second

// burst is what one burst of one direction measured: its own result and
// the samples and counters its figures came from, for pooling.
type burst struct {
	res                                         *result
	lat, push, afterPush, ferryPush, afterFerry []float64
	first, sendEnd, last                        time.Time
	before, after                               *metrics.Parsed
}

// burstFigures is one burst's line in a report of several.
type burstFigures struct {
	P99ms          float64     `json:"p99_ms"`
	AbovePushP99ms *float64    `json:"p99_above_dendrite_push_ms,omitempty"`
	FerryShare     *stageStats `json:"ferry_share,omitempty"`
	Integrity      bool        `json:"ok"`
}

// finish fills b.res from b's samples and scrapes, for one burst or for
// several pooled (see pool).
func (b *burst) finish(processors *processorUse) {
	res := b.res
	finish(res, b.first, b.sendEnd, b.last, b.lat)
	if res.Direction == "matrix-to-irc" {
		res.DendritePush = summarize(b.push)
		res.AfterPush = summarize(b.afterPush)
		res.FerryPush = summarize(b.ferryPush)
		res.AfterFerryPush = summarize(b.afterFerry)
		if res.DendritePush != nil && len(b.lat) > 0 {
			v := round(res.P99ms - res.DendritePush.P99ms)
			res.AbovePushP99ms = &v
		}
	}
	fillStages(res, b.before, b.after)
	res.Processors = processors
}

// fillStages sets the result's figures from Ferry's stage histograms
// between two scrapes.
func fillStages(res *result, before, after *metrics.Parsed) {
	switch res.Direction {
	case "irc-to-matrix":
		res.FerryShare = stageDelta(before, after, metrics.RemoteToMatrix, metrics.StageFerry)
		res.Queue = stageDelta(before, after, metrics.RemoteToMatrix, metrics.StageQueue)
		res.Store = stageDelta(before, after, metrics.RemoteToMatrix, metrics.StageStore)
		res.Handling = stageDelta(before, after, metrics.RemoteToMatrix, metrics.StageHandling)
		res.Homeserver = stageDelta(before, after, metrics.RemoteToMatrix, metrics.StageHomeserver)
	case "matrix-to-irc":
		res.FerryShare = stageDelta(before, after, metrics.MatrixToRemote, metrics.StageFerry)
		res.Queue = stageDelta(before, after, metrics.MatrixToRemote, metrics.StageQueue)
		res.Store = stageDeltaOf(before, after, metrics.MatrixToRemote, "", metrics.StageStore)
		res.Transaction = stageDeltaOf(before, after, metrics.MatrixToRemote, "", metrics.StageTransaction)
		res.FerrySend = stageDelta(before, after, metrics.MatrixToRemote, metrics.StageSend)
	}
}

// pool is the result of several bursts of one direction taken together:
// percentiles over all their messages, counts and processor time summed,
// rates over the bursts' summed durations, Ferry's stages from the first
// burst's start to the last one's end (nothing else is bridged between
// bursts: the warm-up runs once, before the first). Each burst's own
// figures are kept in Bursts.
func pool(bursts []*burst) *result {
	if len(bursts) == 1 {
		return bursts[0].res
	}
	first := bursts[0].res
	res := &result{Scenario: first.Scenario, Direction: first.Direction, Path: first.Path, Channels: first.Channels, Unordered: first.Unordered}
	var all burst
	all.res = res
	var procs []*processorUse
	for i, b := range bursts {
		r := b.res
		res.Sent += r.Sent
		res.Received += r.Received
		res.Lost += r.Lost
		res.Duplicated += r.Duplicated
		res.Reordered += r.Reordered
		res.PushMissing += r.PushMissing
		for _, bad := range r.BadChannels {
			res.BadChannels = append(res.BadChannels, "burst "+strconv.Itoa(i+1)+": "+bad)
		}
		res.SendSecs += r.SendSecs
		res.DrainSecs += r.DrainSecs
		all.lat = append(all.lat, b.lat...)
		all.push = append(all.push, b.push...)
		all.afterPush = append(all.afterPush, b.afterPush...)
		all.ferryPush = append(all.ferryPush, b.ferryPush...)
		all.afterFerry = append(all.afterFerry, b.afterFerry...)
		if r.Processors != nil {
			procs = append(procs, r.Processors)
		}
		res.Bursts = append(res.Bursts, burstFigures{P99ms: r.P99ms, AbovePushP99ms: r.AbovePushP99ms, FerryShare: r.FerryShare, Integrity: r.OK})
	}
	sendSecs, drainSecs := res.SendSecs, res.DrainSecs
	last := bursts[len(bursts)-1]
	all.before, all.after = bursts[0].before, last.after
	all.first, all.sendEnd, all.last = bursts[0].first, last.sendEnd, last.last
	// finish derives durations from first, sendEnd and last, which span
	// the pauses too; the rates are over the bursts' own durations.
	all.finish(sumProcessors(procs, res.Sent))
	res.SendSecs, res.DrainSecs = round(sendSecs), round(drainSecs)
	res.SentPerSec, res.Throughput = 0, 0
	if sendSecs > 0 {
		res.SentPerSec = round(float64(res.Sent) / sendSecs)
	}
	if drainSecs > 0 {
		res.Throughput = round(float64(res.Received) / drainSecs)
	}
	return res
}

// sumProcessors adds up the bursts' processor use; the machine's busy
// share is weighted by each burst's window. Nil when a burst has none.
func sumProcessors(procs []*processorUse, messages int) *processorUse {
	if len(procs) == 0 {
		return nil
	}
	sum := &processorUse{Cores: procs[0].Cores}
	var busy float64
	for _, p := range procs {
		sum.WindowSecs += p.WindowSecs
		sum.FerryMs += p.FerryMs
		sum.DendriteMs += p.DendriteMs
		sum.FerryPreempted += p.FerryPreempted
		busy += p.MachineBusyPct * p.WindowSecs
	}
	if sum.WindowSecs > 0 {
		sum.MachineBusyPct = round(busy / sum.WindowSecs)
	}
	sum.WindowSecs, sum.FerryMs, sum.DendriteMs = round(sum.WindowSecs), round(sum.FerryMs), round(sum.DendriteMs)
	if messages > 0 {
		sum.FerryPerMessageMs = round(sum.FerryMs / float64(messages))
		sum.FerryPreemptedPerMessage = round(float64(sum.FerryPreempted) / float64(messages))
	}
	return sum
}
