#!/usr/bin/env bash
# Starts and stops the embedded local stack: a private PostgreSQL cluster and a
# tansu broker (memory storage), both on loopback, data under .local/<name>/.
#
#   Deploy/local/stack.sh start NAME   # NAME: "run" (make run), "test" (make test), "bench" (make bench)
#   Deploy/local/stack.sh stop NAME
#   Deploy/local/stack.sh destroy NAME # stops it and removes its data (a fresh stack next time)
#   Deploy/local/stack.sh env NAME     # prints the exports a client needs
#   Deploy/local/stack.sh restart-db NAME [SECONDS]  # restarts PostgreSQL, down SECONDS (fault tests)
#
# Ports: CASEHUB_PG_PORT and CASEHUB_KAFKA_PORT override the defaults below.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cmd="${1:?usage: stack.sh start|stop|destroy|env|restart-db NAME}"
name="${2:?usage: stack.sh start|stop|destroy|env|restart-db NAME}"

case "$name" in
    run)  default_pg=55432; default_kafka=59092 ;;
    test) default_pg=55442; default_kafka=59102 ;;
    bench) default_pg=55452; default_kafka=59112 ;;
    *)    echo "stack: unknown stack name '$name' (run, test or bench)" >&2; exit 2 ;;
esac
pg_port="${CASEHUB_PG_PORT:-$default_pg}"
kafka_port="${CASEHUB_KAFKA_PORT:-$default_kafka}"
dir="$root/.local/$name"
pg_bin="$(pg_config --bindir 2>/dev/null || true)"
[ -x "$pg_bin/initdb" ] || pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

say() { printf 'stack[%s]: %s\n' "$name" "$*" >&2; }

# PostgreSQL refuses to run as root; as root we run it as the 'postgres' user
# that Debian's package creates.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Where the cluster and its server certificate live. As another user, in the
# checkout. As root, the 'postgres' user must be able to reach them, and a
# checkout in root's home (or any 0700 directory) is closed to it: they live
# in that user's home instead, in a folder named after this checkout's path,
# and .local/NAME/postgres links to it.
if [ "$(id -u)" -eq 0 ]; then
    pg_home="$(getent passwd postgres | cut -d: -f6)"
    [ -d "$pg_home" ] || { say "the postgres user has no home directory ($pg_home); is Debian's postgresql installed?"; exit 1; }
    pg_dir="$pg_home/casehub-local/$(printf '%s' "$root" | sha256sum | cut -c1-16)/$name"
else
    pg_dir="$dir"
fi
pgdata="$pg_dir/pgdata"
tls="$pg_dir/tls"

# The server's folder, owned by the user that runs PostgreSQL.
prepare_pg_dir() {
    mkdir -p "$dir" "$pg_dir"
    if [ "$pg_dir" != "$dir" ]; then
        chmod 755 "$(dirname "$(dirname "$pg_dir")")" "$(dirname "$pg_dir")"  # whatever root's umask
        chown postgres: "$pg_dir"
        chmod 700 "$pg_dir"
        ln -sfn "$pg_dir" "$dir/postgres"
    fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # port seconds what
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        port_open "$1" && return 0
        sleep 0.1
    done
    say "$3 did not open port $1 within $2 s"
    return 1
}

print_env() {
    cat <<ENV
export CASEHUB_KAFKA_BROKERS=127.0.0.1:$kafka_port
export CASEHUB_DATABASE_URL='host=127.0.0.1 port=$pg_port user=casehub dbname=casehub'
export CASEHUB_PG_CA=$tls/ca.crt
export LD_LIBRARY_PATH=$root/.local/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
# tansu holds every fetch for the whole wait, even when a record arrives (Kafka answers at once).
export CASEHUB_LIBRDKAFKA_FETCH_WAIT_MAX_MS=\${CASEHUB_LIBRDKAFKA_FETCH_WAIT_MAX_MS:-5}
ENV
}

# TLS for PostgreSQL: a CA made here (never trusted outside this folder) and a
# server certificate for 127.0.0.1 and localhost, so that clients can use
# sslmode=verify-full sslrootcert=$tls/ca.crt (plain connections still work).
make_tls() {
    [ -f "$tls/server.crt" ] && return 0
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=CaseHub local CA ($name)" \
        -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 3650 \
        -extfile "$tls/san.ext" -out "$tls/server.crt" 2>/dev/null
    chmod 600 "$tls/server.key" "$tls/ca.key"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$tls" "$tls/server.key" "$tls/server.crt"; fi
    say "made a local CA and a server certificate in $tls"
}
# max_connections: the test suite runs dozens of whole stacks at once, each
# with the hub's, the adapters' and the listeners' connections.
pg_options() {
    echo "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=1000 -c fsync=on" \
        "-c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key"
}

start_postgres() {
    prepare_pg_dir
    if [ ! -f "$pgdata/PG_VERSION" ]; then
        say "initialising PostgreSQL cluster in $pgdata"
        as_pg "$pg_bin/initdb" -D "$pgdata" -U casehub --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    fi
    if as_pg "$pg_bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
        say "PostgreSQL already running on port $pg_port"
    else
        if port_open "$pg_port"; then
            say "port $pg_port is taken by another program; set CASEHUB_PG_PORT to a free port"
            exit 1
        fi
        make_tls
        as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 start -o "$(pg_options)" >/dev/null
        say "PostgreSQL started on 127.0.0.1:$pg_port (log: $pgdata/server.log)"
    fi
    if ! psql "host=127.0.0.1 port=$pg_port user=casehub dbname=postgres" -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'casehub'" | grep -q 1; then
        psql -q "host=127.0.0.1 port=$pg_port user=casehub dbname=postgres" -c "CREATE DATABASE casehub"
    fi
}

start_broker() {
    local pidfile="$dir/tansu.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        say "tansu already running on port $kafka_port"
        return
    fi
    if port_open "$kafka_port"; then
        say "port $kafka_port is taken by another program; set CASEHUB_KAFKA_PORT to a free port"
        exit 1
    fi
    mkdir -p "$dir"
    setsid "$root/.local/bin/tansu" broker \
        --listener-url "tcp://127.0.0.1:$kafka_port" \
        --advertised-listener-url "tcp://127.0.0.1:$kafka_port" \
        --storage-engine "memory://tansu/" \
        >"$dir/tansu.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    wait_for_port "$kafka_port" 30 tansu
    say "tansu started on 127.0.0.1:$kafka_port (log: $dir/tansu.log)"
}

stop_all() {
    local pidfile="$dir/tansu.pid"
    if [ -f "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
        say "tansu stopped"
    fi
    if [ -f "$pgdata/postmaster.pid" ]; then
        as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
        say "PostgreSQL stopped"
    fi
}

# Stops the stack and removes its data, wherever the cluster lives.
destroy_all() {
    stop_all
    rm -rf "$dir"
    if [ "$pg_dir" != "$dir" ]; then
        rm -rf "$pg_dir"
        rmdir "$(dirname "$pg_dir")" 2>/dev/null || true  # the checkout's folder, once its last stack is gone
    fi
}

# restart-db NAME [SECONDS]: down for SECONDS (default 0) between stop and start.
restart_postgres() {
    local down="${1:-0}"
    make_tls
    as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w -t 60 stop >/dev/null
    sleep "$down"
    as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 start -o "$(pg_options)" >/dev/null
    say "PostgreSQL restarted after ${down} s down"
}

case "$cmd" in
    start) start_postgres; start_broker; print_env >"$dir/env" ;;
    stop)  stop_all ;;
    destroy) destroy_all ;;
    restart-db) restart_postgres "${3:-0}" ;;  # fault tests: the database goes away and comes back
    env)   print_env ;;
    *)     echo "stack: unknown command '$cmd' (start, stop, destroy, env, restart-db)" >&2; exit 2 ;;
esac
