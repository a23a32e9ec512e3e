package main

import (
	"os"
	"testing"
	"time"
)

func TestMachineTicks(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	stat := "cpu  100 5 40 800 20 3 2 10 7 0\ncpu0 50 2 20 400 10 1 1 5 3 0\nintr 1\n"
	busy, total, err := machineTicks(stat)
	if err != nil || busy != 160 || total != 980 {
		t.Errorf("machineTicks = %d, %d, %v; want 160, 980", busy, total, err)
	}
	for _, bad := range []string{"", "intr 1\n", "cpu 1 2 3\n", "cpu 1 2 x 4 5 6 7 8\n"} {
		if _, _, err := machineTicks(bad); err == nil {
			t.Errorf("machineTicks(%q) succeeded", bad)
		}
	}
}

func TestStatusCount(t *testing.T) {
	status := "Name:\tferry\nvoluntary_ctxt_switches:\t3029\nnonvoluntary_ctxt_switches:\t667\n"
	if n, err := statusCount(status, "nonvoluntary_ctxt_switches"); err != nil || n != 667 {
		t.Errorf("statusCount = %d, %v; want 667", n, err)
	}
	if _, err := statusCount(status, "VmRSS"); err == nil {
		t.Error("statusCount of a missing key succeeded")
	}
}

func TestProcessorUseSince(t *testing.T) {
	start := time.Now()
	before := processorCounters{at: start, ferry: 100 * time.Millisecond, dendrite: time.Second, ferryPreempted: 40, busy: 1000, total: 4000}
	after := processorCounters{at: start.Add(4 * time.Second), ferry: 250 * time.Millisecond, dendrite: 4 * time.Second, ferryPreempted: 640, busy: 1400, total: 4800}
	u := after.since(before, 200, 2)
	want := processorUse{WindowSecs: 4, FerryMs: 150, FerryPerMessageMs: 0.75, DendriteMs: 3000, MachineBusyPct: 50, Cores: 2, FerryPreempted: 600, FerryPreemptedPerMessage: 3}
	if *u != want {
		t.Errorf("since = %+v, want %+v", *u, want)
	}
}

// The counters read from this very process: its processor time and its
// threads' preemptions exist and do not go backwards.
func TestReadProcessorsOfThisProcess(t *testing.T) {
	pid := os.Getpid()
	first, err := readProcessors(pid, pid)
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
	second, err := readProcessors(pid, pid)
	if err != nil {
		t.Fatal(err)
	}
	if second.ferry < first.ferry || second.ferryPreempted < first.ferryPreempted || second.total <= first.total {
		t.Errorf("counters went backwards or the machine stood still: %+v then %+v", first, second)
	}
}
