//! RFC 6888 (BCP 127 for carrier-grade NAT), restricted to the items of
//! shared/reference/rfc-requirements.md that concern a library; tests are
//! named `rfc6888_req_<id>_...`.
//!
//! Not tested here, and why:
//! - REQ-1 (meet RFC 4787, 5382, 5508): the whole suite.
//! - REQ-2, REQ-3 (paired pooling, pool shapes): one external address;
//!   address pools are out of scope.
//! - REQ-4c (rate limit of new mappings per subscriber): not implemented.
//! - REQ-5 (limits on sessions per mapping and per subscriber): not
//!   implemented; `per_host_limit` counts mappings (external ports), so a
//!   host may hold many sessions through one mapping (see
//!   rfc6888_issue_one_host_100k_flows_others_keep_working for what a
//!   full table then does).
//! - REQ-6 (pass-through destinations): not implemented.
//! - REQ-8 (hold-down of freed ports): out of scope.
//! - REQ-9 (PCP): router level, outside the library.
//! - REQ-11b (ICMP 3/1 to the sender): the library generates no packets;
//!   the refusal comes back as an error the caller may answer.
//! - §4, REQ-12, REQ-14 (logging): the library does not log; the caller
//!   sees every new mapping (`Translation::new_session`).
//! - REQ-13 (port utilization of a pool): pools are out of scope.
//! - REQ-15 (ports hard to guess): see tests/rfc6056.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::rfc::*;
use unat::{Filtering, PerProtocol, Protocol, Store, TranslateError, WhenFull};

/// The defaults with a per-host limit for every protocol.
fn limited(tcp: u32, udp: u32, icmp: u32) -> unat::Config {
    let mut c = cfg();
    c.per_host_limit = PerProtocol {
        tcp: Some(tcp),
        udp: Some(udp),
        icmp: Some(icmp),
    };
    c
}

/// The number of sessions in every table.
fn sessions(b: &Bench) -> usize {
    Protocol::ALL.iter().map(|p| b.nat.store().len(*p)).sum()
}

#[test]
fn rfc6888_req_4_per_host_port_limit() {
    let mut b = Bench::new(limited(64, 64, 64));
    let mut ports = Vec::new();
    for i in 0..64u16 {
        ports.push(b.out_port(udp_pkt(A, 20_000 + i, R, 53)));
    }
    // The 65th mapping is refused, and nothing else changes.
    let (maps, sess) = (b.nat.mapping_count(Protocol::Udp), sessions(&b));
    assert_eq!(
        b.out(udp_pkt(A, 20_064, R, 53)),
        Err(TranslateError::HostLimit)
    );
    assert_eq!(
        (b.nat.mapping_count(Protocol::Udp), sessions(&b)),
        (maps, sess)
    );
    // The existing 64 are untouched: same ports, replies delivered.
    for (i, p) in ports.iter().enumerate() {
        let x = 20_000 + i as u16;
        assert_eq!(b.out_port(udp_pkt(A, x, R, 53)), *p);
        let back = b.inb(udp_pkt(R, 53, P1, *p)).unwrap();
        assert_eq!(flow(&back), fl(R, 53, A, x));
    }
    // A new destination through an existing mapping uses no new port.
    assert_eq!(b.out_port(udp_pkt(A, 20_000, S, 123)), ports[0]);
    // Another host has its own quota.
    assert!(b.out(udp_pkt(B, 20_064, R, 53)).is_ok());
    // Once a mapping goes, a new one may come.
    let mut b = Bench::new(limited(64, 2, 64));
    b.out(udp_pkt(A, 1, R, 53)).unwrap();
    b.advance(200);
    b.out(udp_pkt(A, 2, R, 53)).unwrap();
    assert_eq!(b.out(udp_pkt(A, 3, R, 53)), Err(TranslateError::HostLimit));
    b.advance(101); // the first mapping expires
    assert!(b.out(udp_pkt(A, 3, R, 53)).is_ok());
}

#[test]
fn rfc6888_req_4a_4b_limits_configurable_per_protocol() {
    let mut b = Bench::new(limited(100, 50, 10));
    for i in 0..100u16 {
        b.out(tcp_pkt(A, 30_000 + i, R, 80, "S", b"")).unwrap();
    }
    assert_eq!(
        b.out(tcp_pkt(A, 31_000, R, 80, "S", b"")),
        Err(TranslateError::HostLimit)
    );
    for i in 0..50u16 {
        b.out(udp_pkt(A, 30_000 + i, R, 53)).unwrap();
    }
    assert_eq!(
        b.out(udp_pkt(A, 31_000, R, 53)),
        Err(TranslateError::HostLimit)
    );
    for id in 0..10u16 {
        b.out(ping(A, R, id)).unwrap();
    }
    assert_eq!(b.out(ping(A, R, 10)), Err(TranslateError::HostLimit));
    assert_eq!(
        [Protocol::Tcp, Protocol::Udp, Protocol::Icmp].map(|p| b.nat.mapping_count(p)),
        [100, 50, 10]
    );
    // No limit at all when asked.
    let mut c = cfg();
    c.per_host_limit.udp = None;
    let mut b = Bench::new(c);
    for i in 0..5000u16 {
        b.out(udp_pkt(A, 10_000 + i, R, 53)).unwrap();
    }
    // The defaults.
    let d = cfg().per_host_limit;
    assert_eq!((d.tcp, d.udp, d.icmp), (Some(4096), Some(4096), Some(256)));
}

#[test]
fn rfc6888_req_7_eif_available_default_is_adf() {
    // RFC 6888 REQ-7 recommends EIF by default; this library defaults to
    // address-dependent filtering (as its issue asks) and offers EIF.
    assert_eq!(
        cfg().filtering,
        PerProtocol::all(Filtering::AddressDependent)
    );
    let mut c = cfg();
    c.filtering = PerProtocol::all(Filtering::EndpointIndependent);
    let mut b = Bench::new(c);
    let p = b.out_port(udp_pkt(A, 4000, R, 53));
    let back = b.inb(udp_pkt(S, 999, P1, p)).unwrap();
    assert_eq!(flow(&back), fl(S, 999, A, 4000));
}

#[test]
fn rfc6888_req_10_state_is_observable() {
    let mut b = Bench::default_config();
    b.out(udp_pkt(A, 4000, R, 53)).unwrap();
    assert!(b.last_was_new());
    b.out(udp_pkt(A, 4000, S, 53)).unwrap();
    b.out(tcp_pkt(B, 4000, R, 80, "S", b"")).unwrap();
    assert_eq!(b.nat.mapping_count(Protocol::Udp), 1);
    assert_eq!(b.nat.mapping_count(Protocol::Tcp), 1);
    assert_eq!(b.nat.store().len(Protocol::Udp), 2);
    assert_eq!(b.nat.store().len(Protocol::Tcp), 1);
}

#[test]
fn rfc6888_req_11a_refused_flow_dropped_without_side_effects() {
    let mut b = Bench::new(limited(1, 1, 1));
    b.out(udp_pkt(A, 4000, R, 53)).unwrap();
    let before = (sessions(&b), b.nat.mapping_count(Protocol::Udp));
    // (Bench checks that the refused buffer is left unchanged: nothing to send.)
    assert_eq!(
        b.out(udp_pkt(A, 4001, R, 53)),
        Err(TranslateError::HostLimit)
    );
    assert_eq!((sessions(&b), b.nat.mapping_count(Protocol::Udp)), before);
}

#[test]
fn rfc6888_req_11c_refusals_have_stable_reasons() {
    // What a caller counts and reports to management.
    assert_eq!(TranslateError::HostLimit.reason(), "host_limit");
    assert_eq!(TranslateError::TableFull.reason(), "table_full");
    assert_eq!(TranslateError::PortsExhausted.reason(), "ports_exhausted");
    assert_eq!(TranslateError::Filtered.reason(), "filtered");
}

#[test]
fn rfc6888_req_11d_limit_never_evicts() {
    let mut b = Bench::new(limited(64, 64, 64));
    let mut a_ports = Vec::new();
    for i in 0..64u16 {
        a_ports.push(b.out_port(udp_pkt(A, 20_000 + i, R, 53)));
    }
    let pb: Vec<u16> = (0..10u16)
        .map(|i| b.out_port(udp_pkt(B, 20_000 + i, R, 53)))
        .collect();
    for i in 64..100u16 {
        assert_eq!(
            b.out(udp_pkt(A, 20_000 + i, R, 53)),
            Err(TranslateError::HostLimit)
        );
    }
    for (i, p) in a_ports.iter().enumerate() {
        let back = b.inb(udp_pkt(R, 53, P1, *p)).unwrap();
        assert_eq!(flow(&back), fl(R, 53, A, 20_000 + i as u16));
    }
    for (i, p) in pb.iter().enumerate() {
        let back = b.inb(udp_pkt(R, 53, P1, *p)).unwrap();
        assert_eq!(flow(&back), fl(R, 53, B, 20_000 + i as u16));
    }
}

#[test]
fn rfc6888_req_11d_full_table_never_evicts() {
    let mut b = Bench::with_tables(cfg(), 8, 32, 8);
    assert_eq!(b.nat.config().when_full, WhenFull::Refuse);
    let ports: Vec<u16> = (0..32u16)
        .map(|i| b.out_port(udp_pkt(A, 20_000 + i, R, 53)))
        .collect();
    assert_eq!(
        b.out(udp_pkt(B, 1234, R, 53)),
        Err(TranslateError::TableFull)
    );
    assert_eq!(
        b.out(udp_pkt(A, 20_000, S, 53)),
        Err(TranslateError::TableFull)
    );
    assert_eq!(
        b.nat.mapping_count(Protocol::Udp),
        32,
        "the refused mapping was released"
    );
    for (i, p) in ports.iter().enumerate() {
        let back = b.inb(udp_pkt(R, 53, P1, *p)).unwrap();
        assert_eq!(flow(&back), fl(R, 53, A, 20_000 + i as u16));
    }
}

#[test]
fn rfc6888_req_11d_expired_sessions_make_room() {
    // A table full of sessions that have timed out (and were not swept
    // yet) is not full of live ones.
    let mut b = Bench::with_tables(cfg(), 8, 32, 8);
    for i in 0..32u16 {
        b.out(udp_pkt(A, 20_000 + i, R, 53)).unwrap();
    }
    b.now = b.now + std::time::Duration::from_secs(301); // no sweep
    assert!(b.out(udp_pkt(B, 1234, R, 53)).is_ok());
}

#[test]
fn rfc6888_when_full_evict_least_recently_used_is_opt_in() {
    let mut c = cfg();
    c.when_full = WhenFull::EvictLeastRecentlyUsed;
    let mut b = Bench::with_tables(c, 8, 4, 8);
    let ports: Vec<u16> = (0..4u16)
        .map(|i| b.out_port(udp_pkt(A, 20_000 + i, R, 53)))
        .collect();
    // Use the first one again: the second is now the least recently used.
    b.inb(udp_pkt(R, 53, P1, ports[0])).unwrap();
    assert!(b.out(udp_pkt(B, 1234, R, 53)).is_ok());
    assert_eq!(
        b.inb(udp_pkt(R, 53, P1, ports[1])),
        Err(TranslateError::NoEntry),
        "evicted"
    );
    assert_eq!(
        b.nat
            .mapping_internal(Protocol::Udp, unat::Endpoint::new(v4(P1), ports[1])),
        None
    );
    for p in [ports[0], ports[2], ports[3]] {
        assert!(b.inb(udp_pkt(R, 53, P1, p)).is_ok());
    }
}

#[test]
fn rfc6888_req_5_sessions_per_mapping_are_capped() {
    // EIF: one outside host floods A's mapping from 1000 source ports. Only
    // `per_mapping_sessions` of them get in; the table keeps room for B,
    // and A's own sessions stay.
    let mut c = cfg();
    c.filtering = PerProtocol::all(Filtering::EndpointIndependent);
    c.per_mapping_sessions = Some(200);
    let mut b = Bench::with_tables(c, 64, 512, 16);
    let p = b.out_port(udp_pkt(A, 4000, R, 53));
    let mut admitted = 0;
    for i in 0..1000u16 {
        match b.inb(udp_pkt(S, 10_000 + i, P1, p)) {
            Ok(_) => admitted += 1,
            Err(e) => assert_eq!(e, TranslateError::SessionLimit),
        }
    }
    assert_eq!(admitted, 199, "200 sessions in all, A's own included");
    assert!(
        b.out(udp_pkt(B, 5000, R, 53)).is_ok(),
        "B still gets a mapping"
    );
    assert!(b.inb(udp_pkt(R, 53, P1, p)).is_ok(), "A's flow still works");
    assert_eq!(
        TranslateError::SessionLimit.reason(),
        "mapping_session_limit"
    );
}

#[test]
fn rfc6888_req_11a_ports_exhausted() {
    // Every privileged external port taken (inside ports below 1024 map to
    // 1-1023): the next low port falls back to the high class rather than
    // failing. Once every port of both classes is taken, the next flow is
    // refused and the others keep working.
    let mut c = cfg();
    c.per_host_limit = PerProtocol::all(None);
    c.per_mapping_sessions = None;
    let mut b = Bench::with_tables(c, 16, 70_000, 16);
    let mut ports = Vec::new();
    for x in 1..=1023u16 {
        ports.push(b.out_port(udp_pkt([10, 0, 1, 1], x, R, 53)));
    }
    assert!(ports.iter().all(|p| *p < 1024));
    assert!(
        b.out_port(udp_pkt(A, 123, R, 123)) >= 1024,
        "fallback to the high class"
    );
    // Fill the rest of the high class (64,512 ports, one already used).
    for i in 0..64_511u32 {
        let host = [10, 1, (i >> 8) as u8, i as u8];
        let sport = 1024 + (i % 60_000) as u16;
        b.out_port(udp_pkt(host, sport, R, 53));
    }
    assert_eq!(b.nat.mapping_count(Protocol::Udp), 65_535);
    assert_eq!(
        b.out(udp_pkt(A, 40_000, R, 53)),
        Err(TranslateError::PortsExhausted)
    );
    assert_eq!(b.nat.mapping_count(Protocol::Udp), 65_535);
    let back = b.inb(udp_pkt(R, 53, P1, ports[500])).unwrap();
    assert_eq!(flow(&back), fl(R, 53, [10, 0, 1, 1], 501));
}

/// B's established flows: 40 TCP connections and 40 UDP flows to R.
struct Established {
    tcp: Vec<(u16, u16)>,
    udp: Vec<(u16, u16)>,
}

fn establish_b(b: &mut Bench) -> Established {
    let mut tcp = Vec::new();
    let mut udp = Vec::new();
    for i in 0..40u16 {
        let x = 30_000 + i;
        let syn = b.out(tcp_pkt(B, x, R, 443, "S", b"")).unwrap();
        let p = flow(&syn).1;
        b.inb(tcp_pkt(R, 443, P1, p, "SA", b"")).unwrap();
        b.out_existing(tcp_pkt(B, x, R, 443, "A", b"")).unwrap();
        tcp.push((x, p));
        udp.push((x, b.out_port(udp_pkt(B, x, R, 53))));
    }
    Established { tcp, udp }
}

fn check_b(b: &mut Bench, e: &Established) {
    for &(x, p) in &e.tcp {
        let d = b
            .out_existing(tcp_pkt(B, x, R, 443, "PA", b"ping"))
            .unwrap();
        assert_eq!(flow(&d), fl(P1, p, R, 443));
        let d = b.inb(tcp_pkt(R, 443, P1, p, "PA", b"pong")).unwrap();
        assert_eq!(flow(&d), fl(R, 443, B, x));
    }
    for &(x, p) in &e.udp {
        let d = b.out_existing(udp_pkt(B, x, R, 53)).unwrap();
        assert_eq!(flow(&d), fl(P1, p, R, 53));
        let d = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
        assert_eq!(flow(&d), fl(R, 53, B, x));
    }
}

#[test]
fn rfc6888_issue_one_host_100k_flows_others_keep_working() {
    // A modest table so that both the per-host limit and the table size
    // are reached.
    let mut b = Bench::with_tables(limited(400, 400, 16), 1024, 1024, 64);
    let est = establish_b(&mut b);
    let (mut ok, mut host_limit, mut table_full) = (0u32, 0u32, 0u32);
    for i in 0..100_000u32 {
        let x = 1024 + (i % 2_000) as u16;
        let dport = 1 + (i % 65_000) as u16;
        let pkt = if i % 2 == 0 {
            tcp_pkt(A, x, S, dport, "S", b"")
        } else {
            udp_pkt(A, x, S, dport)
        };
        match b.out(pkt) {
            Ok(_) => ok += 1,
            Err(TranslateError::HostLimit) => host_limit += 1,
            Err(TranslateError::TableFull) => table_full += 1,
            Err(e) => panic!("unexpected refusal {e:?}"),
        }
        if i % 10_000 == 9_999 {
            b.advance_ms(500);
            check_b(&mut b, &est);
        }
    }
    assert!(
        host_limit > 0 && table_full > 0,
        "{ok} ok, {host_limit} host limit, {table_full} full"
    );
    assert!(b.nat.mapping_count(Protocol::Tcp) <= 400 + est.tcp.len());
    assert!(b.nat.mapping_count(Protocol::Udp) <= 400 + est.udp.len());
    check_b(&mut b, &est);
}
