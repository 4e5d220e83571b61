//! End to end, fragmentation and path MTU discovery through `unat-router`
//! between real Linux hosts in network namespaces (built by `unat-lab`):
//! 4000-byte pings and UDP datagrams (fragmented on every 1500-byte link,
//! reassembled by the router) both ways, including through the UDP port
//! forward and to the router itself; and, with a 1280-byte public link,
//! the router's Fragmentation Needed as `ping -M do` and `tracepath` see
//! it. (That traceroute's first hop is the router, 10.0.0.1, is checked by
//! `e2e.rs`.) Each test builds its own lab with unique names and removes it
//! after, also on failure. Needs root; fails without it unless
//! UNAT_SKIP_E2E=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use unat_lab::{can_run_or_skip, Lab, LabConfig};

/// The MTU of the ROUTER–HOP link in the path MTU lab.
const SMALL_PUBLIC_MTU: u32 = 1280;

/// A one-NAT lab; with `public_mtu`, the ROUTER–HOP link gets that MTU
/// before the router starts.
fn lab(public_mtu: Option<u32>) -> Option<Lab> {
    if !can_run_or_skip() {
        return None;
    }
    let mut cfg = LabConfig::new(env!("CARGO_BIN_EXE_unat-router"));
    cfg.public_mtu = public_mtu;
    Some(Lab::start(cfg).unwrap_or_else(|e| panic!("the lab did not start: {e}")))
}

#[test]
fn big_pings_travel_in_fragments_through_and_to_the_nat() {
    let Some(lab) = lab(None) else { return };
    lab.assert_passed(lab.check_big_ping());
}

#[test]
fn big_udp_datagrams_arrive_intact_both_ways_and_through_the_forward() {
    let Some(lab) = lab(None) else { return };
    lab.assert_passed(lab.check_big_udp());
}

#[test]
fn path_mtu_discovery_sees_the_routers_fragmentation_needed() {
    let Some(lab) = lab(Some(SMALL_PUBLIC_MTU)) else {
        return;
    };
    lab.assert_passed(lab.check_pmtu());
}
