package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

type machine struct {
	Cores           int    `json:"cores"`
	CPU             string `json:"cpu"`
	GoVersion       string `json:"go_version"`
	OS              string `json:"os"`
	Kernel          string `json:"kernel"`
	DendriteVersion string `json:"dendrite_version"`
	InspIRCdVersion string `json:"inspircd_version"`
	Time            string `json:"time"`
}

type report struct {
	Machine  machine   `json:"machine"`
	Settings settings  `json:"settings"`
	Results  []*result `json:"results,omitempty"`
	// BusyJoin is the busy-join scenario's outcome (busy_join.go).
	BusyJoin *busyJoinResult `json:"busy_join,omitempty"`
}

func describeMachine() machine {
	m := machine{
		Cores:     runtime.NumCPU(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS + "/" + runtime.GOARCH,
		Time:      time.Now().UTC().Format(time.RFC3339),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return m
}

// printMachine writes the Machine section every report starts with.
func printMachine(w io.Writer, m machine) {
	row := func(k string, v any) { fmt.Fprintf(w, "  %s\t%v\n", k, v) }
	fmt.Fprintln(w, "Machine")
	row("cores", m.Cores)
	row("cpu", m.CPU)
	row("go", m.GoVersion)
	row("os / kernel", m.OS+" / "+m.Kernel)
	row("dendrite", m.DendriteVersion)
	row("inspircd", m.InspIRCdVersion)
	row("time", m.Time)
}

func printReport(w io.Writer, r *report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "  %s\t%v\n", k, v) }
	printMachine(tw, r.Machine)
	fmt.Fprintln(tw, "Settings")
	s := r.Settings
	row("scenario", s.Scenario)
	if s.Scenario == "busy-join" {
		row("members (-members)", fmt.Sprintf("%d, connected %d at a time, each joined to %s before the Matrix user joins it", s.Members, busyDialers, busyChannel))
	} else {
		row("messages (-n)", s.N)
		if s.Bursts > 1 {
			row("bursts", fmt.Sprintf("%d, %s apart, in the same test bed; figures over all bursts' messages, then each burst's own", s.Bursts, burstPause))
		}
		row("interval", s.IntervalText)
		row("drain timeout", s.DrainTimeout)
	}
	row("bridged channels", s.Channels)
	row("ferry IRC flood", s.FerryFlood)
	row("ferry pipeline_sends", fmt.Sprint(s.PipelineSends))
	row("ferry metrics", "on, "+s.FerryMetrics+" (stage percentiles are histogram bucket upper bounds)")
	row("ferry log level", s.FerryLogLevel)
	row("ferry database", s.FerryDB)
	if s.FerryTags != "" {
		row("ferry build tags", s.FerryTags)
	}
	if len(s.FerryEnv) > 0 {
		row("ferry environment", strings.Join(s.FerryEnv, " "))
	}
	row("dendrite log level", s.DendriteLog)
	row("dendrite jetstream", s.DendriteJS)
	row("dendrite config", s.DendriteConf)
	row("dendrite push observer", s.Observer)
	if s.HomeserverAlone != "" {
		row("homeserver alone", s.HomeserverAlone+": the same bursts sent by another local user into rooms it shares with the Matrix client, no Ferry; each after one of Ferry's")
	}
	row("dendrite -> ferry tap", s.Tap)
	row("inspircd flood", s.IRCdFlood)
	row("inspircd conns per IP", s.IRCdConnLimit)
	row("IRC peer flood", s.PeerFlood)
	row("client /sync filter", s.SyncFilter)
	for _, res := range r.Results {
		printResult(tw, row, res)
	}
	if r.BusyJoin != nil {
		fmt.Fprintf(tw, "Result: busy-join, the Matrix user joins %s\n", busyChannel)
		printBusyJoin(row, r.BusyJoin)
	}
	tw.Flush()
}

func printResult(tw io.Writer, row func(string, any), res *result) {
	fmt.Fprintf(tw, "Result: %s, %s over %d channel(s) (%s)\n", res.Scenario, res.Direction, res.Channels, res.Path)
	row("sent / received", fmt.Sprintf("%d / %d", res.Sent, res.Received))
	row("lost / duplicated / reordered", fmt.Sprintf("%d / %d / %d", res.Lost, res.Duplicated, res.Reordered))
	for _, bad := range res.BadChannels {
		row("  channel", bad)
	}
	row("latency p50 / p95 / p99", fmt.Sprintf("%.1f / %.1f / %.1f ms", res.P50ms, res.P95ms, res.P99ms))
	row("latency max / mean", fmt.Sprintf("%.1f / %.1f ms", res.MaxMs, res.MeanMs))
	row("send rate", fmt.Sprintf("%.1f msg/s over %.2f s", res.SentPerSec, res.SendSecs))
	row("drained", fmt.Sprintf("%.1f msg/s (first send -> last arrival %.2f s)", res.Throughput, res.DrainSecs))
	if d := res.DendritePush; d != nil {
		row("dendrite push p50 / p95 / p99", fmt.Sprintf("%.1f / %.1f / %.1f ms (max %.1f, %d events; client send -> observer appservice)", d.P50ms, d.P95ms, d.P99ms, d.MaxMs, d.Count))
		if res.PushMissing > 0 {
			row("  not seen by the observer", res.PushMissing)
		}
	}
	if d := res.FerryPush; d != nil {
		row("dendrite push to ferry p50 / p95 / p99", fmt.Sprintf("%.1f / %.1f / %.1f ms (client send -> tap in front of Ferry)", d.P50ms, d.P95ms, d.P99ms))
	}
	if d := res.AfterFerryPush; d != nil {
		row("after push to ferry p50 / p95 / p99", fmt.Sprintf("%.1f / %.1f / %.1f ms (tap -> IRC peer: Ferry + InspIRCd)", d.P50ms, d.P95ms, d.P99ms))
	}
	if res.AbovePushP99ms != nil {
		row("p99 above dendrite push", fmt.Sprintf("%.1f ms", *res.AbovePushP99ms))
	}
	if d := res.AfterPush; d != nil {
		row("per message after push p50 / p95 / p99", fmt.Sprintf("%.1f / %.1f / %.1f ms (observer arrival -> IRC peer)", d.P50ms, d.P95ms, d.P99ms))
	}
	stage := func(name string, st *stageStats) {
		if st == nil {
			row(name, "nothing recorded")
			return
		}
		row(name, fmt.Sprintf("p50 <= %s / p95 <= %s / p99 <= %s, mean %.3f ms (%d messages)", le(st.P50ms), le(st.P95ms), le(st.P99ms), st.MeanMs, st.Count))
	}
	share := func(name string, st *stageStats) {
		stage(name, st)
		if st != nil && st.OverShareTarget != nil {
			row("  over "+le(shareTarget.Seconds()*1000), fmt.Sprintf("%d of %d messages (%.1f %%)", *st.OverShareTarget, st.Count, 100*float64(*st.OverShareTarget)/float64(st.Count)))
		}
	}
	switch res.Direction {
	case "irc-to-matrix":
		share("ferry share (line read -> request written)", res.FerryShare)
		stage("  of which queue (waiting for the portal)", res.Queue)
		if res.Store == nil {
			// A line that finds its portal idle is not stored first
			// (portals.StoreBehind), so this stage may well be empty.
			row("    of that, until stored", "no line was stored first (each found its portal idle)")
		} else {
			stage("    of that, until stored (lines stored first)", res.Store)
		}
		stage("  of which handling (portal -> request)", res.Handling)
		stage("homeserver (request written -> answer)", res.Homeserver)
	case "matrix-to-irc":
		share("ferry share (transaction -> line written)", res.FerryShare)
		stage("  of which queue (waiting for the portal)", res.Queue)
		stage("ferry until stored (after the line)", res.Store)
		stage("ferry until Send returned (incl. IRC echo)", res.FerrySend)
		stage("ferry answering a transaction", res.Transaction)
	}
	if p := res.Processors; p != nil {
		row("processors, burst start -> drained", fmt.Sprintf("Ferry %.0f ms (%.2f ms per message), Dendrite %.0f ms, in %.1f s; machine %.0f %% busy (%d cores)",
			p.FerryMs, p.FerryPerMessageMs, p.DendriteMs, p.WindowSecs, p.MachineBusyPct, p.Cores))
		row("  Ferry's threads preempted", fmt.Sprintf("%d times (%.1f per message)", p.FerryPreempted, p.FerryPreemptedPerMessage))
	}
	if len(res.Bursts) > 0 {
		printBursts(row, res)
	}
	verdict := "OK"
	if res.Unordered {
		verdict = "not judged: sent concurrently, so arrivals may be in another order (counted above)"
	} else if !res.OK {
		verdict = "FAILED: messages lost, duplicated or reordered"
	}
	row("integrity", verdict)
}

// printBursts lists each burst's own figures under a pooled result.
func printBursts(row func(string, any), res *result) {
	abovePush := res.Direction == "matrix-to-irc"
	if abovePush {
		row("each burst: p99 / above push / share p99", "")
	} else {
		row("each burst: p99 / share p99", "")
	}
	for i, b := range res.Bursts {
		line := fmt.Sprintf("%.1f ms", b.P99ms)
		if abovePush {
			if b.AbovePushP99ms != nil {
				line += fmt.Sprintf(" / %.1f ms", *b.AbovePushP99ms)
			} else {
				line += " / -"
			}
		}
		if st := b.FerryShare; st != nil {
			line += fmt.Sprintf(" / <= %s (mean %.3f ms", le(st.P99ms), st.MeanMs)
			if st.OverShareTarget != nil {
				line += fmt.Sprintf(", %d over %s", *st.OverShareTarget, le(shareTarget.Seconds()*1000))
			}
			line += ")"
		} else {
			line += " / nothing recorded"
		}
		if !b.Integrity {
			line += "; messages lost, duplicated or reordered"
		}
		row(fmt.Sprintf("  burst %d", i+1), line)
	}
}

// le prints a bucket bound.
func le(v float64) string {
	if v < 0 {
		return "+Inf"
	}
	return fmt.Sprintf("%g ms", v)
}
