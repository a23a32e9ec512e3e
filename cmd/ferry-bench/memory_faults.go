package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The idle-faults scenario says where Ferry's RSS with no users above its
// stopped self comes from when the kernel maps the binary page by page.
// There the difference is nearly all the binary's own pages, and each
// page fault maps up to 64 KiB around it (the kernel's fault-around, when
// the file is in the page cache): the faults Ferry makes after main
// begins are the pages the stopped binary never has. The scenario runs
// one Ferry with no logins, from a fresh copy of the binary, under
// `perf record -e page-faults`, stops recording once it is at rest, and
// names each fault's cause from its call chain (memory_faults_parse.go).
// perf must be installed and allowed to trace (root, or
// kernel.perf_event_paranoid at most 1). It is a diagnosis, not a target:
// `bench.sh all` does not run it.

// faultAroundBytes is the kernel's default fault_around_bytes; the
// setting itself is in debugfs, which is seldom mounted.
const faultAroundBytes = 64 << 10

type faultsResult struct {
	// All is every fault in the binary's read-only mappings; AfterMain
	// those from the first one made under main.main on.
	All         int          `json:"faults_in_binary"`
	AfterMain   int          `json:"faults_after_main"`
	FaultAround int          `json:"fault_around_bytes"`
	Causes      []faultCause `json:"causes"`
}

func (b *memBed) idleFaultsScenario(ctx context.Context, rep *memReport) error {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return fmt.Errorf("idle-faults runs Ferry under perf, which is not installed (Debian: apt-get install linux-perf): %w", err)
	}
	dbPath := filepath.Join(b.dir, "ferry-faults.db")
	if err := b.seedLogins(ctx, dbPath, memNetPlain, "p", 0, "", nil); err != nil {
		return fmt.Errorf("seed ferry-faults: %w", err)
	}
	cfgPath, err := b.writeFerryConfig("ferry-faults", dbPath, 0)
	if err != nil {
		return err
	}
	copyBin := filepath.Join(b.dir, "ferry-faults")
	if err := copyExecutable(b.ferryBin, copyBin); err != nil {
		return err
	}
	ctl, ack := filepath.Join(b.dir, "perf-ctl"), filepath.Join(b.dir, "perf-ack")
	for _, fifo := range []string{ctl, ack} {
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			return fmt.Errorf("perf control fifo: %w", err)
		}
	}
	data := filepath.Join(b.dir, "faults.data")
	args := append(ferryEnv(), "record", "-q", "-e", "page-faults", "-c", "1", "-d", "-g",
		"--control", "fifo:"+ctl+","+ack, "-o", data, "--", copyBin, "-c", cfgPath)
	say("ferry-faults: Ferry with no logins, from a fresh copy of the binary, under perf record")
	p, err := b.start("ferry-faults", perf, args...)
	if err != nil {
		return err
	}
	if err := p.waitProbe(ctx, 30*time.Second); err != nil {
		p.stop()
		return p.withLog(err)
	}
	select {
	case <-ctx.Done():
		p.stop()
		return ctx.Err()
	case <-time.After(mflags.Settle):
	}
	// Recording stops before Ferry does: what its shutdown touches is
	// not what it holds at rest.
	err = perfControl(ctl, ack, "disable")
	p.stop() // perf ends its workload when it is stopped
	if err != nil {
		return p.withLog(err)
	}
	out, err := exec.CommandContext(ctx, perf, "script", "-i", data, "-F", "comm,tid,time,addr,ip,sym", "--show-mmap-events").Output()
	if err != nil {
		return fmt.Errorf("perf script: %w", err)
	}
	samples, ranges, err := parsePerfFaults(bytes.NewReader(out), copyBin)
	if err != nil {
		return err
	}
	if len(ranges) == 0 {
		return fmt.Errorf("the recording has no mapping of %s", copyBin)
	}
	causes, afterMain, all := classifyFaults(samples, ranges)
	if afterMain == 0 {
		return fmt.Errorf("no fault in the binary under main.main among %d recorded: perf recorded no call chains?", len(samples))
	}
	rep.Faults = &faultsResult{All: all, AfterMain: afterMain, FaultAround: faultAroundBytes, Causes: causes}
	return nil
}

// perfControl sends one command through perf record's control fifo and
// waits for its acknowledgement.
func perfControl(ctl, ack, cmd string) error {
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(ctl, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		_, err = w.WriteString(cmd + "\n")
		w.Close()
		if err != nil {
			done <- err
			return
		}
		r, err := os.Open(ack)
		if err != nil {
			done <- err
			return
		}
		defer r.Close()
		line, err := bufio.NewReader(r).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ack" {
			err = fmt.Errorf("perf answered %q", line)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("perf %s: %w", cmd, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("perf %s: no answer in 10 s", cmd)
	}
}
