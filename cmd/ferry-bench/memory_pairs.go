package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Ferry's RSS with no users, against the same binary stopped after init,
// moves by a few hundred KiB from one run to the next, and the issue's
// target (2 MiB) sits inside that spread: single runs gave 1.79, 1.93
// and 2.10 MiB. So the memory scenario starts the two -idle-pairs times,
// alternately, and reads the median of the differences. The first pair
// is the one the rest of the report breaks down; the others are sampled
// at rest only (RSS and its anon/file parts, after -settle).
//
// Most of the figure is file-backed, and it depends on how the page cache
// holds the binary. The file the Go linker writes is cached in large
// folios, which the kernel maps 2 MiB at a time: the stopped binary then
// already counts most of the code Ferry runs later (above it: 1.8 to 2.1
// MiB). A copy written with ordinary writes is cached in small folios and
// mapped page by page, as every binary is on kernels whose filesystem has
// no large folios: each process counts only the pages it touched, both
// are smaller, and the difference is larger (about 4 MiB). The scenario
// measures both: -idle-pairs pairs from the built file, and -idle-copies
// pairs each from a fresh copy (both processes of a pair run the same
// copy), whose mappings it checks for 2 MiB pieces.

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

// idleTargetText gives both medians, the built file's first.
func idleTargetText(res *memoryResult) string {
	t := "built file: " + res.IdlePairs.text()
	if c := res.IdleCopies; c != nil {
		t += "; copies mapped page by page: " + c.text()
	}
	return t
}

// moreIdlePairs starts bare-ferry and Ferry with no logins n times,
// alternately, and samples each at rest; first numbers the pairs' labels.
// With copies, each pair runs a fresh copy of the binary. base is the IRC
// user count with no Ferry running (drain waits for it).
func (b *memBed) moreIdlePairs(ctx context.Context, n, first, base int, copies bool) ([]idlePair, error) {
	var pairs []idlePair
	built := b.ferryBin
	defer func() { b.ferryBin = built }()
	for i := range n {
		label := fmt.Sprintf("pair %d", first+i)
		if copies {
			label = fmt.Sprintf("copy %d", first+i)
			copyBin := filepath.Join(b.dir, fmt.Sprintf("ferry-copy%d", first+i))
			if err := copyExecutable(built, copyBin); err != nil {
				return pairs, err
			}
			b.ferryBin = copyBin
		}
		say("%s: bare-ferry, then ferry with no logins", label)
		bare, err := startProbed(ctx, b.startBareFerry)
		if err != nil {
			return pairs, err
		}
		bareRSS, err := rssAtRest(ctx, bare, "bare-ferry ("+label+")")
		if err == nil && copies {
			err = checkPageByPage(bare)
		}
		bare.stop()
		if err != nil {
			return pairs, err
		}
		ferryLabel := strings.ReplaceAll("ferry-0-"+label, " ", "")
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

// checkPageByPage fails when any of p's binary is mapped in 2 MiB pieces:
// a copy is measured for its page-by-page mapping, and a kernel that
// cached even the copy in large folios would make it measure nothing new.
func checkPageByPage(p *memProc) error {
	parts, err := readSmaps(p.cmd.Process.Pid)
	if err != nil {
		return err
	}
	for _, part := range parts {
		if strings.HasPrefix(part.Kind, "binary") && part.PmdMapped > 0 {
			return fmt.Errorf("the copied binary's %s has %s mapped in 2 MiB pieces; -idle-copies 0 skips this measure", part.Kind, fmtMiB(float64(part.PmdMapped)))
		}
	}
	return nil
}

// copyExecutable writes a new file with src's bytes, executable.
func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err = io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
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
