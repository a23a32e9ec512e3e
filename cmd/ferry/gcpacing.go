package main

import (
	"os"
	"runtime/debug"
)

// startupGCPercent paces the garbage collector during the start. Reading
// the config, the migrations and the homeserver calls allocate garbage
// that a collection in the first milliseconds would chase, and every
// collection leaves the collector's metadata resident: about 0.5 MiB of a
// bridge with no users, by ferry-bench's memory scenario. Twice the
// default heap growth lets that part of the start finish without one. The
// bridge restores the default pacing (bridge.StartupGCDone) before it
// restores stored logins, or, with none, once it has returned the start's
// memory.
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
