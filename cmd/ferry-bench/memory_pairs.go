package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Ferry's RSS with no users, against the same binary stopped after init,
// moves by a few hundred KiB from one start to the next (which pieces of
// the binary the kernel maps 2 MiB at a time, where the heap lands), and
// the target (2 MiB) sits inside that spread: single runs gave
// 1.79, 1.93 and 2.10 MiB. One pair of processes decides nothing, so the
// memory scenario starts the two of them -idle-pairs times, one after the
// other, and reads the target from the median of the differences. The
// first pair is the one the rest of the report breaks down; the others
// are sampled at rest only (RSS and its anon/file parts, after -settle).

// idlePair is one start of bare-ferry and one of Ferry with no logins.
type idlePair struct {
	BareFerry memRSS `json:"bare_ferry"`
	Ferry     memRSS `json:"ferry"`
	// Above is Ferry's RSS minus bare-ferry's.
	Above int64 `json:"above_bytes"`
}

// memRSS is VmRSS and its parts.
type memRSS struct {
	RSS  uint64 `json:"rss_bytes"`
	Anon uint64 `json:"rss_anon_bytes"`
	File uint64 `json:"rss_file_bytes"`
}

func newIdlePair(bareFerry, ferry memRSS) idlePair {
	return idlePair{BareFerry: bareFerry, Ferry: ferry, Above: int64(ferry.RSS) - int64(bareFerry.RSS)}
}

// idlePairsSummary is the median, lowest and highest of the pairs'
// differences.
type idlePairsSummary struct {
	Pairs  []idlePair `json:"pairs"`
	Median int64      `json:"median_above_bytes"`
	Min    int64      `json:"min_above_bytes"`
	Max    int64      `json:"max_above_bytes"`
}

// summarizeIdlePairs takes the median (of an even count, the mean of the
// middle two), the lowest and the highest difference.
func summarizeIdlePairs(pairs []idlePair) idlePairsSummary {
	s := idlePairsSummary{Pairs: pairs}
	if len(pairs) == 0 {
		return s
	}
	above := make([]int64, len(pairs))
	for i, p := range pairs {
		above[i] = p.Above
	}
	slices.Sort(above)
	n := len(above)
	s.Min, s.Max = above[0], above[n-1]
	if n%2 == 1 {
		s.Median = above[n/2]
	} else {
		s.Median = (above[n/2-1] + above[n/2]) / 2
	}
	return s
}

// text is the summary as the report prints it.
func (s idlePairsSummary) text() string {
	if len(s.Pairs) == 1 {
		return fmt.Sprintf("%s (one pair)", fmtMiB(float64(s.Median)))
	}
	return fmt.Sprintf("median %s of %d pairs (%s to %s)", fmtMiB(float64(s.Median)), len(s.Pairs),
		fmtMiB(float64(s.Min)), fmtMiB(float64(s.Max)))
}

// moreIdlePairs starts bare-ferry and Ferry with no logins n more times,
// alternately, and samples each at rest. base is the IRC user count with
// no Ferry running (drain waits for it).
func (b *memBed) moreIdlePairs(ctx context.Context, n, base int) ([]idlePair, error) {
	var pairs []idlePair
	for i := range n {
		label := fmt.Sprintf("pair %d", i+2)
		say("%s: bare-ferry, then ferry with no logins", label)
		bare, err := b.startBareFerry()
		if err != nil {
			return pairs, err
		}
		if err := bare.waitProbe(ctx, 30*time.Second); err != nil {
			bare.stop()
			return pairs, err
		}
		bareRSS, err := rssAtRest(ctx, bare, "bare-ferry ("+label+")")
		bare.stop()
		if err != nil {
			return pairs, err
		}
		ferryLabel := fmt.Sprintf("ferry-0-pair%d", i+2)
		ferry, _, err := b.fill(ctx, ferryLabel, memNetPlain, 0, mflags.MemPacing, "", nil)
		if err != nil {
			return pairs, err
		}
		ferryRSS, err := rssAtRest(ctx, ferry, ferryLabel)
		if derr := b.drain(ctx, ferry, base); err == nil {
			err = derr
		}
		if err != nil {
			return pairs, err
		}
		p := newIdlePair(bareRSS, ferryRSS)
		say("%s: bare-ferry %s, ferry %s: %s above", label, fmtMiB(float64(bareRSS.RSS)), fmtMiB(float64(ferryRSS.RSS)), fmtMiB(float64(p.Above)))
		pairs = append(pairs, p)
	}
	return pairs, nil
}

// rssAtRest waits -settle, then reads p's RSS.
func rssAtRest(ctx context.Context, p *memProc, label string) (memRSS, error) {
	select {
	case <-ctx.Done():
		return memRSS{}, ctx.Err()
	case <-time.After(mflags.Settle):
	}
	if p.exited() {
		return memRSS{}, p.withLog(fmt.Errorf("%s exited", label))
	}
	rss, err := p.rss()
	if err != nil {
		return memRSS{}, err
	}
	return memRSS{RSS: rss.total, Anon: rss.anon, File: rss.file}, nil
}
