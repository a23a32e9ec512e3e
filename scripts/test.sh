#!/usr/bin/env bash
# scripts/test.sh: run Ferry's whole test suite, installing what it needs.
#
# Usage:
#   scripts/test.sh                              gofmt check, go vet ./..., go test -race -count=1 ./...
#                                                (and cmd/ again with -tags ferry_no_whatsapp)
#   scripts/test.sh -run TestDM ./bridge/...     only those packages, with extra go test flags
#   scripts/test.sh -v ./internal/testbed/
#
# Arguments go to `go test -race -count=1 -timeout=30m` unchanged and in
# order (so -count and -timeout can be overridden). The race detector is
# on because Ferry is goroutines around shared state (portals, ghosts,
# connections) and the end-to-end tests drive them the way users do; it
# roughly doubles the run's time. Arguments that are "." or
# start with "./", "../" or "github.com/ferrybridge/ferry" are package
# patterns; go vet and the gofmt check then cover only those packages.
# Without patterns, ./... is tested and vetted and gofmt checks every .go
# file in the tree. Write flag values that look like paths with "=", e.g.
# -coverprofile=./cover.out.
#
# What it installs when missing (and prints when it does):
#   - PostgreSQL server binaries (Debian package postgresql) via apt-get, as
#     root or through sudo. The system service is not started: tests run
#     their own throwaway clusters. The server's bin directory
#     (/usr/lib/postgresql/<version>/bin) is put on PATH for the tests.
#   - Dendrite v0.13.8 (github.com/matrix-org/dendrite, Apache-2.0) built with
#     `go install` into $FERRY_TESTBED_CACHE/bin (default
#     ~/.cache/ferry-testbed/bin), the place internal/testbed looks for it.
#     The install takes a few minutes cold and is skipped when present.
#
# Environment: FERRY_TESTBED_CACHE (see above); CI (set by CI, no effect
# beyond non-interactive installs, which are always used).
#
# Runs on Debian 12 with Go at /usr/local/go (or on PATH); needs network
# access to the Go module proxy and, when installing, Debian's apt mirrors.
set -euo pipefail

cd "$(dirname "$0")/.."

DENDRITE_MODULE=github.com/matrix-org/dendrite
DENDRITE_VERSION=v0.13.8
DENDRITE_COMMANDS=(dendrite generate-config generate-keys)

say() { printf 'test.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

started=$SECONDS
step() { say "[$((SECONDS - started))s] $*"; }

# --- Go ---------------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
	[[ -x /usr/local/go/bin/go ]] || die "go not found on PATH nor at /usr/local/go/bin/go"
	export PATH="/usr/local/go/bin:$PATH"
fi
step "using $(go version)"

# --- System packages (apt) -------------------------------------------------
apt_missing=()

pg_bindir() {
	local d
	if command -v initdb >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v initdb)")"
		return 0
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -x $d/initdb ]]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}
pg_bindir >/dev/null || apt_missing+=(postgresql)

# InspIRCd 3 for the IRC tests (internal/testbed looks on PATH, then /usr/sbin).
command -v inspircd >/dev/null 2>&1 || [[ -x /usr/sbin/inspircd ]] || apt_missing+=(inspircd)

if ((${#apt_missing[@]} > 0)); then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null 2>&1 || die "need root or sudo to install: ${apt_missing[*]}"
		sudo=(sudo -n)
	fi
	step "installing system packages: ${apt_missing[*]} (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	# Keep package scripts from starting services (PostgreSQL's cluster):
	# a policy-rc.d answering 101 forbids all service starts.
	policy=/usr/sbin/policy-rc.d
	policy_added=false
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
		"${sudo[@]}" chmod 755 "$policy"
		policy_added=true
		trap '"${sudo[@]}" rm -f "$policy"' EXIT
	fi
	"${sudo[@]}" apt-get update </dev/null
	"${sudo[@]}" apt-get install -y --no-install-recommends "${apt_missing[@]}" </dev/null
	if $policy_added; then
		"${sudo[@]}" rm -f "$policy"
		trap - EXIT
	fi
fi

if pgbin=$(pg_bindir); then
	export PATH="$pgbin:$PATH"
	step "PostgreSQL binaries: $pgbin"
else
	die "PostgreSQL's initdb not found after install"
fi

# --- Dendrite ---------------------------------------------------------------
FERRY_TESTBED_CACHE=${FERRY_TESTBED_CACHE:-${HOME:?HOME or FERRY_TESTBED_CACHE must be set}/.cache/ferry-testbed}
mkdir -p "$FERRY_TESTBED_CACHE"
FERRY_TESTBED_CACHE=$(cd "$FERRY_TESTBED_CACHE" && pwd)
export FERRY_TESTBED_CACHE
dendrite_bin=$FERRY_TESTBED_CACHE/bin

# dendrite_ok: all commands present and built from the right module and version.
dendrite_ok() {
	local c
	for c in "${DENDRITE_COMMANDS[@]}"; do
		go version -m "$dendrite_bin/$c" 2>/dev/null |
			grep -Eq "^[[:space:]]+mod[[:space:]]+${DENDRITE_MODULE}[[:space:]]+${DENDRITE_VERSION}([[:space:]]|\$)" ||
			return 1
	done
}

if ! dendrite_ok; then
	# Same lock file as internal/testbed (flock), so parallel installs wait.
	exec 9>"$FERRY_TESTBED_CACHE/install.lock"
	flock 9
	if ! dendrite_ok; then
		step "installing Dendrite $DENDRITE_VERSION ($DENDRITE_MODULE) into $dendrite_bin (a few minutes)"
		tmp=$(mktemp -d "$FERRY_TESTBED_CACHE/install-XXXXXX")
		pkgs=()
		for c in "${DENDRITE_COMMANDS[@]}"; do
			pkgs+=("$DENDRITE_MODULE/cmd/$c@$DENDRITE_VERSION")
		done
		(cd "$tmp" && GOBIN="$tmp" GOFLAGS='' go install "${pkgs[@]}")
		mkdir -p "$dendrite_bin"
		for c in "${DENDRITE_COMMANDS[@]}"; do
			mv -f "$tmp/$c" "$dendrite_bin/$c"
		done
		rm -rf "$tmp"
		dendrite_ok || die "Dendrite install in $dendrite_bin is not usable"
	fi
	flock -u 9
	exec 9>&-
fi
step "Dendrite $DENDRITE_VERSION: $dendrite_bin"

# --- Arguments ----------------------------------------------------------------
patterns=()
for arg in "$@"; do
	case $arg in
	. | ./* | ../* | github.com/ferrybridge/ferry*) patterns+=("$arg") ;;
	esac
done
test_args=("$@")
explicit_patterns=true
if ((${#patterns[@]} == 0)); then
	explicit_patterns=false
	patterns=(./...)
	test_args+=(./...)
fi

# --- Checks and tests -------------------------------------------------------
# gofmt: the whole tree, or only the directories of the packages asked for.
if $explicit_patterns; then
	step "gofmt -l (directories of ${patterns[*]})"
	unformatted=$(go list -f '{{.Dir}}' "${patterns[@]}" | while IFS= read -r dir; do
		find "$dir" -maxdepth 1 -type f -name '*.go' -print0
	done | xargs -0 -r gofmt -l)
else
	step "gofmt -l"
	unformatted=$(find . \( -name .git -o -name testdata -o -name vendor -o -name node_modules \) -prune \
		-o -type f -name '*.go' -print0 | xargs -0 -r gofmt -l)
fi
if [[ -n $unformatted ]]; then
	say "files not formatted with gofmt (run gofmt -w on them):"
	printf '%s\n' "$unformatted" | sed 's/^/  /' >&2
	exit 1
fi

step "go vet ${patterns[*]}"
go vet "${patterns[@]}"
# The build that bridges IRC only (-tags ferry_no_whatsapp) differs in
# cmd/ only: vet and test it there too when the whole suite runs.
if ! $explicit_patterns; then
	step "go vet -tags ferry_no_whatsapp ./cmd/..."
	go vet -tags ferry_no_whatsapp ./cmd/...
fi

step "go test -race -count=1 -timeout=30m ${test_args[*]}"
go test -race -count=1 -timeout=30m "${test_args[@]}"
if ! $explicit_patterns; then
	step "go test -race -count=1 -tags ferry_no_whatsapp ./cmd/ferry/"
	go test -race -count=1 -tags ferry_no_whatsapp ./cmd/ferry/
fi
step "all passed"
