//! End to end: `unat-router` between real Linux hosts in network namespaces
//! (built by `unat-lab`), with real ping, curl, socat and traceroute.
//! Each test builds its own lab with unique names and removes it after,
//! also on failure. Needs root; fails without it unless UNAT_SKIP_E2E=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use unat_lab::{can_run_or_skip, Backend, Lab, LabConfig};

fn lab(backend: Backend) -> Option<Lab> {
    if !can_run_or_skip() {
        return None;
    }
    let mut cfg = LabConfig::new(env!("CARGO_BIN_EXE_unat-router"));
    cfg.private_backend = backend;
    match Lab::start(cfg) {
        Ok(lab) => Some(lab),
        Err(e) => panic!("the lab did not start: {e}"),
    }
}

macro_rules! e2e {
    ($($name:ident => $check:ident,)*) => {$(
        #[test]
        fn $name() {
            let Some(lab) = lab(Backend::Packet) else { return };
            lab.assert_passed(lab.$check());
        }
    )*};
}

e2e! {
    ping_through_the_nat => check_ping,
    router_answers_ping_on_both_addresses => check_ping_router,
    http_get_through_the_nat => check_http,
    udp_request_reply_through_the_nat => check_udp,
    traceroute_sees_translated_icmp_errors => check_traceroute,
    port_forwards_reach_private_servers => check_forward,
    unsolicited_public_traffic_never_arrives => check_unsolicited_blocked,
    malformed_frames_are_dropped_counted_and_survived => check_malformed,
}

#[test]
fn every_check_over_a_tap_device_and_a_clean_exit() {
    let Some(lab) = lab(Backend::Tap) else { return };
    for check in lab.run_all_checks() {
        lab.assert_passed(check);
    }
    let stopped = lab.stop_router();
    assert!(stopped.clean_exit(), "router exit: {:?}", stopped.status);
    assert!(
        stopped
            .stats
            .get("translated_outbound")
            .copied()
            .unwrap_or(0)
            > 0
    );
}
