#!/usr/bin/env bash
# `make run` with every variable that docs/configuration.md documents for
# `casehub` and the local stack set to a value other than its default: it
# must serve /healthz (over HTTPS, on the configured address and port), use
# the configured broker and database ports, and stop its stack on Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'check-make-run: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

work="$(mktemp -d)"
run_pid=""
cleanup() {
    if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then kill -INT -- "-$run_pid" 2>/dev/null || true; sleep 5; fi
    CASEHUB_PG_PORT=55532 CASEHUB_KAFKA_PORT=59192 Deploy/local/stack.sh stop run >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# A CA and a server certificate for the address below (HTTPS, and the CA
# doubles as the agencies' client CA).
host=127.0.0.2
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=check-make-run CA" \
    -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$host" -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:%s\n' "$host" >"$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
    -extfile "$work/san.ext" -out "$work/server.crt" 2>/dev/null

declare -A settings=(
    # make run points casehub at its own stack over these: set to show that it does.
    [CASEHUB_KAFKA_BROKERS]=127.0.0.1:1
    [CASEHUB_DATABASE_URL]="host=127.0.0.1 port=1"
    [CASEHUB_HUB_DATABASE_URL]="host=127.0.0.1 port=1"
    [CASEHUB_ADAPTER_DATABASE_URL]="host=127.0.0.1 port=1"
    [CASEHUB_ADMIN_DATABASE_URL]="host=127.0.0.1 port=1"
    [CASEHUB_PG_CA]=/nonexistent/ca.crt
    [CASEHUB_PG_PORT]=55532
    [CASEHUB_KAFKA_PORT]=59192
    [CASEHUB_LIBRDKAFKA_SOCKET_KEEPALIVE_ENABLE]=true
    [CASEHUB_LIBRDKAFKA_FETCH_WAIT_MAX_MS]=50
    [CASEHUB_TOPIC_PREFIX]=checkrun
    [CASEHUB_HTTP_HOST]=$host
    [CASEHUB_HTTP_PORT]=8181
    [CASEHUB_TLS_CERTIFICATE]="$work/server.crt"
    [CASEHUB_TLS_KEY]="$work/server.key"
    [CASEHUB_TLS_CLIENT_CA]="$work/ca.crt"
    [CASEHUB_TLS_REQUIRE_AGENCY_CERTIFICATES]=1
    [CASEHUB_MAX_BODY_BYTES]=1000000
    [CASEHUB_MAX_EVENTS_PER_BATCH]=50
    [CASEHUB_MAX_STRING_BYTES]=10000
    [CASEHUB_RATE_PER_SECOND]=50
    [CASEHUB_RATE_BURST]=60
    [CASEHUB_RELAY_WORKERS]=3
    [CASEHUB_RELAY_LEASE_MS]=4000
    [CASEHUB_LOG_LEVEL]=notice
)

# Every variable the two tables document is set here, so that a newly
# documented one cannot go unchecked.
# (Any CASEHUB_LIBRDKAFKA_<PROPERTY> the page names stands for the pass-through.)
documented=$(sed -n '/^## Read by `casehub`/,/^## Read by tests only/p' docs/configuration.md | grep -o 'CASEHUB_[A-Z_]*' \
    | sed 's/^CASEHUB_LIBRDKAFKA_.*/CASEHUB_LIBRDKAFKA_/' | sort -u)
[ -n "$documented" ] || fail "found no variables in docs/configuration.md"
for variable in $documented; do
    found=""
    for name in "${!settings[@]}"; do
        if [ "$name" = "$variable" ] || { [[ "$variable" == *_ ]] && [[ "$name" == "$variable"* ]]; }; then found=1; fi
    done
    [ -n "$found" ] || fail "docs/configuration.md documents $variable, which this check does not set"
done
for name in "${!settings[@]}"; do export "$name=${settings[$name]}"; done

# Built first, so that the wait below measures start-up, not a first build.
make -s setup
swift build --product casehub

say "make run with $(echo "$documented" | wc -l) documented variables set"
setsid make run >"$work/run.log" 2>&1 </dev/null &
run_pid=$!

healthy=""
for _ in $(seq 1 180); do
    if curl -sf --cacert "$work/ca.crt" "https://$host:8181/healthz" >/dev/null 2>&1; then healthy=1; break; fi
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 1
done
if [ -z "$healthy" ]; then
    tail -n 40 "$work/run.log" >&2
    fail "/healthz did not answer at https://$host:8181"
fi
say "/healthz answers at https://$host:8181"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_open 55532 || fail "PostgreSQL is not on CASEHUB_PG_PORT=55532"
port_open 59192 || fail "the broker is not on CASEHUB_KAFKA_PORT=59192"

kill -INT -- "-$run_pid"
for _ in $(seq 1 60); do kill -0 "$run_pid" 2>/dev/null || break; sleep 1; done
kill -0 "$run_pid" 2>/dev/null && fail "make run did not stop within 60 s of Ctrl-C"
run_pid=""
port_open 55532 && fail "PostgreSQL still runs after make run stopped"
port_open 59192 && fail "the broker still runs after make run stopped"
say "passed: served /healthz over HTTPS, stack on the configured ports, stopped on Ctrl-C"
