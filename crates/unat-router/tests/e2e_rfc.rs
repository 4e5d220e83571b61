//! End to end, the RFC 4787 / RFC 5382 behaviours of `unat-router` between
//! real Linux hosts in network namespaces (built by `unat-lab`):
//! hairpinning between two private hosts, UDP hole punching between hosts
//! behind two routers, and idle timeouts. Each test builds its own lab with
//! unique names and removes it after, also on failure. Needs root; fails
//! without it unless UNAT_SKIP_E2E=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use unat_lab::{can_run_or_skip, Lab, LabConfig};

/// The UDP idle timeout of the timeout tests, in seconds.
const SHORT_UDP_TIMEOUT: u64 = 3;

fn config(extra_args: &[&str]) -> LabConfig {
    let mut cfg = LabConfig::new(env!("CARGO_BIN_EXE_unat-router"));
    cfg.extra_router_args = extra_args.iter().map(|s| s.to_string()).collect();
    cfg
}

/// A one-NAT lab with two private hosts (CLIENT 10.0.0.2, CLIENT2
/// 10.0.0.3); the router forwards tcp:8080 to CLIENT2:80.
fn two_host_lab() -> Option<Lab> {
    if !can_run_or_skip() {
        return None;
    }
    let mut cfg = config(&[]);
    cfg.private_hosts = 2;
    Some(Lab::start(cfg).unwrap_or_else(|e| panic!("the lab did not start: {e}")))
}

/// Two private hosts behind two routers run with `extra_args`.
fn two_nat_lab(extra_args: &[&str]) -> Option<Lab> {
    if !can_run_or_skip() {
        return None;
    }
    Some(
        Lab::start_two_nats(config(extra_args))
            .unwrap_or_else(|e| panic!("the two-NAT lab did not start: {e}")),
    )
}

/// A one-NAT lab whose router has a 3 s UDP timeout and a 1 h TCP
/// established timeout.
fn short_udp_timeout_lab() -> Option<Lab> {
    if !can_run_or_skip() {
        return None;
    }
    let udp = SHORT_UDP_TIMEOUT.to_string();
    let cfg = config(&[
        "--allow-short-timeouts",
        "--udp-timeout",
        &udp,
        "--tcp-established-timeout",
        "3600",
    ]);
    Some(Lab::start(cfg).unwrap_or_else(|e| panic!("the lab did not start: {e}")))
}

#[test]
fn hairpin_through_a_port_forward_shows_the_public_source() {
    let Some(lab) = two_host_lab() else { return };
    lab.assert_passed(lab.check_hairpin_forward());
}

#[test]
fn udp_hairpin_between_two_private_hosts() {
    let Some(lab) = two_host_lab() else { return };
    lab.assert_passed(lab.check_udp_hairpin());
}

#[test]
fn udp_hole_punching_works_with_endpoint_independent_mapping() {
    let Some(lab) = two_nat_lab(&["--mapping", "eim"]) else {
        return;
    };
    lab.assert_passed(lab.check_hole_punching());
}

#[test]
fn udp_hole_punching_fails_with_address_and_port_dependent_mapping() {
    let Some(lab) = two_nat_lab(&["--mapping", "apdm"]) else {
        return;
    };
    lab.assert_passed(lab.check_hole_punching_blocked());
}

#[test]
fn tcp_outlives_the_udp_timeout() {
    let Some(lab) = short_udp_timeout_lab() else {
        return;
    };
    lab.assert_passed(lab.check_tcp_idle(Duration::from_secs(2 * SHORT_UDP_TIMEOUT)));
}

#[test]
fn expired_udp_mapping_refuses_inbound() {
    let Some(lab) = short_udp_timeout_lab() else {
        return;
    };
    lab.assert_passed(lab.check_udp_mapping_expiry(Duration::from_secs(SHORT_UDP_TIMEOUT)));
}
