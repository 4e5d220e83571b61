#!/usr/bin/env bash
# The demo: builds unat-router, puts it between a private host and a small
# public network made of Linux network namespaces, and runs real ping,
# curl, UDP, traceroute and a port forward through it. One PASS/FAIL line
# per check, then the router's counters. Everything it creates is removed
# at the end, also on failure. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }
cargo build --release --locked -p unat-router -p unat-lab
exec target/release/unat-demo --router target/release/unat-router "$@"
