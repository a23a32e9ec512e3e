package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// processorUse is what the processors did from a burst's start until it
// had drained: Ferry's and Dendrite's processor time, how busy the whole
// machine was, and how often the kernel took a core away from one of
// Ferry's threads to give it to something else. On a small machine the
// homeserver works on each message at the same moments as Ferry, and the
// tail of Ferry's share is mostly Ferry's threads waiting for a core; these
// figures show how much of that there was in a run.
type processorUse struct {
	WindowSecs        float64 `json:"window_seconds"`
	FerryMs           float64 `json:"ferry_cpu_ms"`
	FerryPerMessageMs float64 `json:"ferry_cpu_per_message_ms"`
	DendriteMs        float64 `json:"dendrite_cpu_ms"`
	// MachineBusyPct is the share of all cores' time not idle.
	MachineBusyPct float64 `json:"machine_busy_percent"`
	Cores          int     `json:"cores"`
	// FerryPreempted counts involuntary context switches of Ferry's
	// threads (nonvoluntary_ctxt_switches).
	FerryPreempted           uint64  `json:"ferry_preemptions"`
	FerryPreemptedPerMessage float64 `json:"ferry_preemptions_per_message"`
}

// processorCounters is one reading of the counters processorUse is made of.
type processorCounters struct {
	at              time.Time
	ferry, dendrite time.Duration
	ferryPreempted  uint64
	busy, total     uint64 // /proc/stat, all cores, in USER_HZ ticks
}

func readProcessors(ferryPid, dendritePid int) (processorCounters, error) {
	c := processorCounters{at: time.Now()}
	var errs [4]error
	c.ferry, errs[0] = procCPU(ferryPid)
	c.dendrite, errs[1] = procCPU(dendritePid)
	c.ferryPreempted, errs[2] = threadPreemptions(ferryPid)
	var stat []byte
	if stat, errs[3] = os.ReadFile("/proc/stat"); errs[3] == nil {
		c.busy, c.total, errs[3] = machineTicks(string(stat))
	}
	return c, errors.Join(errs[:]...)
}

// since is the use between before and c, for messages messages.
func (c processorCounters) since(before processorCounters, messages, cores int) *processorUse {
	u := &processorUse{
		WindowSecs:     round(c.at.Sub(before.at).Seconds()),
		FerryMs:        round(float64(c.ferry-before.ferry) / float64(time.Millisecond)),
		DendriteMs:     round(float64(c.dendrite-before.dendrite) / float64(time.Millisecond)),
		Cores:          cores,
		FerryPreempted: c.ferryPreempted - before.ferryPreempted,
	}
	if total := c.total - before.total; total > 0 {
		u.MachineBusyPct = round(100 * float64(c.busy-before.busy) / float64(total))
	}
	if messages > 0 {
		u.FerryPerMessageMs = round(u.FerryMs / float64(messages))
		u.FerryPreemptedPerMessage = round(float64(u.FerryPreempted) / float64(messages))
	}
	return u
}

// threadPreemptions sums nonvoluntary_ctxt_switches over the threads of
// pid. A thread that exited meanwhile takes its count with it; Go keeps
// its threads, so that loses little.
func threadPreemptions(pid int) (uint64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("threads of %d: %w", pid, errors.Join(err, os.ErrNotExist))
	}
	var sum uint64
	for _, path := range tasks {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // the thread has exited
		}
		n, err := statusCount(string(data), "nonvoluntary_ctxt_switches")
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		sum += n
	}
	return sum, nil
}

// statusCount is the number after "key:" in a /proc status file.
func statusCount(status, key string) (uint64, error) {
	v, ok := statusValue(status, key)
	if !ok {
		return 0, fmt.Errorf("no %s", key)
	}
	return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
}

// machineTicks reads the all-cores line of /proc/stat: busy is every
// field but idle and iowait, total all of them up to steal (guest time is
// already counted in user).
func machineTicks(stat string) (busy, total uint64, err error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("/proc/stat: no all-cores line")
	}
	var idle uint64
	for i, s := range f[1:9] { // user nice system idle iowait irq softirq steal
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		total += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return total - idle, total, nil
}
