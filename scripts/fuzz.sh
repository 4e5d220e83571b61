#!/usr/bin/env bash
# Fuzzes unat's packet translation (fuzz/fuzz_targets/translate.rs) with
# cargo-fuzz (libFuzzer, nightly toolchain).
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
#
# Runs for SECONDS (default 60). The corpus grows in fuzz/corpus/translate;
# crashing inputs land in fuzz/artifacts/translate (reproduce one with
# `cargo +nightly fuzz run translate <file>`).
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

exec cargo +nightly fuzz run translate -- -max_total_time="$seconds" "$@"
