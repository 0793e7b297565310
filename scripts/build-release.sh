#!/usr/bin/env bash
# The release build of redisgate-gateway (and redisgate-backup), optimised with a profile of the traffic
# clients send (profile-guided optimisation):
#   1. a build instrumented to count which code runs and which way each branch goes (-Cprofile-generate);
#   2. bench/train.py drives it through what clients send (its docstring lists the workloads);
#   3. llvm-profdata merges the counts;
#   4. the release build uses them (-Cprofile-use): hot code is laid out together and optimised for speed,
#      code the traffic never reached for size.
# The two builds have their own target directories under ~/.cache/redisgate/pgo, as their flags differ. The
# first run builds everything twice (about 15 min on 2 cores); an unchanged checkout takes seconds.
# Usage: scripts/build-release.sh   — prints the path of the optimised redisgate-gateway on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
# stdout is the binary's path alone: what the steps say goes to stderr.
exec 3>&1 1>&2
deps_redis
apt_install wrk:wrk taskset:util-linux h2load:nghttp2-client openssl:openssl
deps_profdata
host=$(rustc -vV | sed -n 's/^host: //p')
pgo="$REDISGATE_CACHE/pgo"
# With --target, RUSTFLAGS apply to the binaries only, not to build scripts and proc-macros (which would
# otherwise write profiles of the build itself).
echo "==> building an instrumented gateway"
CARGO_TARGET_DIR="$pgo/train" RUSTFLAGS="-Cprofile-generate=$pgo/raw" \
    cargo build --release -p redisgate-server --bin redisgate-gateway --target "$host"
trainee="$pgo/train/$host/release/redisgate-gateway"
# The profile is named after the instrumented binary and the training's scripts (train.py and the bench/
# modules it imports, as Python's modulefinder reads them; other benchmarks do not retrain): the same code
# reuses its profile (and its release build), and a new profile is a new path in RUSTFLAGS, which is how
# cargo knows to build again.
mapfile -t training < <(python3 -c 'import modulefinder
finder = modulefinder.ModuleFinder(path=["bench"])
finder.run_script("bench/train.py")
print("\n".join(sorted(m.__file__ for m in finder.modules.values() if m.__file__)))')
profile="$pgo/gateway-$(cat "$trainee" "${training[@]}" | sha256sum | cut -c1-16).profdata"
if [ ! -f "$profile" ]; then
    echo "==> training it (bench/train.py)"
    rm -rf "$pgo/raw" "$pgo"/gateway-*.profdata
    python3 bench/train.py --gateway "$trainee" --seconds 2
    "$PROFDATA" merge -o "$profile" "$pgo/raw" || {
        echo "$PROFDATA cannot read the profiles of $(rustc -V) ($(rustc -vV | grep LLVM)): set PROFDATA to" \
            "an llvm-profdata of that LLVM version or later" >&2
        exit 1
    }
fi
echo "==> building the release with the profile"
# Besides the profile, the layout of the binary, which decides how much of it a process maps (docs/benchmarks.md,
# "Issue 29, fourth session: the profile-guided release build"):
# - only code the training never ran counts as cold (the default threshold also takes code that runs once, such
#   as startup, away from the rest), and the linker keeps hot, cold and the rest in sections of their own;
# - relative relocations are packed (DT_RELR: 1 MiB of `.rela.dyn` becomes a few KiB, which the loader no
#   longer reads at every start). The binary needs glibc 2.36 or later, as on Debian 12 and in the image.
flags="-Cprofile-use=$profile -Cllvm-args=-profile-summary-cold-count=0"
flags+=" -Clink-arg=-Wl,-z,keep-text-section-prefix -Clink-arg=-Wl,-z,pack-relative-relocs"
CARGO_TARGET_DIR="$pgo/release" RUSTFLAGS="$flags" cargo build --release -p redisgate-server --target "$host"
echo "$pgo/release/$host/release/redisgate-gateway" >&3
