//! RFC 7857 (updates to the NAT behavioural requirements), one test per
//! section of shared/reference/rfc-requirements.md, named
//! `rfc7857_s<section>_...`.
//!
//! Not tested here, and why:
//! - §2.2 note (check that an RST is in the window): not implemented; the
//!   library tracks no sequence numbers. Any RST of a session moves it to
//!   the transitory timeout (240 s) and the next non-RST segment restores
//!   its phase, so an off-path RST costs a session nothing unless it stays
//!   idle for 240 s. `rfc7857_s2_2_note_any_rst_counts` pins this.
//! - §2.1, the MAY of a transitory timeout below 240 s: refused by
//!   `Config::validate` (RFC 5382 REQ-5's floor is a MUST); tested.
//! - §3 (port overlapping): out of scope.
//! - §4 (paired pooling, soft-APP): one external address; address pools
//!   are out of scope.
//! - §8, the explicit parity request (e.g. PCP): there is no PCP; parity
//!   is a global option (`PortPolicy::parity`), off by default. The "off
//!   means no constraint" half is tested.
//! - §9 (random external ports): see tests/rfc6056.rs.
//! - §10 (IPv4 ID of non-atomic datagrams): fragments are out of scope.
//! - §12 (hairpinned ICMP): see rfc5508_req_7_*.
//! - §7.1, the RST half (an RST sent in answer to an inbound packet does
//!   not refresh): a TCP session follows the state machine, and an RST
//!   gives it the transitory timeout of §2.2.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::rfc::*;
use unat::{
    Config, ConfigError, Endpoint, Filtering, Nat, PerProtocol, Protocol, Timeouts, TranslateError,
};

fn handshake(b: &mut Bench, x: u16) -> u16 {
    let syn = b.out(tcp_pkt(A, x, R, 80, "S", b"")).unwrap();
    let p = flow(&syn).1;
    b.inb(tcp_pkt(R, 80, P1, p, "SA", b"")).unwrap();
    b.out_existing(tcp_pkt(A, x, R, 80, "A", b"")).unwrap();
    p
}

#[test]
fn rfc7857_s2_tcp_state_walk() {
    let mut b = Bench::default_config();
    // INIT: a SYN from A lives 240 s.
    let syn = b.out(tcp_pkt(A, 40000, R, 80, "S", b"")).unwrap();
    let p = flow(&syn).1;
    b.advance(239);
    // ESTABLISHED: R's SYN-ACK; now 7440 s.
    b.inb(tcp_pkt(R, 80, P1, p, "SA", b"")).unwrap();
    b.advance(7439);
    b.out_existing(tcp_pkt(A, 40000, R, 80, "A", b"")).unwrap();
    b.advance(7439);
    // FIN from A, then from R: 240 s.
    b.out_existing(tcp_pkt(A, 40000, R, 80, "FA", b"")).unwrap();
    b.inb(tcp_pkt(R, 80, P1, p, "FA", b"")).unwrap();
    b.advance(241);
    assert_eq!(
        b.inb(tcp_pkt(R, 80, P1, p, "A", b"")),
        Err(TranslateError::NoEntry),
        "state gone"
    );
    assert_eq!(b.nat.mapping_count(Protocol::Tcp), 0, "and its mapping");
}

#[test]
fn rfc7857_s2_1_separate_open_and_close_timeouts() {
    let mut c = cfg();
    c.timeouts.tcp_transitory = Duration::from_secs(300);
    c.timeouts.tcp_closing = Duration::from_secs(600);
    // Opening: 300 s.
    for (wait, alive) in [(299, true), (301, false)] {
        let mut b = Bench::new(c);
        let syn = b.out(tcp_pkt(A, 40000, R, 80, "S", b"")).unwrap();
        b.advance(wait);
        let sa = b.inb(tcp_pkt(R, 80, P1, flow(&syn).1, "SA", b""));
        assert_eq!(sa.is_ok(), alive, "opening, t={wait}");
    }
    // Closing: 600 s.
    for (wait, alive) in [(599, true), (601, false)] {
        let mut b = Bench::new(c);
        let p = handshake(&mut b, 40000);
        b.out_existing(tcp_pkt(A, 40000, R, 80, "FA", b"")).unwrap();
        b.inb(tcp_pkt(R, 80, P1, p, "FA", b"")).unwrap();
        b.advance(wait);
        let ack = b.inb(tcp_pkt(R, 80, P1, p, "A", b""));
        assert_eq!(ack.is_ok(), alive, "closing, t={wait}");
    }
}

#[test]
fn rfc7857_s2_1_default_transitory_timeout_is_240s() {
    let t = Timeouts::default();
    assert_eq!(
        (t.tcp_transitory.as_secs(), t.tcp_closing.as_secs()),
        (240, 240)
    );
    let mut b = Bench::default_config();
    let syn = b.out(tcp_pkt(A, 40000, R, 80, "S", b"")).unwrap();
    b.advance(239);
    assert!(
        b.inb(tcp_pkt(R, 80, P1, flow(&syn).1, "SA", b"")).is_ok(),
        "INIT alive at 239 s"
    );
}

#[test]
fn rfc7857_s2_1_transitory_below_240s_refused() {
    let mut c = cfg();
    c.timeouts.tcp_transitory = Duration::from_secs(60);
    let e = c.validate().unwrap_err();
    assert_eq!(
        e,
        ConfigError::BelowFloor {
            name: "tcp transitory timeout",
            value: Duration::from_secs(60),
            floor: Duration::from_secs(240),
        }
    );
    let store = unat::LruStore::new(8, 8, 8).unwrap();
    assert_eq!(Nat::with_config(store, c).unwrap_err(), e);
}

#[test]
fn rfc7857_s2_2_rst_translated() {
    let mut b = Bench::default_config();
    let p = handshake(&mut b, 40000);
    let rst = b.inb(tcp_pkt(R, 80, P1, p, "R", b"")).unwrap();
    assert_eq!(flow(&rst), fl(R, 80, A, 40000));
    let p = handshake(&mut b, 40001);
    let rst = b.out_existing(tcp_pkt(A, 40001, R, 80, "RA", b"")).unwrap();
    assert_eq!(flow(&rst), fl(P1, p, R, 80));
}

#[test]
fn rfc7857_s2_2_rst_keeps_session_240s() {
    // Traffic after the RST: the session carries on.
    let mut b = Bench::default_config();
    let p = handshake(&mut b, 40000);
    b.inb(tcp_pkt(R, 80, P1, p, "R", b"")).unwrap();
    b.advance(200);
    let d = b
        .out_existing(tcp_pkt(A, 40000, R, 80, "PA", b"still here"))
        .unwrap();
    assert_eq!(flow(&d), fl(P1, p, R, 80));
    // Which made it established again.
    b.advance(7439);
    assert!(b.inb(tcp_pkt(R, 80, P1, p, "PA", b"x")).is_ok());

    // No traffic after the RST: gone after 240 s.
    for (wait, alive) in [(239, true), (241, false)] {
        let mut b = Bench::default_config();
        let p = handshake(&mut b, 40000);
        b.inb(tcp_pkt(R, 80, P1, p, "R", b"")).unwrap();
        b.advance(wait);
        let d = b.inb(tcp_pkt(R, 80, P1, p, "PA", b"x"));
        assert_eq!(d.is_ok(), alive, "t={wait} after the RST");
        if !alive {
            assert_eq!(d, Err(TranslateError::NoEntry));
        }
    }
}

#[test]
fn rfc7857_s2_2_note_any_rst_counts() {
    // No sequence tracking (see the top of the file): an RST with any
    // sequence number moves the session to the transitory timeout; the
    // connection survives if it carries on within 240 s.
    let mut b = Bench::default_config();
    let p = handshake(&mut b, 40000);
    let mut rst = tcp_pkt(R, 80, P1, p, "R", b"");
    rst[24..28].copy_from_slice(&0xdead_beef_u32.to_be_bytes());
    fix_tcp_checksum(&mut rst);
    assert!(b.inb(rst).is_ok());
    b.advance(100);
    assert!(b.inb(tcp_pkt(R, 80, P1, p, "PA", b"x")).is_ok());
    b.advance(7439);
    assert!(b.inb(tcp_pkt(R, 80, P1, p, "PA", b"x")).is_ok());
}

fn fix_tcp_checksum(pkt: &mut [u8]) {
    pkt[36] = 0;
    pkt[37] = 0;
    let len = ((pkt.len() - 20) as u16).to_be_bytes();
    let c = common::inet_checksum(&[&pkt[12..20], &[0, 6], &len, &pkt[20..]]);
    pkt[36..38].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn rfc7857_s5_mappings_are_per_protocol() {
    let mut b = Bench::default_config();
    let pt = handshake(&mut b, 5000);
    let pu = b.out_port(udp_pkt(A, 5000, R, 53));
    assert_eq!(b.nat.mapping_count(Protocol::Tcp), 1);
    assert_eq!(b.nat.mapping_count(Protocol::Udp), 1);
    let a5000 = Some(Endpoint::new(v4(A), 5000));
    assert_eq!(
        b.nat
            .mapping_internal(Protocol::Tcp, Endpoint::new(v4(P1), pt)),
        a5000
    );
    assert_eq!(
        b.nat
            .mapping_internal(Protocol::Udp, Endpoint::new(v4(P1), pu)),
        a5000
    );
    if pu != pt {
        assert_eq!(
            b.nat
                .mapping_internal(Protocol::Udp, Endpoint::new(v4(P1), pt)),
            None
        );
    }
    // They live and die separately: the UDP one goes after 300 s idle, the
    // TCP one stays.
    b.advance(301);
    assert_eq!(b.nat.mapping_count(Protocol::Udp), 0);
    assert_eq!(b.nat.mapping_count(Protocol::Tcp), 1);
    assert!(b.inb(tcp_pkt(R, 80, P1, pt, "PA", b"x")).is_ok());
}

#[test]
fn rfc7857_s6_filtering_is_per_protocol() {
    // Even with EIF for everything, a TCP mapping lets no UDP in.
    let mut c = cfg();
    c.filtering = PerProtocol::all(Filtering::EndpointIndependent);
    let mut b = Bench::new(c);
    let p = handshake(&mut b, 5000);
    assert_eq!(b.inb(udp_pkt(S, 53, P1, p)), Err(TranslateError::NoEntry));
    assert_eq!(b.inb(udp_pkt(R, 80, P1, p)), Err(TranslateError::NoEntry));
    // While TCP from S gets in (EIF).
    assert!(b.inb(tcp_pkt(S, 53, P1, p, "S", b"")).is_ok());
}

#[test]
fn rfc7857_s7_blocked_inbound_does_not_refresh() {
    let mut c = cfg();
    c.inbound_refresh = true;
    let mut b = Bench::new(c);
    let p = b.out_port(udp_pkt(A, 4000, R, 53));
    // S is blocked (address-dependent filtering) and sends every 60 s.
    for _ in 0..4 {
        b.advance(60);
        assert_eq!(b.inb(udp_pkt(S, 53, P1, p)), Err(TranslateError::Filtered));
    }
    b.advance(59);
    assert_eq!(b.inb(udp_pkt(S, 53, P1, p)), Err(TranslateError::Filtered));
    b.advance(2); // t = 301 s
    assert_eq!(b.inb(udp_pkt(R, 53, P1, p)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc7857_s7_blocked_inbound_does_not_refresh_tcp() {
    let mut b = Bench::default_config();
    let syn = b.out(tcp_pkt(A, 40000, R, 80, "S", b"")).unwrap();
    let p = flow(&syn).1;
    for _ in 0..3 {
        b.advance(60);
        assert_eq!(
            b.inb(tcp_pkt(S, 80, P1, p, "S", b"")),
            Err(TranslateError::Filtered)
        );
    }
    b.advance(59);
    assert_eq!(
        b.inb(tcp_pkt(S, 80, P1, p, "S", b"")),
        Err(TranslateError::Filtered)
    );
    b.advance(2); // t = 241 s: the SYN's transitory timeout
    assert_eq!(
        b.inb(tcp_pkt(R, 80, P1, p, "SA", b"")),
        Err(TranslateError::NoEntry)
    );
}

#[test]
fn rfc7857_s7_1_outbound_icmp_error_does_not_refresh() {
    let mut b = Bench::default_config();
    let p = b.out_port(udp_pkt(A, 4000, R, 53));
    b.advance(200);
    let got = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
    let e = b.out(err_about(A, R, 3, 3, &got)).unwrap();
    assert_eq!(quoted_flow(&e), fl(R, 53, P1, p));
    b.advance(101); // t = 301 s
    assert_eq!(b.inb(udp_pkt(R, 53, P1, p)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc7857_s8_parity_off_by_default_no_constraint() {
    let mut b = Bench::default_config();
    assert!(!b.nat.config().ports.parity);
    let (mut even, mut odd) = (0, 0);
    for x in (10_000u16..10_400).step_by(2) {
        if b.out_port(udp_pkt(A, x, R, 53)) % 2 == 0 {
            even += 1;
        } else {
            odd += 1;
        }
    }
    assert!(
        even > 50 && odd > 50,
        "both parities used: {even} even, {odd} odd"
    );
}

#[test]
fn rfc7857_s11_icmp_mapping_deleted_with_last_session() {
    let mut b = Bench::default_config();
    let q = common::echo_header(&b.out(ping(A, R, 0x4242)).unwrap())
        .1
        .id;
    b.advance(30);
    assert_eq!(
        common::echo_header(&b.out(ping(A, S, 0x4242)).unwrap())
            .1
            .id,
        q
    );
    assert_eq!(b.nat.mapping_count(Protocol::Icmp), 1);
    b.advance(31); // the session to R is gone, the one to S stays
    assert_eq!(b.nat.mapping_count(Protocol::Icmp), 1);
    assert!(b.inb(pong(S, P1, q)).is_ok());
    b.advance(30); // both gone
    assert_eq!(b.nat.mapping_count(Protocol::Icmp), 0);
    assert_eq!(b.inb(pong(S, P1, q)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc7857_timeout_floors_are_enforced_and_named() {
    // RFC 7857 §2.1 and the floors of RFC 4787/5382/5508: every timeout
    // below its floor is refused, naming it.
    let floors = Timeouts::FLOORS;
    let one_less = Duration::from_secs(1);
    type Set = fn(&mut Timeouts, Duration);
    let cases: [(&str, Duration, Set); 5] = [
        ("udp timeout", floors.udp, |t, v| t.udp = v),
        ("tcp established timeout", floors.tcp_established, |t, v| {
            t.tcp_established = v
        }),
        ("tcp transitory timeout", floors.tcp_transitory, |t, v| {
            t.tcp_transitory = v
        }),
        ("tcp closing timeout", floors.tcp_closing, |t, v| {
            t.tcp_closing = v
        }),
        ("icmp timeout", floors.icmp, |t, v| t.icmp = v),
    ];
    for (name, floor, set) in cases {
        let mut c: Config = cfg();
        set(&mut c.timeouts, floor - one_less);
        let e = c.validate().unwrap_err();
        assert_eq!(
            e,
            ConfigError::BelowFloor {
                name,
                value: floor - one_less,
                floor
            }
        );
        assert!(e.to_string().contains(name), "{e}");
        set(&mut c.timeouts, floor);
        assert_eq!(c.validate(), Ok(()), "{name} at its floor is accepted");
    }
    assert_eq!(
        (floors.udp.as_secs(), floors.tcp_established.as_secs()),
        (120, 7440)
    );
    assert_eq!(
        (floors.tcp_transitory.as_secs(), floors.icmp.as_secs()),
        (240, 60)
    );
    // A per-host limit of 0 is refused too.
    let mut c = cfg();
    c.per_host_limit.udp = Some(0);
    assert_eq!(c.validate(), Err(ConfigError::ZeroLimit(Protocol::Udp)));
}
