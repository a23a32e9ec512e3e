// Package testbed starts real servers on loopback for Ferry's end-to-end
// tests: a Dendrite homeserver (StartDendrite), Matrix test users with a
// background /sync (Dendrite.RegisterUser, NewClient), and a fault-injecting
// HTTP proxy (NewFaultProxy) for rate-limit, 5xx and outage tests. The
// core's own tests talk to Dendrite as the appservice
// (StartDendriteForAppservice, NewAppservice, CreateRoom,
// WaitForServerMembership).
//
// Dendrite's binaries are built once with the Go toolchain and cached in
// $FERRY_TESTBED_CACHE/bin (default ~/.cache/ferry-testbed/bin); see
// DendriteBinaries. scripts/test.sh installs them up front.
//
// Every server started here is stopped in t.Cleanup, and on Linux the
// Dendrite process is also killed by the kernel if the test process dies.
//
// Facts about Dendrite v0.13.8 that shape these helpers are recorded in the
// project's TESTBED.md notes; the important ones are repeated where they
// matter (sync filter, rate limiting, appservice delivery).
package testbed
