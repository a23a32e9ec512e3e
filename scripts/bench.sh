#!/bin/sh
# Runs Ferry's end-to-end benchmark through real servers on loopback
# (Dendrite, InspIRCd, Ferry built from this tree as its own process).
# Needs Go and InspIRCd (apt-get install inspircd); Dendrite is installed
# into the user cache on first use. Arguments go to ferry-bench, e.g.
#
#   scripts/bench.sh -scenario irc-to-matrix -n 200 -interval 20ms -json bench.json
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
[ $# -gt 0 ] || set -- -scenario irc-to-matrix
exec go run ./cmd/ferry-bench "$@"
