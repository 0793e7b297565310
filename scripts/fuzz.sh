#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time, then folds what it found into the committed
# corpus (fuzz/corpus/<target>/, minimized with `cargo fuzz cmin`). See docs/fuzzing.md.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 60
#   TARGET...           default: every target (`cargo fuzz list`)
# Environment:
#   FUZZ_SANITIZER      address (default) or none: libFuzzer alone, if an AddressSanitizer build fails
#   FUZZ_MAX_LEN        largest input libFuzzer tries, in bytes (default 4096)
#
# Exits 1 when a target crashed (panic, failed assertion, sanitizer report, timeout or out-of-memory); the
# input that did it is in fuzz/artifacts/<target>/. Every target still runs.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
shift || true
sanitizer="${FUZZ_SANITIZER:-address}"
max_len="${FUZZ_MAX_LEN:-4096}"

command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
# cargo-fuzz passes nightly-only -Z flags (sanitizer, coverage instrumentation); the stable toolchain accepts
# them with RUSTC_BOOTSTRAP=1, and ships the AddressSanitizer runtime.
export RUSTC_BOOTSTRAP=1

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "==> building the fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build -s "$sanitizer"

work=target/fuzz-work
mkdir -p "$work"
failed=()
for target in "${targets[@]}"; do
    corpus="corpus/$target"
    fresh="$work/$target"
    log="$work/$target.log"
    rm -rf "$fresh"
    mkdir -p "$corpus" "$fresh"
    dict=()
    [[ -f "dict/$target.dict" ]] && dict=("-dict=dict/$target.dict")

    echo "==> $target: ${seconds}s from $(find "$corpus" -type f | wc -l) corpus inputs"
    # New inputs go to the first directory; the committed corpus is only read.
    if cargo fuzz run -s "$sanitizer" "$target" "$fresh" "$corpus" -- \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -print_final_stats=1 "${dict[@]}" \
        >"$log" 2>&1; then
        grep -E '^Done [0-9]+ runs' "$log" || true
    else
        failed+=("$target")
        echo "!!! $target crashed (full log: fuzz/$log):"
        grep -E -A12 "panicked at|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY" "$log" | head -40 || tail -40 "$log"
        grep -E 'Test unit written to' "$log" || true
    fi

    # Fold the new inputs in and keep only those that add coverage edges (-use_counters=0: hit counts are not
    # kept apart, which keeps the committed corpus at a few hundred small files per target).
    found=$(find "$fresh" -type f | wc -l)
    if [[ "$found" -gt 0 ]]; then
        cp "$fresh"/* "$corpus"/
        cargo fuzz cmin -s "$sanitizer" "$target" "$corpus" -- -max_len="$max_len" -timeout=10 -use_counters=0 >"$log.cmin" 2>&1 ||
            echo "!!! cmin of $target failed, see fuzz/$log.cmin"
    fi
    echo "    corpus: $(find "$corpus" -type f | wc -l) inputs, $(find "$corpus" -type f -exec cat {} + | wc -c) bytes" \
        "($found new before minimizing)"
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "==> crashed: ${failed[*]} (inputs in fuzz/artifacts/; docs/fuzzing.md says how to turn one into a test)"
    exit 1
fi
echo "==> no crash in ${#targets[@]} targets, ${seconds}s each"
