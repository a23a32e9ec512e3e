package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/ferrybridge/ferry/database"
	"github.com/ferrybridge/ferry/internal/localhs"
)

// fill starts Ferry on a database seeded with n logins on netName and
// returns once InspIRCd counts all of them (and the time that took).
func (b *memBed) fill(ctx context.Context, label, netName string, n, pacing int, user id.UserID, channels []string) (*memProc, float64, error) {
	dbPath := filepath.Join(b.dir, label+".db")
	prefix := map[string]string{memNetPlain: "p", memNetTLS: "t"}[netName]
	if err := b.seedLogins(ctx, dbPath, netName, prefix, n, user, func(int) []string { return channels }); err != nil {
		return nil, 0, fmt.Errorf("seed %s: %w", label, err)
	}
	base, err := b.observer.users()
	if err != nil {
		return nil, 0, err
	}
	p, err := startProbed(ctx, func() (*memProc, error) { return b.startFerry(label, dbPath, pacing) })
	if err != nil {
		return nil, 0, err
	}
	want := base + n
	if user != "" {
		want = base + 1 // one user, one login
	}
	st, err := b.observer.waitUsers(ctx, p, base, want, 20*time.Millisecond, 60*time.Second)
	if err != nil {
		p.stop()
		return nil, 0, p.withLog(err)
	}
	return p, st.all.Sub(p.started).Seconds(), nil
}

// drain stops p and waits until its logins have left InspIRCd, so that
// the next process starts from the same count and with free nicks.
func (b *memBed) drain(ctx context.Context, p *memProc, base int) error {
	p.stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := b.observer.users()
		if err != nil {
			return err
		}
		if n <= base {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d users still on IRC 30 s after Ferry stopped (expected %d)", n, base)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sampleAtRest waits the settle time, then reads RSS first (the probe's
// forced GC must not change it) and the runtime's figures after.
func (b *memBed) sampleAtRest(ctx context.Context, p *memProc, label string) (memSample, error) {
	rss, err := rssAtRest(ctx, p, label)
	if err != nil {
		return memSample{}, err
	}
	parts, err := readSmaps(p.cmd.Process.Pid)
	if err != nil {
		return memSample{}, fmt.Errorf("%s smaps: %w", label, err)
	}
	classes, err := p.classes()
	if err != nil {
		return memSample{}, fmt.Errorf("%s probe: %w", label, err)
	}
	m, err := p.mem()
	if err != nil {
		return memSample{}, fmt.Errorf("%s probe: %w", label, err)
	}
	select {
	case <-ctx.Done():
		return memSample{}, ctx.Err()
	case <-time.After(mflags.GCWait):
	}
	after, err := p.rss()
	if err != nil {
		return memSample{}, err
	}
	if mflags.ProfileDir != "" {
		for _, prof := range []string{"heap", "goroutine"} {
			path := filepath.Join(mflags.ProfileDir, label+"."+prof+".pb.gz")
			if err := p.saveProfile(prof, "", path); err != nil {
				say("profile %s: %v", path, err)
			}
		}
	}
	say("%s: RSS %s (anon %s, file %s), after GC %s, live heap %s, stacks %s, %d goroutines", label,
		fmtMiB(float64(rss.RSS)), fmtMiB(float64(rss.Anon)), fmtMiB(float64(rss.File)), fmtMiB(float64(after.total)),
		fmtMiB(float64(m.HeapAlloc)), fmtMiB(float64(m.StackInuse)), m.Goroutines)
	return memSample{
		Label: label, RSS: rss.RSS, RSSAnon: rss.Anon, RSSFile: rss.File,
		RSSAfterGC: after.total, RSSAnonAfterGC: after.anon,
		HeapLive: m.HeapAlloc, HeapInuse: m.HeapInuse, Stack: m.StackInuse, Goroutines: m.Goroutines,
		Smaps: parts, GoClasses: classes,
	}, nil
}

func (b *memBed) memoryScenario(ctx context.Context, rep *memReport, ks []int, transports []string) error {
	res := &memoryResult{}
	rep.Memory = res
	base, err := b.observer.users()
	if err != nil {
		return err
	}

	for _, bb := range []struct {
		label string
		start func() (*memProc, error)
		dst   *memSample
	}{{"bare", b.startBare, &res.Bare}, {"bare-ferry", b.startBareFerry, &res.BareFerry}} {
		say("%s program", bb.label)
		bare, err := startProbed(ctx, bb.start)
		if err != nil {
			return err
		}
		*bb.dst, err = b.sampleAtRest(ctx, bare, bb.label)
		bare.stop()
		if err != nil {
			return err
		}
	}

	measure := func(label, transport string, k, pacing int, user id.UserID, channels []string) (memSample, error) {
		netName := map[string]string{"plain": memNetPlain, "tls": memNetTLS}[transport]
		say("%s: %d logins over %s", label, k, transport)
		p, fillSecs, err := b.fill(ctx, label, netName, k, pacing, user, channels)
		if err != nil {
			return memSample{}, err
		}
		if len(channels) > 0 {
			if err := b.waitPortals(ctx, p, label, len(channels)); err != nil {
				p.stop()
				return memSample{}, err
			}
		}
		smp, err := b.sampleAtRest(ctx, p, label)
		if derr := b.drain(ctx, p, base); err == nil {
			err = derr
		}
		smp.Transport, smp.Logins, smp.FillSecs, smp.Portals = transport, k, fillSecs, len(channels)
		if err == nil {
			res.Samples = append(res.Samples, smp)
		}
		return smp, err
	}

	zero, err := measure("ferry-0", "plain", 0, mflags.MemPacing, "", nil)
	if err != nil {
		return err
	}
	res.IdleAboveBare = int64(zero.RSS) - int64(res.Bare.RSS)
	res.IdleAnonAboveBare = int64(zero.RSSAnon) - int64(res.Bare.RSSAnon)
	res.IdleFileAboveBare = int64(zero.RSSFile) - int64(res.Bare.RSSFile)
	res.IdleAboveBareAfterGC = int64(zero.RSSAfterGC) - int64(res.Bare.RSSAfterGC)
	res.IdleAboveBareFerry = int64(zero.RSS) - int64(res.BareFerry.RSS)
	res.IdleAnonAboveBareFerry = int64(zero.RSSAnon) - int64(res.BareFerry.RSSAnon)
	res.IdleFileAboveBareFerry = int64(zero.RSSFile) - int64(res.BareFerry.RSSFile)
	res.IdleAboveBareFerryAfterGC = int64(zero.RSSAfterGC) - int64(res.BareFerry.RSSAfterGC)
	res.IdleAnonAboveBareFerryAfterGC = int64(zero.RSSAnonAfterGC) - int64(res.BareFerry.RSSAnonAfterGC)
	pairs := []idlePair{newIdlePair(
		memRSS{RSS: res.BareFerry.RSS, Anon: res.BareFerry.RSSAnon, File: res.BareFerry.RSSFile},
		memRSS{RSS: zero.RSS, Anon: zero.RSSAnon, File: zero.RSSFile})}
	more, err := b.moreIdlePairs(ctx, mflags.IdlePairs-1, 2, base, false)
	if err != nil {
		return err
	}
	res.IdlePairs = summarizeIdlePairs(append(pairs, more...))
	if mflags.IdleCopies > 0 {
		copied, err := b.moreIdlePairs(ctx, mflags.IdleCopies, 1, base, true)
		if err != nil {
			return err
		}
		sum := summarizeIdlePairs(copied)
		res.IdleCopies = &sum
	}
	for _, t := range transports {
		if t != "plain" && t != "tls" {
			return fmt.Errorf("-transports: %q is neither plain nor tls", t)
		}
		for _, k := range ks {
			if k == 0 {
				continue
			}
			smp, err := measure(fmt.Sprintf("ferry-%s-%d", t, k), t, k, mflags.MemPacing, "", nil)
			if err != nil {
				return err
			}
			res.PerConn = append(res.PerConn, perConnDelta(t, k, smp, zero))
		}
	}

	if mflags.Portals > 0 {
		// One real Matrix user (portal rooms invite it) whose one login is
		// in P channels, against the same login in none.
		reg, err := b.hs.RegisterUser("portals", localhs.RandomHex(8), false)
		if err != nil {
			return err
		}
		one, err := measure("ferry-1login", "plain", 1, mflags.MemPacing, reg.UserID, nil)
		if err != nil {
			return err
		}
		channels := make([]string, mflags.Portals)
		for i := range channels {
			channels[i] = fmt.Sprintf("#idle%04d", i)
		}
		withP, err := measure(fmt.Sprintf("ferry-1login-%dportals", mflags.Portals), "plain", 1, mflags.MemPacing, reg.UserID, channels)
		if err != nil {
			return err
		}
		pp := perConnDelta("plain", mflags.Portals, withP, one)
		res.PerPortal = &pp
	}

	rep.Targets = append(rep.Targets, targetLine{
		What: "RSS with no users above the bare program", Target: "<= 2 MiB",
		Got: fmt.Sprintf("%s (anon %s, file %s; after GC %s)", fmtMiB(float64(res.IdleAboveBare)),
			fmtMiB(float64(res.IdleAnonAboveBare)), fmtMiB(float64(res.IdleFileAboveBare)), fmtMiB(float64(res.IdleAboveBareAfterGC))),
		Met: res.IdleAboveBare <= 2<<20,
	})
	rep.Targets = append(rep.Targets, targetLine{
		What: "RSS with no users above the same binary stopped after init", Target: "<= 2 MiB",
		Got: idleTargetText(res),
		// Met only if it holds however the kernel maps the binary.
		Met: res.IdlePairs.Median <= 2<<20 && (res.IdleCopies == nil || res.IdleCopies.Median <= 2<<20),
	})
	for _, pc := range res.PerConn {
		// The issue sets the target for plain TCP and asks for TLS to be
		// reported beside it (the per-connection table does).
		if pc.K == 1000 && pc.Transport == "plain" {
			rep.Targets = append(rep.Targets, targetLine{
				What: "RSS per idle plain IRC login at K=1000", Target: "<= 16 KiB",
				Got: fmt.Sprintf("%s at rest, %s after GC", fmtKiB(pc.RSSPerConn), fmtKiB(pc.RSSGCPerConn)),
				Met: pc.RSSPerConn <= 16<<10,
			})
		}
	}
	return nil
}

func perConnDelta(transport string, k int, at, zero memSample) perConnEntry {
	d := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(k) }
	return perConnEntry{
		Transport: transport, K: k,
		RSSPerConn: d(at.RSS, zero.RSS), HeapPerConn: d(at.HeapLive, zero.HeapLive),
		RSSAnonPerConn: d(at.RSSAnon, zero.RSSAnon), RSSFilePerConn: d(at.RSSFile, zero.RSSFile),
		RSSGCPerConn: d(at.RSSAfterGC, zero.RSSAfterGC),
		StackPerConn: d(at.Stack, zero.Stack), GoroutinesPerCo: float64(at.Goroutines-zero.Goroutines) / float64(k),
	}
}

// waitPortals waits until Ferry has created n portal rooms (read from its
// database, which SQLite in WAL mode lets another process read).
func (b *memBed) waitPortals(ctx context.Context, p *memProc, label string, n int) error {
	db, err := database.Open(database.DefaultType, "file:"+filepath.Join(b.dir, label+".db")+"?_txlock=immediate", zerolog.Nop())
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(5 * time.Minute)
	last, lastAt := -1, time.Now()
	for {
		var have int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM portal WHERE room_id IS NOT NULL AND room_id <> ''`).Scan(&have); err != nil {
			return fmt.Errorf("count portals: %w", err)
		}
		if have >= n {
			say("%s: %d portal rooms created", label, have)
			return nil
		}
		if have != last {
			last, lastAt = have, time.Now()
		}
		if p.exited() || time.Now().After(deadline) || time.Since(lastAt) > time.Minute {
			return p.withLog(fmt.Errorf("%s: %d of %d portal rooms created", label, have, n))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
