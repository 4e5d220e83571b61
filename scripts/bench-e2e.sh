#!/usr/bin/env bash
# End-to-end rates through unat-router (release build) in the namespace
# lab: iperf3 TCP goodput and UDP packet rates, N seconds each (default 5).
# Needs root. Library micro-benchmarks: `cargo bench -p unat`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p unat-router -p unat-lab
exec target/release/unat-e2e-bench --router target/release/unat-router --seconds "${1:-5}"
