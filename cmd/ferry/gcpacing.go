package main

import (
	"os"
	"runtime/debug"
)

// startupGCPercent paces the garbage collector until the start settles.
// The start allocates a burst (migrations, the homeserver calls, restored
// logins' handshakes) that is garbage a moment later. A collection in the
// middle of it costs CPU and leaves the collector's metadata resident for
// good: about 0.6 MiB of a bridge with no users, by ferry-bench's memory
// scenario. Twice the default heap growth lets such a start finish
// without a collection. When the start settles, the bridge collects once
// to return the memory, then restores the default pacing
// (bridge.StartupSettled).
const startupGCPercent = 200

// relaxStartupGC sets the start's pacing and returns what restores the
// one before. An administrator's GOGC is left as it is.
func relaxStartupGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	previous := debug.SetGCPercent(startupGCPercent)
	return func() { debug.SetGCPercent(previous) }
}
