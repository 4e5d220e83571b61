//! RFC 4787 (BCP 127, NAT behaviour for UDP), one test per requirement of
//! shared/reference/rfc-requirements.md, named `rfc4787_req_<id>_...`.
//!
//! Not tested here, and why:
//! - REQ-2 (paired address pooling): one external address per NAT; address
//!   pools are out of scope.
//! - REQ-5a (shorter timers for well-known ports): not built (a MAY); every
//!   UDP mapping gets `Timeouts::udp`.
//! - REQ-10a (each ALG switchable): there are no ALGs (REQ-10 checks that
//!   payloads are untouched).
//! - REQ-13, REQ-13a (DF and the egress MTU: ICMP 3/4 or fragmentation):
//!   the library neither knows the MTU nor generates ICMP errors nor
//!   fragments; out of scope.
//! - REQ-14, REQ-14a (fragments, in and out of order): fragments are
//!   refused (`PacketError::Fragment`); out of scope.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::rfc::*;
use unat::{Filtering, Mapping, PerProtocol, Protocol, TranslateError};

/// A's first flow to R:53 and the external port it got.
fn a_to_r(b: &mut Bench, x: u16) -> u16 {
    b.out_port(udp_pkt(A, x, R, 53))
}

#[test]
fn rfc4787_req_1_eim_same_port_for_every_destination() {
    let mut b = Bench::default_config();
    let p = b.out_port(udp_pkt(A, 5000, R, 53));
    assert_eq!(b.out_port(udp_pkt(A, 5000, S, 53)), p);
    assert_eq!(b.out_port(udp_pkt(A, 5000, R, 123)), p);
    assert_eq!(b.nat.mapping_count(Protocol::Udp), 1);
    // And every one of them gets its replies.
    for (src, port) in [(R, 53), (S, 53), (R, 123)] {
        let back = b.inb(udp_pkt(src, port, P1, p)).unwrap();
        assert_eq!(flow(&back), fl(src, port, A, 5000));
    }
}

#[test]
fn rfc4787_req_3_no_port_overloading() {
    let mut b = Bench::default_config();
    let pa = b.out_port(udp_pkt(A, 5000, R, 53));
    let pb = b.out_port(udp_pkt(B, 5000, R, 53));
    assert_ne!(
        pa, pb,
        "two inside endpoints never share an external endpoint"
    );
    let back = b.inb(udp_pkt(R, 53, P1, pa)).unwrap();
    assert_eq!(flow(&back), fl(R, 53, A, 5000));
    let back = b.inb(udp_pkt(R, 53, P1, pb)).unwrap();
    assert_eq!(flow(&back), fl(R, 53, B, 5000));
}

#[test]
fn rfc4787_req_3a_port_class_kept() {
    let mut b = Bench::default_config();
    let p = b.out_port(udp_pkt(A, 123, R, 123));
    assert!((1..=1023).contains(&p), "A:123 left as {p}");
    let p = b.out_port(udp_pkt(A, 40000, R, 53));
    assert!(p >= 1024, "A:40000 left as {p}");
}

#[test]
fn rfc4787_req_3a_port_class_kept_for_1000_random_ports() {
    let mut b = Bench::default_config();
    let mut rng = SplitMix(3);
    let mut seen = std::collections::HashSet::new();
    // Half of them privileged, with the class edges.
    let mut inside: Vec<u16> = vec![0, 1, 1023, 1024, 65535];
    while inside.len() < 1000 {
        let x = if inside.len() % 2 == 0 {
            rng.range(1, 1023)
        } else {
            rng.range(1024, 65535)
        } as u16;
        if seen.insert(x) {
            inside.push(x);
        }
    }
    for x in inside {
        let p = b.out_port(udp_pkt(A, x, R, 53));
        assert_ne!(p, 0, "port 0 is never used");
        assert_eq!(p < 1024, x < 1024, "A:{x} left as {p}: class changed");
    }
}

#[test]
fn rfc4787_req_4_parity_kept_for_1000_random_ports() {
    let mut c = cfg();
    c.ports.parity = true; // off by default (RFC 7857 §8 allows that)
    let mut b = Bench::new(c);
    let mut rng = SplitMix(4);
    let mut done = std::collections::HashSet::new();
    while done.len() < 1000 {
        let x = rng.range(1, 65535) as u16;
        if !done.insert(x) {
            continue;
        }
        let p = b.out_port(udp_pkt(A, x, R, 53));
        assert_eq!((p ^ x) & 1, 0, "A:{x} left as {p}: parity changed");
        assert_eq!(p < 1024, x < 1024);
    }
}

#[test]
fn rfc4787_req_5_udp_mapping_lives_at_least_120s() {
    // The floor, configured: 120 s exactly.
    let mut c = cfg();
    c.timeouts.udp = std::time::Duration::from_secs(120);
    let mut b = Bench::new(c);
    let p = a_to_r(&mut b, 4000);
    b.advance(119);
    let back = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
    assert_eq!(flow(&back), fl(R, 53, A, 4000));
    // And with the defaults too.
    let mut b = Bench::default_config();
    let p = a_to_r(&mut b, 4000);
    b.advance(119);
    assert!(b.inb(udp_pkt(R, 53, P1, p)).is_ok());
}

#[test]
fn rfc4787_req_5b_udp_timeout_configurable_600s() {
    let mut c = cfg();
    c.timeouts.udp = std::time::Duration::from_secs(600);
    let mut b = Bench::new(c);
    let p = a_to_r(&mut b, 4000);
    b.advance(599);
    let back = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
    assert_eq!(flow(&back), fl(R, 53, A, 4000));
    b.advance(2); // t = 601 s; the reply did not refresh
    assert_eq!(b.inb(udp_pkt(R, 53, P1, p)), Err(TranslateError::NoEntry));
    assert_eq!(
        b.nat.mapping_count(Protocol::Udp),
        0,
        "the mapping went with its session"
    );
}

#[test]
fn rfc4787_req_5c_default_udp_timeout_is_300s() {
    let mut b = Bench::default_config();
    assert_eq!(b.nat.config().timeouts.udp.as_secs(), 300);
    let p = a_to_r(&mut b, 4000);
    b.advance(299);
    assert!(b.inb(udp_pkt(R, 53, P1, p)).is_ok());
    b.advance(2);
    assert_eq!(b.inb(udp_pkt(R, 53, P1, p)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc4787_req_6_outbound_packets_refresh() {
    let mut b = Bench::default_config();
    let p = a_to_r(&mut b, 4000);
    for _ in 0..10 {
        b.advance(100);
        assert_eq!(a_to_r(&mut b, 4000), p, "p never changes");
    }
    // Last outbound packet at t = 1000 s.
    b.advance(299);
    assert_eq!(b.elapsed(), 1299);
    let back = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
    assert_eq!(flow(&back), fl(R, 53, A, 4000));
    b.advance(2);
    assert_eq!(b.inb(udp_pkt(R, 53, P1, p)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc4787_req_6a_inbound_refresh_off_by_default() {
    let mut b = Bench::default_config();
    assert!(!b.nat.config().inbound_refresh);
    let p = a_to_r(&mut b, 4000);
    b.advance(100);
    assert!(b.inb(udp_pkt(R, 53, P1, p)).is_ok());
    b.advance(100);
    assert!(b.inb(udp_pkt(R, 53, P1, p)).is_ok());
    b.advance(101); // t = 301 s: replies did not refresh it
    assert_eq!(b.inb(udp_pkt(R, 53, P1, p)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc4787_req_6a_new_inbound_sessions_do_not_extend_the_mapping() {
    // EIF: outside hosts may open new sessions on A's mapping, from new
    // ports every 100 s. None of that is outbound traffic, so the mapping
    // still ends 300 s after A's last packet, and so do those sessions.
    let mut c = cfg();
    c.filtering = PerProtocol::all(Filtering::EndpointIndependent);
    let mut b = Bench::new(c);
    let p = a_to_r(&mut b, 4000);
    for (i, t) in [(0u16, 100u64), (1, 100), (2, 99)] {
        b.advance(t);
        assert!(
            b.inb(udp_pkt(S, 6000 + i, P1, p)).is_ok(),
            "at {} s",
            b.elapsed()
        );
    }
    b.advance(2); // t = 301 s
    assert_eq!(b.inb(udp_pkt(S, 6002, P1, p)), Err(TranslateError::NoEntry));
    assert_eq!(b.inb(udp_pkt(S, 7000, P1, p)), Err(TranslateError::NoEntry));
    assert_eq!(b.inb(udp_pkt(R, 53, P1, p)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc4787_req_6_replies_from_inside_to_inbound_sessions_refresh() {
    // A answers S (a session S opened): that is outbound traffic, which
    // keeps the mapping alive past A's first flow's timeout.
    let mut c = cfg();
    c.filtering = PerProtocol::all(Filtering::EndpointIndependent);
    let mut b = Bench::new(c);
    let p = a_to_r(&mut b, 4000);
    for _ in 0..5 {
        b.advance(100);
        b.inb(udp_pkt(S, 6000, P1, p)).unwrap();
        b.out(udp_pkt(A, 4000, S, 6000)).unwrap();
    }
    assert_eq!(b.elapsed(), 500);
    assert!(b.inb(udp_pkt(S, 6000, P1, p)).is_ok());
}

#[test]
fn rfc4787_req_6a_inbound_refresh_option() {
    let mut c = cfg();
    c.inbound_refresh = true;
    let mut b = Bench::new(c);
    let p = a_to_r(&mut b, 4000);
    for _ in 0..10 {
        b.advance(100);
        let back = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
        assert_eq!(flow(&back), fl(R, 53, A, 4000));
    }
    assert_eq!(b.elapsed(), 1000);
    // The mapping is still the same one.
    assert_eq!(a_to_r(&mut b, 4000), p);
}

#[test]
fn rfc4787_req_7_outside_address_inside_lan_prefix_is_translated() {
    // Option 2 of REQ-7: the WAN side overlaps the LAN prefix. The library
    // is told the direction, so a packet from 10.0.0.99 arriving on the
    // outside is an outside packet like any other.
    let mut c = cfg();
    c.filtering.udp = Filtering::EndpointIndependent;
    let mut b = Bench::new(c);
    let p = a_to_r(&mut b, 4000);
    let back = b.inb(udp_pkt([10, 0, 0, 99], 7777, P1, p)).unwrap();
    assert_eq!(flow(&back), fl([10, 0, 0, 99], 7777, A, 4000));
    // A answers it: it leaves from P1:p, not looped.
    let out = b.out(udp_pkt(A, 4000, [10, 0, 0, 99], 7777)).unwrap();
    assert_eq!(flow(&out), fl(P1, p, [10, 0, 0, 99], 7777));
}

#[test]
fn rfc4787_req_8_eif_lets_any_endpoint_in() {
    // The default is address-dependent (as the issue asks): EIF is set.
    let mut c = cfg();
    c.filtering.udp = Filtering::EndpointIndependent;
    let mut b = Bench::new(c);
    let p = a_to_r(&mut b, 4000);
    let back = b.inb(udp_pkt(S, 9999, P1, p)).unwrap();
    assert_eq!(flow(&back), fl(S, 9999, A, 4000));
    // A answers S through the same mapping.
    let out = b.out(udp_pkt(A, 4000, S, 9999)).unwrap();
    assert_eq!(flow(&out), fl(P1, p, S, 9999));
}

#[test]
fn rfc4787_req_8_adf_filters_other_addresses() {
    let mut b = Bench::default_config();
    assert_eq!(b.nat.config().filtering.udp, Filtering::AddressDependent);
    let p = a_to_r(&mut b, 4000);
    assert_eq!(
        b.inb(udp_pkt(S, 9999, P1, p)),
        Err(TranslateError::Filtered)
    );
    let back = b.inb(udp_pkt(R, 5353, P1, p)).unwrap();
    assert_eq!(
        flow(&back),
        fl(R, 5353, A, 4000),
        "another port of R passes"
    );
}

#[test]
fn rfc4787_req_8a_filtering_is_configurable() {
    use Filtering::*;
    for (mode, s_in, r_other_port_in) in [
        (EndpointIndependent, true, true),
        (AddressDependent, false, true),
        (AddressAndPortDependent, false, false),
    ] {
        let mut c = cfg();
        c.filtering = PerProtocol::all(mode);
        let mut b = Bench::new(c);
        let p = a_to_r(&mut b, 4000);
        assert_eq!(b.inb(udp_pkt(S, 9999, P1, p)).is_ok(), s_in, "{mode:?}: S");
        assert_eq!(
            b.inb(udp_pkt(R, 5353, P1, p)).is_ok(),
            r_other_port_in,
            "{mode:?}: R:5353"
        );
        assert!(
            b.inb(udp_pkt(R, 53, P1, p)).is_ok(),
            "{mode:?}: the reply itself"
        );
    }
}

#[test]
fn rfc4787_req_9_hairpin_udp_reaches_other_inside_host() {
    let mut b = Bench::default_config();
    let _p1 = b.out_port(udp_pkt(A, 1111, R, 53));
    let p2 = b.out_port(udp_pkt(B, 2222, R, 53));
    let h = b.out(udp_pkt(A, 1111, P1, p2)).unwrap();
    assert_eq!(addrs_dst(&h), (v4(B), 2222));
    // B's mapping filters by address (it only talked to R): a hairpinned
    // packet is not filtered (inside hosts could talk directly anyway).
    assert_eq!(b.nat.config().filtering.udp, Filtering::AddressDependent);
}

fn addrs_dst(p: &[u8]) -> (std::net::Ipv4Addr, u16) {
    let f = flow(p);
    (f.2, f.3)
}

#[test]
fn rfc4787_req_9a_hairpin_source_is_external() {
    let mut b = Bench::default_config();
    let p1 = b.out_port(udp_pkt(A, 1111, R, 53));
    let p2 = b.out_port(udp_pkt(B, 2222, R, 53));
    let h = b.out(udp_pkt(A, 1111, P1, p2)).unwrap();
    assert_eq!(
        flow(&h),
        fl(P1, p1, B, 2222),
        "B sees A's external endpoint"
    );
    let back = b.out(udp_pkt(B, 2222, P1, p1)).unwrap();
    assert_eq!(
        flow(&back),
        fl(P1, p2, A, 1111),
        "A sees B's external endpoint"
    );
    // The mappings toward R are the same ones (EIM holds across the hairpin).
    assert_eq!(b.out_port(udp_pkt(A, 1111, R, 53)), p1);
    assert_eq!(b.out_port(udp_pkt(B, 2222, R, 53)), p2);
}

#[test]
fn rfc4787_req_9a_hairpin_from_a_host_without_mapping() {
    // A has never sent anything: the hairpin gives it a mapping, and its
    // flows to the outside then use the same one.
    let mut b = Bench::default_config();
    let p2 = b.out_port(udp_pkt(B, 2222, R, 53));
    let h = b.out(udp_pkt(A, 1111, P1, p2)).unwrap();
    let (src, p1, dst, dport) = flow(&h);
    assert_eq!((src, dst, dport), (v4(P1), v4(B), 2222));
    assert_eq!(b.out_port(udp_pkt(A, 1111, S, 53)), p1);
}

#[test]
fn rfc4787_req_10_no_alg_payload_untouched() {
    let mut b = Bench::default_config();
    let body = b"INVITE sip:bob@198.51.100.7 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.10:5060\r\n";
    let sent = common::udp(A, 5060, R, 5060, 64, body);
    let out = b.out(sent).unwrap();
    assert_eq!(common::payload(&out), body, "byte-identical payload");
    let p = flow(&out).1;
    let reply = b"SIP/2.0 200 OK\r\nContact: <sip:203.0.113.1:5060>\r\n";
    let back = b.inb(common::udp(R, 5060, P1, p, 64, reply)).unwrap();
    assert_eq!(common::payload(&back), reply);
}

/// The REQ-1 and REQ-8 checks on the mapping of `host:x` (which has sent
/// to R:9000 only), as a list of outcomes.
fn req1_req8_signature(b: &mut Bench, host: [u8; 4], x: u16, s_port: u16) -> [bool; 5] {
    let p = b.out_port(udp_pkt(host, x, R, 9000));
    let s_filtered = b.inb(udp_pkt(S, s_port, P1, p)) == Err(TranslateError::Filtered);
    let r_other_port = b
        .inb(udp_pkt(R, 9001, P1, p))
        .is_ok_and(|q| flow(&q) == fl(R, 9001, host, x));
    let eim = b.out_port(udp_pkt(host, x, S, s_port)) == p;
    let s_after = b
        .inb(udp_pkt(S, s_port, P1, p))
        .is_ok_and(|q| flow(&q) == fl(S, s_port, host, x));
    let no_overload = b
        .nat
        .mapping_internal(Protocol::Udp, unat::Endpoint::new(v4(P1), p))
        == Some(unat::Endpoint::new(v4(host), x));
    [s_filtered, r_other_port, eim, s_after, no_overload]
}

#[test]
fn rfc4787_req_11_behaviour_constant_under_port_collision() {
    let mut b = Bench::default_config();
    let mut ports = Vec::new();
    for (i, host) in [A, B, C].into_iter().enumerate() {
        assert_eq!(
            req1_req8_signature(&mut b, host, 7000, 100 + i as u16),
            [true; 5],
            "{host:?}"
        );
        ports.push(b.out_port(udp_pkt(host, 7000, R, 9000)));
    }
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3);
}

/// Fills `share` of the ports of a class with other hosts' mappings, then
/// runs the REQ-1/REQ-8 checks on three colliding inside endpoints.
fn behaviour_under_pressure(inside_port: u16, class_size: u32) {
    let mut c = cfg();
    c.per_host_limit = PerProtocol::all(None);
    let mut b = Bench::with_tables(c, 16, 70_000, 16);
    let filler = class_size * 95 / 100;
    let mut n = 0u32;
    'fill: for h in 0..=255u8 {
        for x in 1..=1023u16 {
            if n == filler {
                break 'fill;
            }
            let port = if inside_port < 1024 { x } else { x + 1024 };
            b.out_port(udp_pkt([10, 1, h, 1], port, [192, 0, 2, 1], 53));
            n += 1;
        }
    }
    assert_eq!(b.nat.mapping_count(Protocol::Udp), filler as usize);
    for (i, host) in [A, B, C].into_iter().enumerate() {
        let sig = req1_req8_signature(&mut b, host, inside_port, 100 + i as u16);
        assert_eq!(
            sig, [true; 5],
            "{host:?}:{inside_port} with 95 % of the ports in use"
        );
        let p = b.out_port(udp_pkt(host, inside_port, R, 9000));
        assert_eq!(p < 1024, inside_port < 1024, "class kept under pressure");
    }
}

#[test]
fn rfc4787_req_11_behaviour_constant_with_95_percent_of_low_ports_in_use() {
    behaviour_under_pressure(700, 1023);
}

#[test]
fn rfc4787_req_11_behaviour_constant_with_95_percent_of_high_ports_in_use() {
    behaviour_under_pressure(7000, 64512);
}

#[test]
fn rfc4787_req_12_no_icmp_ends_a_mapping() {
    let mut b = Bench::default_config();
    let sent = b.out(udp_pkt(A, 4000, R, 53)).unwrap();
    let p = flow(&sent).1;
    b.advance(200);
    for (src, ty, code) in [(R, 3, 1), (R, 3, 3), (RT, 11, 0), (RT, 3, 4), (R, 12, 0)] {
        let e = b.inb(err_about(src, P1, ty, code, &sent)).unwrap();
        assert_eq!(quoted_flow(&e), fl(A, 4000, R, 53));
        let back = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
        assert_eq!(
            flow(&back),
            fl(R, 53, A, 4000),
            "still delivered after {ty}/{code}"
        );
    }
    // Nor did they refresh it: it still ends 300 s after the last outbound packet.
    b.advance(99);
    assert!(b.inb(udp_pkt(R, 53, P1, p)).is_ok());
    assert_eq!(a_to_r(&mut b, 4000), p, "the same mapping is used");
    // (that outbound packet refreshed it: 300 s from now)
    b.advance(299);
    assert!(b.inb(udp_pkt(R, 53, P1, p)).is_ok());
    b.advance(2);
    assert_eq!(b.inb(udp_pkt(R, 53, P1, p)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc4787_req_12_icmp_errors_do_not_refresh() {
    let mut b = Bench::default_config();
    let sent = b.out(udp_pkt(A, 4000, R, 53)).unwrap();
    let p = flow(&sent).1;
    for _ in 0..5 {
        b.advance(50);
        b.inb(err_about(RT, P1, 11, 0, &sent)).unwrap();
    }
    b.advance(51); // t = 301 s
    assert_eq!(b.inb(udp_pkt(R, 53, P1, p)), Err(TranslateError::NoEntry));
    assert_eq!(
        b.inb(err_about(RT, P1, 11, 0, &sent)),
        Err(TranslateError::NoEntry)
    );
}

#[test]
fn rfc4787_req_12a_icmp_not_filtered_by_source() {
    // Under every filtering mode, an error from a router A never talked to
    // is let through.
    for mode in [
        Filtering::EndpointIndependent,
        Filtering::AddressDependent,
        Filtering::AddressAndPortDependent,
    ] {
        let mut c = cfg();
        c.filtering = PerProtocol::all(mode);
        let mut b = Bench::new(c);
        let sent = b.out(udp_pkt(A, 4000, R, 53)).unwrap();
        let e = b.inb(err_about(RT, P1, 11, 0, &sent)).unwrap();
        assert_eq!(common::addrs(&e).0, v4(RT), "{mode:?}: outer source kept");
        assert_eq!(common::addrs(&e).1, v4(A));
        assert_eq!(icmp_type_code(&e), (11, 0));
        assert_eq!(quoted_flow(&e), fl(A, 4000, R, 53));
    }
}

#[test]
fn rfc4787_req_12b_destination_unreachable_translated() {
    let mut b = Bench::default_config();
    let sent = b.out(udp_pkt(A, 4000, R, 53)).unwrap();
    let e = b.inb(err_about(R, P1, 3, 3, &sent)).unwrap();
    let (src, dst, _) = common::addrs(&e);
    assert_eq!((src, dst), (v4(R), v4(A)));
    assert_eq!(icmp_type_code(&e), (3, 3));
    assert_eq!(quoted_flow(&e), fl(A, 4000, R, 53));
}

#[test]
fn rfc4787_mapping_behaviour_is_configurable() {
    // Not a requirement (EIM is the MUST); the other behaviours exist and
    // differ as their names say.
    for (mode, same_for_s, same_for_r_other_port) in [
        (Mapping::EndpointIndependent, true, true),
        (Mapping::AddressDependent, false, true),
        (Mapping::AddressAndPortDependent, false, false),
    ] {
        let mut c = cfg();
        c.mapping = PerProtocol::all(mode);
        let mut b = Bench::new(c);
        let p = a_to_r(&mut b, 4000);
        assert_eq!(
            b.out_port(udp_pkt(A, 4000, S, 53)) == p,
            same_for_s,
            "{mode:?}"
        );
        assert_eq!(
            b.out_port(udp_pkt(A, 4000, R, 54)) == p,
            same_for_r_other_port,
            "{mode:?}"
        );
    }
}
