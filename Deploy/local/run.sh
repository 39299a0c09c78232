#!/usr/bin/env bash
# `make run`: starts the local stack (kept in .local/run, reused next time)
# and runs `casehub run` in the foreground. Ctrl-C stops everything it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

# On the way out, ignore a second Ctrl-C, a closed output pipe or terminal: the stack must stop.
trap 'trap "" INT PIPE HUP; Deploy/local/stack.sh stop run' EXIT
Deploy/local/stack.sh start run
# shellcheck disable=SC1091
source .local/run/env
# Each part of `casehub run` connects as its own role (docs/postgres.md), which
# `casehub run` lets log in on this loopback-only cluster; over the caller's values.
for role in hub adapter admin; do
    export "CASEHUB_${role^^}_DATABASE_URL=$CASEHUB_DATABASE_URL user=casehub_$role"
done

swift build --product casehub
"$(swift build --show-bin-path)/casehub" run --data-dir .local/run "$@"
