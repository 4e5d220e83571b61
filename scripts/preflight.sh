#!/usr/bin/env bash
# Fails loudly unless this machine can run the end-to-end tests: root,
# network namespaces, veth pairs and TAP devices.
set -euo pipefail
fail() {
    if [ "${UNAT_SKIP_E2E:-}" = 1 ]; then
        echo "preflight: WARNING: $* (UNAT_SKIP_E2E=1: end-to-end tests will be skipped)" >&2
        exit 0
    fi
    echo "preflight: FAIL: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || fail "the end-to-end tests need root (network namespaces, AF_PACKET, TAP)"
[ -c /dev/net/tun ] || fail "/dev/net/tun is missing: TAP devices cannot be created"
probe="unat-preflight-$$"
ip netns add "$probe" 2>/dev/null || fail "cannot create a network namespace (ip netns add)"
trap 'ip netns del "$probe" 2>/dev/null || true' EXIT
ip -n "$probe" link add a0 type veth peer name b0 2>/dev/null || fail "cannot create a veth pair inside a namespace"
ip -n "$probe" tuntap add mode tap name t0 2>/dev/null || fail "cannot create a TAP device inside a namespace"
echo "preflight: ok (root, namespaces, veth, TAP)"
