#!/usr/bin/env bash
# `make bench`: a fresh bench stack (its own ports), release builds of
# casehub and casehub-bench, the benchmark run, the stack stopped again.
# Extra arguments go to casehub-bench (e.g. ARGS="--events 50000",
# ARGS="--scale-out", ARGS="--hubs 2 --delay-ms 1 --perf"; --help lists them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

Deploy/local/stack.sh destroy bench >/dev/null 2>&1 || true
trap 'trap "" INT PIPE HUP; Deploy/local/stack.sh stop bench' EXIT
Deploy/local/stack.sh start bench
# shellcheck disable=SC1091
source .local/bench/env
# --delay-ms starts a broker of the bench's own that advertises its delaying proxy.
export CASEHUB_TANSU="$root/.local/bin/tansu"

swift build -c release --product casehub
swift build -c release --product casehub-bench
"$(swift build -c release --show-bin-path)/casehub-bench" "$@"
