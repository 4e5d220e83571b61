#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine:
# the network tools used as real peers (iproute2, ping, curl, traceroute,
# ethtool, socat, python3, tcpdump, iperf3). Needs root for apt-get. The
# Rust toolchain (cargo) must already be there.
set -euo pipefail

need_pkgs=()
check() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
check ip iproute2
check ping iputils-ping
check curl curl
check traceroute traceroute
check tracepath iputils-tracepath
check ethtool ethtool
check socat socat
check tcpdump tcpdump
check iperf3 iperf3
[ -x /usr/bin/python3 ] || need_pkgs+=(python3)

if [ "${#need_pkgs[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing ${need_pkgs[*]}; run as root to install them" >&2
        [ "${UNAT_SKIP_E2E:-}" = 1 ] || exit 1
    else
        echo "setup: installing ${need_pkgs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
    fi
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install the Rust toolchain (rustup) first" >&2
    exit 1
fi
