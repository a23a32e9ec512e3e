package main

import (
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"
)

// dialOnce is one connection attempt for the startup poll: short, so
// that a port not yet bound is retried at the poll interval.
func dialOnce(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, 100*time.Millisecond)
}

func printMemReport(w io.Writer, r *memReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "  %s\t%v\n", k, v) }
	printMachine(tw, r.Machine)
	s := r.Settings
	fmt.Fprintln(tw, "Settings")
	row("scenario", s.Scenario)
	if len(s.Ks) > 0 {
		row("logins (-k)", strings.Trim(fmt.Sprint(s.Ks), "[]"))
	}
	if s.Portals > 0 {
		row("idle portals (-portals)", s.Portals)
	}
	if len(s.Transports) > 0 {
		row("transports", strings.Join(s.Transports, ", "))
	}
	if s.Settle != "" {
		row("settle before sampling", s.Settle)
	}
	if s.IdlePairs > 0 {
		row("idle pairs", fmt.Sprintf("%d starts each of bare-ferry and Ferry with no logins, alternately, from the built file; then %d pairs each from a fresh copy of the binary (written with ordinary writes, so mapped page by page); the target reads the medians", s.IdlePairs, s.IdleCopies))
	}
	if s.FillPacing != "" {
		row("connect pacing while filling", s.FillPacing)
	}
	if len(s.StartupPacings) > 0 {
		row("connect pacing runs", strings.Trim(fmt.Sprint(s.StartupPacings), "[]")+" (irc.max_concurrent_connects; 0 = unlimited, 4 = default)")
		row("LUSERS poll", s.Poll)
	}
	if s.RestartPortals > 0 {
		row("restart with portals", fmt.Sprintf("%d logins (-restart-portals), each in its own channel; their Matrix users registered in Dendrite; a first run makes the portals", s.RestartPortals))
	}
	if s.IdleLogins > 0 {
		row("idle logins", s.IdleLogins)
		row("window", s.IdleWindow)
	}
	row("logins", s.Seeding)
	row("ferry build", s.FerryBuild)
	row("ferry IRC flood", s.FerryFlood)
	row("ferry log", s.FerryLogLevel)
	row("ferry database", s.FerryDB)
	row("GOMAXPROCS", s.GOMAXPROCS)
	if len(s.FerryEnv) > 0 {
		row("ferry environment", strings.Join(s.FerryEnv, " "))
	}
	row("inspircd flood", s.IRCdFlood)
	row("inspircd connect class", s.IRCdConnectOpts)
	row("inspircd TLS", s.IRCdTLS)
	row("dendrite log", s.DendriteLog)
	if s.Profiling != "" {
		row("profiling", s.Profiling)
	}

	if m := r.Memory; m != nil {
		fmt.Fprintln(tw, "Result: memory (VmRSS at rest, its anon/file parts, VmRSS after a forced GC; live heap after that GC)")
		fmt.Fprintln(tw, "  process\tlogins\tportals\tRSS\tanon\tfile\tRSS after GC\tlive heap\tstacks\tgoroutines\tfilled in")
		for _, x := range append([]memSample{m.Bare, m.BareFerry}, m.Samples...) {
			fill := ""
			if x.FillSecs > 0 {
				fill = fmt.Sprintf("%.2f s", x.FillSecs)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", x.Label, x.Logins, x.Portals,
				fmtMiB(float64(x.RSS)), fmtMiB(float64(x.RSSAnon)), fmtMiB(float64(x.RSSFile)), fmtMiB(float64(x.RSSAfterGC)),
				fmtMiB(float64(x.HeapLive)), fmtMiB(float64(x.Stack)), x.Goroutines, fill)
		}
		row("idle RSS above bare", fmt.Sprintf("%s (anon %s, file %s; after GC %s)", fmtMiB(float64(m.IdleAboveBare)),
			fmtMiB(float64(m.IdleAnonAboveBare)), fmtMiB(float64(m.IdleFileAboveBare)), fmtMiB(float64(m.IdleAboveBareAfterGC))))
		row("idle RSS above bare-ferry", fmt.Sprintf("%s (anon %s, file %s; after GC %s, anon %s)", fmtMiB(float64(m.IdleAboveBareFerry)),
			fmtMiB(float64(m.IdleAnonAboveBareFerry)), fmtMiB(float64(m.IdleFileAboveBareFerry)),
			fmtMiB(float64(m.IdleAboveBareFerryAfterGC)), fmtMiB(float64(m.IdleAnonAboveBareFerryAfterGC))))
		printIdlePairs := func(what, item string, ps idlePairsSummary) {
			row(what, ps.text())
			for i, p := range ps.Pairs {
				row(fmt.Sprintf("  %s %d", item, i+1), fmt.Sprintf("%s (bare-ferry %s, ferry %s; anon %s, file %s)", fmtMiB(float64(p.Above)),
					fmtMiB(float64(p.BareFerry.RSS)), fmtMiB(float64(p.Ferry.RSS)),
					fmtMiB(float64(p.Ferry.Anon)-float64(p.BareFerry.Anon)), fmtMiB(float64(p.Ferry.File)-float64(p.BareFerry.File))))
			}
		}
		if ps := m.IdlePairs; len(ps.Pairs) > 1 {
			printIdlePairs("idle RSS above bare-ferry, each start", "pair", ps)
		}
		if m.IdleCopies != nil {
			printIdlePairs("the same from fresh copies, mapped page by page", "copy", *m.IdleCopies)
		}
		fmt.Fprintln(tw, "  (bare: cmd/ferry-bench/bare, importing cmd/ferry's packages; bare-ferry: the Ferry binary stopped after init)")
		if zero := idleSample(m); zero != nil {
			if t := fileDiffText(*zero, m.Bare); t != "" {
				row("file-backed above bare", t)
			}
			if t := fileDiffText(*zero, m.BareFerry); t != "" {
				row("file-backed above bare-ferry", t)
			}
			tw.Flush()
			printBreakdown(w, []memSample{m.Bare, m.BareFerry, *zero})
		}
		fmt.Fprintln(tw, "  per connection: (X(K) - X(0)) / K")
		fmt.Fprintln(tw, "  transport\tK\tRSS\tanon\tfile\tRSS after GC\tlive heap\tstacks\tgoroutines")
		for _, pc := range m.PerConn {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\n", pc.Transport, pc.K, fmtKiB(pc.RSSPerConn),
				fmtKiB(pc.RSSAnonPerConn), fmtKiB(pc.RSSFilePerConn), fmtKiB(pc.RSSGCPerConn), fmtKiB(pc.HeapPerConn), fmtKiB(pc.StackPerConn), pc.GoroutinesPerCo)
		}
		if pp := m.PerPortal; pp != nil {
			row("per idle portal", fmt.Sprintf("RSS %s (after GC %s), live heap %s, stacks %s, %.2f goroutines (P=%d: one login in P channels vs in none)",
				fmtKiB(pp.RSSPerConn), fmtKiB(pp.RSSGCPerConn), fmtKiB(pp.HeapPerConn), fmtKiB(pp.StackPerConn), pp.GoroutinesPerCo, pp.K))
		}
	}
	if len(r.Startup) > 0 {
		fmt.Fprintln(tw, "Result: startup (from process start; logins counted on InspIRCd with LUSERS)")
		fmt.Fprintln(tw, "  logins\tpacing\tport answers\tfirst IRC connection\tfirst registered\tall registered\tlogins/s")
		for _, x := range r.Startup {
			pacing := fmt.Sprint(x.Pacing)
			if x.Pacing == 0 {
				pacing = "off"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\t%.0f\n", x.Logins, pacing, x.PortMs, x.FirstConnMs, x.FirstLoginMs, x.AllLoginsMs, x.PerSecond)
		}
		fmt.Fprintln(tw, "  note: InspIRCd 3 completes registrations on its once-a-second background tick (inspircd/inspircd#1242), so a")
		fmt.Fprintln(tw, "  registration takes up to 1 s whatever the client does; with pacing N at most N registrations are in flight per tick.")
	}
	if x := r.Restart; x != nil {
		fmt.Fprintf(tw, "Result: restart with %d logins, each in a channel of its own with its portal (no connect pacing; from process start)\n", x.Logins)
		row("appservice port answers", fmt.Sprintf("%.1f ms", x.PortMs))
		row("all logins registered", fmt.Sprintf("%.1f ms", x.AllLoginsMs))
		row("all logins back in their channels", fmt.Sprintf("%.1f ms (their JOINs, as an IRC client in every channel saw them)", x.AllInMs))
		row("all portals usable", fmt.Sprintf("%.1f ms (that client's line in each channel, written on the JOIN, bridged: its message row stored after the homeserver's answer; polled every 10 ms)", x.AllUsableMs))
		row("first run (making the portals)", fmt.Sprintf("%.1f s, not a start-up figure", x.SetupS))
	}
	if c := r.IdleCPU; c != nil {
		fmt.Fprintln(tw, "Result: idle CPU (utime+stime from /proc/<pid>/stat over the window)")
		row(fmt.Sprintf("ferry, %d logins", c.Logins), fmt.Sprintf("%.3f %% of a core (%.0f ms)", c.FerryPct, c.FerryCPUms))
		row("ferry, no logins", fmt.Sprintf("%.3f %% of a core (%.0f ms)", c.FerryIdle0, c.FerryIdle0C))
		row("bare program", fmt.Sprintf("%.3f %% of a core (%.0f ms)", c.BarePct, c.BareCPUms))
		row("resolution", fmt.Sprintf("%.3f %% (one 10 ms clock tick)", c.Resolution))
	}
	if f := r.Faults; f != nil {
		fmt.Fprintln(tw, "Result: page faults in the binary's read-only mappings, Ferry with no logins, binary mapped page by page")
		row("all / after main began", fmt.Sprintf("%d / %d (the stopped binary makes only the first kind)", f.All, f.AfterMain))
		row("at most", fmt.Sprintf("%s resident by the faults after main (each maps up to %s around it)", fmtMiB(float64(f.AfterMain*f.FaultAround)), fmtKiB(float64(f.FaultAround))))
		for _, c := range f.Causes {
			row(c.Cause, c.Faults)
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(tw, "Targets (issue 5)")
		for _, t := range r.Targets {
			verdict := "met"
			if !t.Met {
				verdict = "MISSED"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.What, t.Target, t.Got, verdict)
		}
	}
	tw.Flush()
}

// idleSample is the sample of Ferry with no logins (ferry-0), if any.
func idleSample(m *memoryResult) *memSample {
	for i := range m.Samples {
		if m.Samples[i].Logins == 0 && m.Samples[i].Portals == 0 {
			return &m.Samples[i]
		}
	}
	return nil
}

func toMs(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fmtMiB(v float64) string { return fmt.Sprintf("%.2f MiB", v/(1<<20)) }

func fmtKiB(v float64) string { return fmt.Sprintf("%.1f KiB", v/(1<<10)) }
