#!/bin/sh
# Runs Ferry's end-to-end benchmark through real servers on loopback
# (Dendrite, InspIRCd, Ferry built from this tree as its own process).
# Needs Go and InspIRCd (apt-get install inspircd); Dendrite is installed
# into the user cache on first use.
#
#   scripts/bench.sh all [DIR]
#
# runs every scenario with the settings of the README's Performance table
# and writes each one's report (.txt) and JSON into DIR (default
# bench-results), and the configuration files InspIRCd, Dendrite and
# Ferry ran with into DIR/configs/<scenario>. Otherwise the arguments go to ferry-bench, e.g.
#
#   scripts/bench.sh -scenario irc-to-matrix -n 200 -interval 20ms -json bench.json
#   scripts/bench.sh -scenario matrix-to-irc -n 200 -interval 20ms -bursts 5
#   scripts/bench.sh -scenario throughput -channels 4 -n 200 -interval 20ms
#   scripts/bench.sh -scenario busy-join -members 200
#   scripts/bench.sh -scenario memory -k 100,1000 -transports plain,tls -portals 100
#   scripts/bench.sh -scenario startup -k 150 -pacing 0,4 -restart-portals 150
#   scripts/bench.sh -scenario idle-cpu -idle-logins 200 -idle-window 150s
#   scripts/bench.sh -scenario memory -k 1000 -transports plain -portals 0 -ferry-tags ferry_no_whatsapp
#
# -ferry-tags builds Ferry (and the bare programs) with build tags, as
# above for the build that bridges IRC only; -ferry-env adds environment
# for Ferry's process (e.g. GOMAXPROCS=1), to try runtime settings.
#
# irc-to-matrix alternates its bursts with the same bursts sent with no
# Ferry (-homeserver-alone, default ordered): another local user sends
# them in order, each once the last is answered, as a bridge must, into
# rooms the Matrix user shares with it; what the homeserver alone drains
# on this machine. -homeserver-alone concurrent sends each when due, free
# to arrive out of order; off skips it. -observe registers the push
# observer there too, so that the homeserver pushes every event of the
# baseline to an appservice, as it pushes each of Ferry's to Ferry.
#
# -bursts K repeats a latency scenario's burst K times in the same test
# bed, a second apart: the report lists each burst's own p99s and gives
# every percentile over all K bursts' messages, a steadier estimate than
# one burst's second-worst message.
#
# memory, startup and idle-cpu start Ferry once per figure, on a database
# seeded with K IRC logins (Ferry restores them as at any restart), and
# read RSS and CPU from /proc; see cmd/ferry-bench/memory.go. Ferry with
# no users is measured against its own binary stopped after init
# -idle-pairs times (default 5), since one start moves by a few hundred
# KiB, and -idle-copies times (default 3) from fresh copies of the binary,
# which the kernel maps page by page rather than in 2 MiB pieces; the
# target reads both medians. startup then restarts Ferry with
# -restart-portals logins, each in a channel with its portal, and times
# until every portal bridges a line again.
#
# idle-faults (not in "all"; needs perf) runs Ferry with no users from a
# fresh copy of the binary under perf record -e page-faults and names the
# cause of every fault in the binary after main began: the pages that
# make its RSS above its stopped self when the binary is mapped page by
# page.
#
#   scripts/bench.sh -scenario idle-faults
#
# busy-join connects -members clients to a channel, then has the Matrix
# user join it: how soon the first line and the first reply get through,
# and how soon every member's ghost is in the room.
#
# -tap puts a recording proxy between Dendrite and Ferry, which times
# each message after Dendrite's push to Ferry. The proxy is one more
# process that wants the processors just when Ferry does, and it raised
# Ferry's share (48 against 76 of 5,000 messages over 2 ms, five runs
# each), so "all" measures Matrix -> IRC twice: without the tap for the
# share and the p99 above Dendrite's push, with it for the per-message
# figure.
#
# Ferry runs with its metrics on (a loopback port); its own share of the
# latency is read from /metrics before and after each burst. matrix-to-irc
# and throughput register a second appservice in Dendrite that only notes
# when each event is pushed to it: Dendrite's own push latency, the
# baseline. Ferry's IRC flood control is -ferry-flood (default unlimited,
# which a burst needs); every setting is printed with the results.
#
# Not part of the test suite: it runs only by this command.
set -eu
cd "$(dirname "$0")/.."
if ! command -v inspircd >/dev/null 2>&1 && [ ! -x /usr/sbin/inspircd ]; then
	echo "bench.sh: installing inspircd" >&2
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y inspircd >&2
	else
		sudo apt-get install -y inspircd >&2
	fi
fi
if [ "${1:-}" = all ]; then
	out=${2:-bench-results}
	mkdir -p "$out"
	go build -o "$out/ferry-bench" ./cmd/ferry-bench
	status=0
	while read -r name args; do
		echo "bench.sh: $name" >&2
		# shellcheck disable=SC2086 # the arguments are words on purpose
		"$out/ferry-bench" $args -json "$out/$name.json" -configs "$out/configs/$name" >"$out/$name.txt" || status=1
		cat "$out/$name.txt"
	done <<'EOF'
irc-to-matrix -scenario irc-to-matrix -n 200 -interval 20ms -bursts 5
irc-to-matrix-observe -scenario irc-to-matrix -n 200 -interval 20ms -bursts 5 -observe
matrix-to-irc -scenario matrix-to-irc -n 200 -interval 20ms -bursts 5
matrix-to-irc-tap -scenario matrix-to-irc -n 200 -interval 20ms -bursts 5 -tap
throughput -scenario throughput -channels 4 -n 200 -interval 20ms
busy-join -scenario busy-join -members 200
memory -scenario memory -k 100,1000 -transports plain,tls -portals 100
memory-irc-only -scenario memory -k 1000 -transports plain -portals 0 -ferry-tags ferry_no_whatsapp
startup -scenario startup -k 150 -pacing 0,4 -restart-portals 150
idle-cpu -scenario idle-cpu -idle-logins 200 -idle-window 150s
EOF
	exit $status
fi
[ $# -gt 0 ] || set -- -scenario irc-to-matrix
exec go run ./cmd/ferry-bench "$@"
