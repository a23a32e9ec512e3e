package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/ferrybridge/ferry/bridge/metrics"
)

// stageStats summarises one of Ferry's stage histograms over a burst (the
// difference of two scrapes). Percentiles are the upper bounds of the
// histogram buckets holding them: a histogram cannot say more, and a bound
// never understates. The mean is exact.
type stageStats struct {
	Metric string  `json:"metric"`
	Count  uint64  `json:"count"`
	P50ms  float64 `json:"p50_le_ms"`
	P95ms  float64 `json:"p95_le_ms"`
	P99ms  float64 `json:"p99_le_ms"`
	MeanMs float64 `json:"mean_ms"`
	// OverShareTarget counts the observations above shareTarget, exactly
	// (the target is a bucket bound); nil if the histogram lacks that
	// bound. A p99 under the target means at most 1 % of them.
	OverShareTarget *uint64 `json:"over_2ms,omitempty"`
}

// shareTarget is the target for the p99 of Ferry's own share.
const shareTarget = 2 * time.Millisecond

func (e *env) scrape(ctx context.Context) (*metrics.Parsed, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape Ferry's metrics: %w", err)
	}
	defer resp.Body.Close()
	p, err := metrics.Parse(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("Ferry's /metrics: %w", err)
	}
	return p, nil
}

// stageDelta is what one stage recorded between two scrapes; nil when it
// recorded nothing.
func stageDelta(before, after *metrics.Parsed, direction, stage string) *stageStats {
	return stageDeltaOf(before, after, direction, "irc", stage)
}

func stageDeltaOf(before, after *metrics.Parsed, direction, net, stage string) *stageStats {
	labels := []string{"direction", direction, "network", net, "stage", stage}
	a, ok := after.Histogram(metrics.StageMetric, labels...)
	if !ok {
		return nil
	}
	b, _ := before.Histogram(metrics.StageMetric, labels...)
	d := a.Sub(b)
	if d.Count == 0 {
		return nil
	}
	msOf := func(sec float64) float64 {
		if math.IsInf(sec, 1) || math.IsNaN(sec) {
			return -1 // beyond the last bucket; JSON has no +Inf
		}
		return round(sec * 1000)
	}
	st := &stageStats{
		Metric: fmt.Sprintf(`%s{direction=%q,network=%q,stage=%q}`, metrics.StageMetric, direction, net, stage),
		Count:  d.Count,
		P50ms:  msOf(d.Quantile(0.50)),
		P95ms:  msOf(d.Quantile(0.95)),
		P99ms:  msOf(d.Quantile(0.99)),
		MeanMs: msOf(d.Mean()),
	}
	for i, bound := range d.Bounds {
		if bound == shareTarget.Seconds() {
			over := d.Count - d.Cumulative[i]
			st.OverShareTarget = &over
		}
	}
	return st
}

// startBurst is how both directions begin a burst once the warm-up has
// arrived: Ferry's metrics as they stand (the warm-up's last stages are
// recorded just after it arrives, hence the settle), and per portal the
// prefix of its numbered messages and a slot for each message's send time.
// burstProcessors is the processors' use since the burst started, or nil.
func (e *env) burstProcessors(messages int) *processorUse {
	if e.burstStart == nil {
		return nil
	}
	c, err := readProcessors(e.ferry.Process.Pid, e.hs.Pid())
	if err != nil {
		say("processor counters unavailable: %v", err)
		return nil
	}
	return c.since(*e.burstStart, messages, describeMachine().Cores)
}

func (e *env) startBurst(ctx context.Context, runID string, n int) (before *metrics.Parsed, prefixes []string, sent [][]time.Time, err error) {
	settle()
	if before, err = e.scrape(ctx); err != nil {
		return nil, nil, nil, err
	}
	e.burstStart = nil
	if c, err := readProcessors(e.ferry.Process.Pid, e.hs.Pid()); err == nil {
		e.burstStart = &c
	} else {
		say("processor counters unavailable: %v", err)
	}
	prefixes = make([]string, len(e.portals))
	sent = make([][]time.Time, len(e.portals))
	for k := range e.portals {
		prefixes[k] = "bench " + runID + " " + strconv.Itoa(k) + " "
		sent[k] = make([]time.Time, n)
	}
	return before, prefixes, sent, nil
}
