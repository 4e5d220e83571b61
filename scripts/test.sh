#!/usr/bin/env bash
# Runs every check and test of the project, the same way CI does:
# formatting, lints, the no_std build, and `cargo test --workspace`
# (unit, property, in-process and end-to-end tests in network namespaces).
# Needs root: the end-to-end tests build real networks in namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/preflight.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "== no_std build of unat"
cargo build --locked --manifest-path ci-checks/no-std/Cargo.toml
echo "== cargo test --workspace"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ {
        for (i = 2; i <= NF; i++) {
            if ($i == "passed;") p += $(i - 1)
            if ($i == "failed;") f += $(i - 1)
        }
     }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
