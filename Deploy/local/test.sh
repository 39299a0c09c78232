#!/usr/bin/env bash
# `make test`: a fresh test stack (PostgreSQL + tansu on their own ports),
# `swift test` against it, and the stack stopped again whatever the outcome.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

Deploy/local/stack.sh destroy test >/dev/null 2>&1 || true
trap 'trap "" INT PIPE HUP; Deploy/local/stack.sh stop test' EXIT
Deploy/local/stack.sh start test
# shellcheck disable=SC1091
source .local/test/env

swift build --build-tests
if [ $# -gt 0 ]; then
    swift test --skip-build "$@"
else
    # The fault suite restarts the database and kills hub processes: it runs
    # on its own, after everything else.
    swift test --skip-build --skip FaultTests
    swift test --skip-build --filter FaultTests
fi
