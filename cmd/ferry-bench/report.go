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
	Machine  machine  `json:"machine"`
	Settings settings `json:"settings"`
	Result   *result  `json:"result"`
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

func printReport(w io.Writer, r *report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "  %s\t%v\n", k, v) }
	fmt.Fprintln(tw, "Machine")
	row("cores", r.Machine.Cores)
	row("cpu", r.Machine.CPU)
	row("go", r.Machine.GoVersion)
	row("os / kernel", r.Machine.OS+" / "+r.Machine.Kernel)
	row("dendrite", r.Machine.DendriteVersion)
	row("inspircd", r.Machine.InspIRCdVersion)
	row("time", r.Machine.Time)
	fmt.Fprintln(tw, "Settings")
	s := r.Settings
	row("scenario", s.Scenario)
	row("messages (-n)", s.N)
	row("interval", s.IntervalText)
	row("drain timeout", s.DrainTimeout)
	row("ferry IRC flood", s.FerryFlood)
	row("ferry log level", s.FerryLogLevel)
	row("ferry database", s.FerryDB)
	row("dendrite log level", s.DendriteLog)
	row("dendrite jetstream", s.DendriteJS)
	row("inspircd flood", s.IRCdFlood)
	row("inspircd conns per IP", s.IRCdConnLimit)
	row("IRC peer flood", s.PeerFlood)
	row("client /sync filter", s.SyncFilter)
	res := r.Result
	fmt.Fprintf(tw, "Result: %s (IRC peer send -> Matrix client /sync)\n", res.Scenario)
	row("sent / received", fmt.Sprintf("%d / %d", res.Sent, res.Received))
	row("lost / duplicated / reordered", fmt.Sprintf("%d / %d / %d", res.Lost, res.Duplicated, res.Reordered))
	row("latency p50", fmt.Sprintf("%.1f ms", res.P50ms))
	row("latency p95", fmt.Sprintf("%.1f ms", res.P95ms))
	row("latency p99", fmt.Sprintf("%.1f ms", res.P99ms))
	row("latency max", fmt.Sprintf("%.1f ms", res.MaxMs))
	row("latency mean", fmt.Sprintf("%.1f ms", res.MeanMs))
	row("send rate", fmt.Sprintf("%.1f msg/s over %.2f s", res.SentPerSec, res.SendSecs))
	row("drained", fmt.Sprintf("%.1f msg/s (first send -> last arrival %.2f s)", res.Throughput, res.DrainSecs))
	verdict := "OK"
	if !res.OK {
		verdict = "FAILED: messages lost, duplicated or reordered"
	}
	row("integrity", verdict)
	tw.Flush()
}
