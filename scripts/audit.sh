#!/usr/bin/env bash
# Dependency audit with cargo-deny: licenses (permissive only), sources (crates.io only), duplicate
# versions, and — where GitHub is reachable — the RustSec advisories. Configuration: deny.toml.
# Usage: scripts/audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deny >/dev/null 2>&1 || cargo install --locked cargo-deny
cargo deny --offline check licenses bans sources
if git ls-remote https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
    cargo deny check advisories
else
    echo "advisories: not checked, https://github.com/rustsec/advisory-db is unreachable from here" >&2
fi
