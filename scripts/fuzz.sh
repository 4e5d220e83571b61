#!/usr/bin/env bash
# Fuzzes unat with cargo-fuzz (libFuzzer, nightly toolchain): the target
# `translate` (mirage-nat's add/translate, fuzz/fuzz_targets/translate.rs)
# and `process` (the RFC path with reassembly and fragmentation).
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
#
# Runs each for SECONDS (default 60). Corpora grow in fuzz/corpus/TARGET;
# crashing inputs land in fuzz/artifacts/TARGET (reproduce one with
# `cargo +nightly fuzz run TARGET <file>`).
set -euo pipefail

seconds="${1:-60}"
shift || true
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz not found: installing it" >&2
    cargo install cargo-fuzz
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "the nightly toolchain is needed: rustup toolchain install nightly" >&2
    exit 1
fi

# Each target gets the time: translate (mirage-nat's API) and process (the
# RFC path, with reassembly and fragmentation).
for target in translate process; do
    echo "== fuzzing $target for $seconds s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" "$@"
done
