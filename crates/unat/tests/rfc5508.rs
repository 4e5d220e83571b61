//! RFC 5508 (BCP 148, NAT behaviour for ICMP), one test per requirement of
//! shared/reference/rfc-requirements.md, named `rfc5508_req_<id>_...` (or
//! `rfc5508_s<section>_...` for the section rows).
//!
//! Not tested here, and why (all are ICMP messages the NAT would generate;
//! the library never generates packets, that is the caller's job):
//! - REQ-8, the SHOULD part (ICMP 3/13 when no session can be created):
//!   not generated; the drop itself is tested (`HostLimit`, `TableFull`).
//! - REQ-9 (a policy to stop ICMP generation per interface): nothing is
//!   generated.
//! - REQ-10d (generated ICMP copies the DSCP), REQ-10e (never generate an
//!   error about an error, a later fragment, a broadcast...), REQ-10f (rate
//!   limit of generated errors): nothing is generated.
//! - §7.1.1 (send 3/4 when DF=1 and too big, fragment when DF=0): the
//!   library knows no MTU and does not fragment; out of scope.
//! - §7.2, the generation of 11/0: out of scope; the drop of a TTL-1
//!   packet, which the caller answers, is tested.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::rfc::*;
use common::{addrs, echo_header, u16_at};
use unat::{Endpoint, Filtering, PacketError, PerProtocol, Protocol, TranslateError, WireError};

/// A's UDP flow to R:53: the packet as it left, and its external port.
fn a_udp(b: &mut Bench) -> (Vec<u8>, u16) {
    let sent = b.out(udp_pkt(A, 4000, R, 53)).unwrap();
    let p = flow(&sent).1;
    (sent, p)
}

#[test]
fn rfc5508_req_1_echo_out_and_reply_back() {
    let mut b = Bench::default_config();
    let out = b.out(ping(A, R, 0x1234)).unwrap();
    let (src, dst, _) = addrs(&out);
    assert_eq!((src, dst), (v4(P1), v4(R)));
    let (is_reply, h) = echo_header(&out);
    assert!(!is_reply);
    let q = h.id;
    assert_ne!(q, 0);
    assert_eq!(h.seq, 1, "the sequence number is untouched");
    let back = b.inb(pong(R, P1, q)).unwrap();
    let (src, dst, _) = addrs(&back);
    assert_eq!((src, dst), (v4(R), v4(A)));
    let (is_reply, h) = echo_header(&back);
    assert!(is_reply);
    assert_eq!(h.id, 0x1234);
    assert_eq!(common::payload(&back), b"ping");
}

#[test]
fn rfc5508_req_1_queries_from_outside_open_nothing() {
    let mut b = Bench::default_config();
    let out = b.out(ping(A, R, 0x1234)).unwrap();
    let q = echo_header(&out).1.id;
    // An echo request to the mapping's identifier is for the NAT itself.
    assert_eq!(b.inb(ping(R, P1, q)), Err(TranslateError::NoEntry));
    assert_eq!(b.inb(ping(S, P1, 77)), Err(TranslateError::NoEntry));
    // A reply that is not one (wrong direction of the session) is refused.
    assert_eq!(b.out(pong(A, R, 0x1234)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc5508_req_1a_query_id_mapping_independent_of_host() {
    let mut b = Bench::default_config();
    let q1 = echo_header(&b.out(ping(A, R, 0x1234)).unwrap()).1.id;
    let q2 = echo_header(&b.out(ping(A, S, 0x1234)).unwrap()).1.id;
    assert_eq!(q1, q2);
    assert_eq!(b.nat.mapping_count(Protocol::Icmp), 1);
    // Both get their replies.
    for host in [R, S] {
        let back = b.inb(pong(host, P1, q1)).unwrap();
        assert_eq!(addrs(&back).1, v4(A));
        assert_eq!(echo_header(&back).1.id, 0x1234);
    }
    // Another host with the same identifier gets another one.
    let qb = echo_header(&b.out(ping(B, R, 0x1234)).unwrap()).1.id;
    assert_ne!(qb, q1);
}

#[test]
fn rfc5508_req_2_icmp_query_lives_60s() {
    let mut b = Bench::default_config();
    assert_eq!(b.nat.config().timeouts.icmp, Duration::from_secs(60));
    let q = echo_header(&b.out(ping(A, R, 0x1234)).unwrap()).1.id;
    b.advance(59);
    let back = b.inb(pong(R, P1, q)).unwrap();
    assert_eq!(echo_header(&back).1.id, 0x1234);
    b.advance(2);
    assert_eq!(b.inb(pong(R, P1, q)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc5508_req_2a_icmp_query_timer_configurable() {
    let mut c = cfg();
    c.timeouts.icmp = Duration::from_secs(120);
    let mut b = Bench::new(c);
    let q = echo_header(&b.out(ping(A, R, 0x1234)).unwrap()).1.id;
    b.advance(119);
    assert!(b.inb(pong(R, P1, q)).is_ok());
    b.advance(2);
    assert_eq!(b.inb(pong(R, P1, q)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc5508_req_3_bad_icmp_checksum_dropped() {
    let mut b = Bench::default_config();
    let (sent, _) = a_udp(&mut b);
    let good = err_about(R, P1, 3, 3, &sent);
    for bit in [0usize, 7, 8 * 20 + 3] {
        let mut bad = good.clone();
        bad[20 + 8 + bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            b.inb(bad),
            Err(TranslateError::Packet(PacketError::Malformed(
                WireError::BadIcmpChecksum
            )))
        );
    }
    assert!(b.inb(good).is_ok());
}

#[test]
fn rfc5508_req_3a_bad_quoted_ip_checksum_dropped() {
    let mut b = Bench::default_config();
    let (sent, _) = a_udp(&mut b);
    let mut bad = err_about(R, P1, 3, 3, &sent);
    bad[20 + 8 + 10] ^= 0x40; // the quoted IPv4 checksum
    fix_icmp_checksum(&mut bad);
    assert_eq!(
        b.inb(bad),
        Err(TranslateError::Packet(PacketError::Malformed(
            WireError::BadQuotedHeader
        )))
    );
}

#[test]
fn rfc5508_req_3b_quoted_ip_options_skipped() {
    let mut b = Bench::default_config();
    let (sent, _) = a_udp(&mut b);
    // The packet as quoted, with 8 bytes of options (IHL = 7): NOPs and an
    // end of list.
    let mut q = sent[..20].to_vec();
    q.extend_from_slice(&[1, 1, 1, 1, 1, 1, 1, 0]);
    q.extend_from_slice(&sent[20..]);
    q[0] = 0x47;
    let total = (u16_at(&sent, 2) + 8).to_be_bytes();
    q[2..4].copy_from_slice(&total);
    fix_ip_checksum(&mut q, 0);
    for quote in [q[..28 + 8].to_vec(), q.clone()] {
        let e = b.inb(icmp_err(RT, P1, 11, 0, [0; 4], &quote)).unwrap();
        assert_eq!(quoted_flow(&e), fl(A, 4000, R, 53));
        assert_eq!(quoted(&e)[0], 0x47);
        assert_eq!(quoted(&e)[20..28], [1, 1, 1, 1, 1, 1, 1, 0], "options kept");
        if quote.len() == q.len() {
            assert_quoted_l4_checksum(&e);
        }
    }
}

#[test]
fn rfc5508_req_3c_quoted_transport_checksum_not_validated() {
    let mut b = Bench::default_config();
    let (mut sent, _) = a_udp(&mut b);
    sent[20 + 6] ^= 0x55; // a wrong UDP checksum in the quoted datagram
    let e = b.inb(icmp_err(R, P1, 3, 3, [0; 4], &sent)).unwrap();
    assert_eq!(quoted_flow(&e), fl(A, 4000, R, 53));
    // Also a quoted TCP segment with a wrong checksum.
    let syn = b.out(tcp_pkt(A, 4001, R, 80, "S", b"")).unwrap();
    let mut q = syn.clone();
    q[20 + 16] ^= 0x55;
    let e = b.inb(icmp_err(R, P1, 3, 3, [0; 4], &q)).unwrap();
    assert_eq!(quoted_flow(&e), fl(A, 4001, R, 80));
}

#[test]
fn rfc5508_req_3d_rfc4884_extensions_kept() {
    let mut b = Bench::default_config();
    let (sent, _) = a_udp(&mut b);
    // 11/0 with an RFC 4884 length (32 words: 128 bytes of quote, zero
    // padded), then an extension structure with one object.
    let mut body = sent.clone();
    body.resize(128, 0);
    let mut ext = vec![0x20, 0, 0, 0, 0, 8, 1, 1, 0x12, 0x34, 0x51, 0xff];
    let c = common::inet_checksum(&[&ext]);
    ext[2..4].copy_from_slice(&c.to_be_bytes());
    body.extend_from_slice(&ext);
    let e = b
        .inb(icmp_err(RT, P1, 11, 0, [0, 32, 0, 0], &body))
        .unwrap();
    assert_eq!(addrs(&e).1, v4(A));
    assert_eq!(e[20 + 5], 32, "the length field is kept");
    assert_eq!(quoted_flow(&e), fl(A, 4000, R, 53));
    let q = quoted(&e);
    assert_eq!(
        q[sent.len()..128],
        vec![0u8; 128 - sent.len()][..],
        "padding untouched"
    );
    assert_eq!(q[128..], ext[..], "extension bytes unchanged");
    assert_quoted_l4_checksum(&e);
}

#[test]
fn rfc5508_req_4_error_from_outside_translated() {
    let mut b = Bench::default_config();
    // About UDP: the whole datagram quoted.
    let (sent, _) = a_udp(&mut b);
    let e = b.inb(icmp_err(RT, P1, 11, 0, [0; 4], &sent)).unwrap();
    let (src, dst, _) = addrs(&e);
    assert_eq!(
        (src, dst),
        (v4(RT), v4(A)),
        "outer source still Rt, destination A"
    );
    assert_eq!(icmp_type_code(&e), (11, 0));
    assert_eq!(quoted_flow(&e), fl(A, 4000, R, 53));
    assert_quoted_l4_checksum(&e);
    // About TCP, 8 bytes quoted.
    let syn = b.out(tcp_pkt(A, 4001, R, 80, "S", b"")).unwrap();
    let e = b.inb(err_about(RT, P1, 3, 1, &syn)).unwrap();
    assert_eq!(quoted_flow(&e), fl(A, 4001, R, 80));
    assert_eq!(icmp_type_code(&e), (3, 1));
    // About an echo request.
    let echo = b.out(ping(A, R, 0x1234)).unwrap();
    let e = b.inb(icmp_err(RT, P1, 11, 0, [0; 4], &echo)).unwrap();
    assert_eq!(addrs(&e).1, v4(A));
    assert_eq!(quoted_flow(&e), fl(A, 0x1234, R, 0x1234));
    // The quoted echo's own checksum follows its identifier.
    let qe = quoted(&e);
    assert_eq!(
        common::inet_checksum(&[&qe[20..]]),
        0,
        "quoted ICMP checksum"
    );
}

#[test]
fn rfc5508_req_4_error_without_mapping_dropped() {
    let mut b = Bench::default_config();
    let (sent, p) = a_udp(&mut b);
    // The same error naming another external port.
    let mut other = sent.clone();
    other[20..22].copy_from_slice(&p.wrapping_add(1).max(1024).to_be_bytes());
    assert_eq!(
        b.inb(err_about(RT, P1, 11, 0, &other)),
        Err(TranslateError::NoEntry)
    );
    // Or another remote.
    let to_s = common::udp([203, 0, 113, 1], p, S, 53, 63, b"rfc-4787");
    assert_eq!(
        b.inb(err_about(RT, P1, 11, 0, &to_s)),
        Err(TranslateError::NoEntry)
    );
    // Or once the mapping has expired.
    b.advance(301);
    assert_eq!(
        b.inb(err_about(RT, P1, 11, 0, &sent)),
        Err(TranslateError::NoEntry)
    );
}

#[test]
fn rfc5508_req_4_error_quoting_the_inside_view_dropped() {
    // From outside, an error may only quote a packet the NAT sent out: one
    // quoting R:53 -> A:4000 (the inside view of a reply) would be turned
    // back toward R.
    let mut b = Bench::default_config();
    let (_, p) = a_udp(&mut b);
    let reply = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
    assert_eq!(
        b.inb(err_about(S, P1, 3, 3, &reply)),
        Err(TranslateError::NoEntry)
    );
}

#[test]
fn rfc5508_req_5_error_from_inside_translated() {
    let mut c = cfg();
    c.filtering.udp = Filtering::EndpointIndependent;
    let mut b = Bench::new(c);
    let (_, p) = a_udp(&mut b);
    // S:z -> P1:p reaches A:x (EIF); A answers with 3/3 quoting what it got.
    let got = b.inb(udp_pkt(S, 6000, P1, p)).unwrap();
    assert_eq!(flow(&got), fl(S, 6000, A, 4000));
    let e = b.out(err_about(A, S, 3, 3, &got)).unwrap();
    let (src, dst, _) = addrs(&e);
    assert_eq!((src, dst), (v4(P1), v4(S)));
    assert_eq!(icmp_type_code(&e), (3, 3));
    assert_eq!(quoted_flow(&e), fl(S, 6000, P1, p));
    // The whole datagram quoted: its checksum follows.
    let e = b.out(icmp_err(A, S, 3, 3, [0; 4], &got)).unwrap();
    assert_quoted_l4_checksum(&e);
    // The same error sent by an inside router: for NAPT the outer source
    // becomes the NAT's public address (never an inside address).
    let e = b.out(err_about(RI, S, 3, 3, &got)).unwrap();
    let (src, dst, _) = addrs(&e);
    assert_eq!((src, dst), (v4(P1), v4(S)));
    assert_eq!(quoted_flow(&e), fl(S, 6000, P1, p));
}

#[test]
fn rfc5508_req_5_error_from_inside_about_an_outbound_flow() {
    // An inside router's error about a reply it could not deliver to A.
    let mut b = Bench::default_config();
    let (_, p) = a_udp(&mut b);
    let got = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
    let e = b.out(err_about(RI, R, 11, 0, &got)).unwrap();
    let (src, dst, _) = addrs(&e);
    assert_eq!((src, dst), (v4(P1), v4(R)));
    assert_eq!(quoted_flow(&e), fl(R, 53, P1, p));
}

#[test]
fn rfc5508_req_5_error_from_inside_without_mapping_dropped() {
    let mut b = Bench::default_config();
    let stray = udp_pkt(S, 6000, A, 4000);
    assert_eq!(
        b.out(err_about(A, S, 3, 3, &stray)),
        Err(TranslateError::NoEntry)
    );
    // Nor may an inside error quote a packet the NAT sent out (P1:p -> R):
    // it would be turned back inside.
    let (sent, _) = a_udp(&mut b);
    assert_eq!(
        b.out(err_about(B, P1, 3, 3, &sent)),
        Err(TranslateError::NoEntry)
    );
    assert_eq!(
        b.out(err_about(B, R, 3, 3, &sent)),
        Err(TranslateError::NoEntry)
    );
}

#[test]
fn rfc5508_req_6_error_neither_refreshes_nor_deletes_query_session() {
    let mut b = Bench::default_config();
    let echo = b.out(ping(A, R, 0x1234)).unwrap();
    let q = echo_header(&echo).1.id;
    b.advance(50);
    let e = b.inb(err_about(RT, P1, 3, 1, &echo)).unwrap();
    assert_eq!(quoted_flow(&e), fl(A, 0x1234, R, 0x1234));
    b.advance(5);
    assert!(b.inb(pong(R, P1, q)).is_ok(), "not deleted");
    b.advance(6); // t = 61 s
    assert_eq!(
        b.inb(pong(R, P1, q)),
        Err(TranslateError::NoEntry),
        "not refreshed"
    );
}

#[test]
fn rfc5508_req_7_hairpinned_error_traverses() {
    let mut b = Bench::default_config();
    let p1 = b.out_port(udp_pkt(A, 1111, R, 53));
    let p2 = b.out_port(udp_pkt(B, 2222, R, 53));
    let h = b.out(udp_pkt(A, 1111, P1, p2)).unwrap();
    assert_eq!(flow(&h), fl(P1, p1, B, 2222));
    // B answers with 3/3 to P1:p1, quoting P1:p1 -> B:2222.
    let e = b.out(err_about(B, P1, 3, 3, &h)).unwrap();
    assert_eq!(
        quoted_flow(&e),
        fl(A, 1111, P1, p2),
        "A sees its own packet"
    );
    assert_eq!(icmp_type_code(&e), (3, 3));
    // The whole datagram quoted.
    let e = b.out(icmp_err(B, P1, 3, 3, [0; 4], &h)).unwrap();
    assert_quoted_l4_checksum(&e);
}

#[test]
fn rfc5508_req_7a_hairpinned_error_outer_destination_is_quoted_source() {
    let mut b = Bench::default_config();
    let _p1 = b.out_port(udp_pkt(A, 1111, R, 53));
    let p2 = b.out_port(udp_pkt(B, 2222, R, 53));
    let h = b.out(udp_pkt(A, 1111, P1, p2)).unwrap();
    let e = b.out(err_about(B, P1, 3, 3, &h)).unwrap();
    let (src, dst, _) = addrs(&e);
    assert_eq!(dst, v4(A), "outer destination = quoted source = 10.0.0.10");
    assert_eq!(quoted_flow(&e).0, dst);
    assert_eq!(src, v4(P1), "outer source = P1");
    // An inside router on B's side: the same.
    let e = b.out(err_about(RI, P1, 11, 0, &h)).unwrap();
    assert_eq!(addrs(&e).0, v4(P1));
    assert_eq!(addrs(&e).1, v4(A));
}

#[test]
fn rfc5508_req_7_hairpinned_tcp_error() {
    let mut b = Bench::default_config();
    assert!(b
        .nat
        .add_forward(Protocol::Tcp, 8080, Endpoint::new(v4(B), 80)));
    let syn = b.out(tcp_pkt(A, 40000, P1, 8080, "S", b"")).unwrap();
    let pa = flow(&syn).1;
    let e = b.out(err_about(B, P1, 3, 3, &syn)).unwrap();
    assert_eq!(addrs(&e).1, v4(A));
    assert_eq!(quoted_flow(&e), fl(A, 40000, P1, 8080));
    assert_ne!(pa, 0);
}

#[test]
fn rfc5508_req_7_hairpinned_icmp_query_is_for_the_nat() {
    // Hairpinning ICMP queries is required of Basic NAT only: under NAPT an
    // echo to the external address is for the NAT itself (the caller
    // answers it).
    let mut b = Bench::default_config();
    b.out(ping(B, R, 7)).unwrap();
    assert_eq!(b.out(ping(A, P1, 7)), Err(TranslateError::NoEntry));
}

#[test]
fn rfc5508_req_8_no_session_possible_dropped() {
    // ICMP identifiers limited to 10 per host: the 11th is refused and
    // nothing is sent (no 3/13 is generated: see the top of the file).
    let mut c = cfg();
    c.per_host_limit.icmp = Some(10);
    let mut b = Bench::new(c);
    for id in 0..10 {
        b.out(ping(A, R, id)).unwrap();
    }
    assert_eq!(b.out(ping(A, R, 10)), Err(TranslateError::HostLimit));
    assert_eq!(TranslateError::HostLimit.reason(), "host_limit");
    // A full table too.
    let mut b = Bench::with_tables(cfg(), 8, 8, 2);
    b.out(ping(A, R, 1)).unwrap();
    b.out(ping(A, R, 2)).unwrap();
    assert_eq!(b.out(ping(A, R, 3)), Err(TranslateError::TableFull));
}

#[test]
fn rfc5508_req_10b_parameter_problem_translated() {
    let mut b = Bench::default_config();
    let (sent, _) = a_udp(&mut b);
    let e = b
        .inb(icmp_err(
            R,
            P1,
            12,
            0,
            [20, 0, 0, 0],
            &common::quote(&sent, 8),
        ))
        .unwrap();
    assert_eq!(icmp_type_code(&e), (12, 0));
    assert_eq!(e[20 + 4], 20, "the pointer is kept");
    assert_eq!(addrs(&e).1, v4(A));
    assert_eq!(quoted_flow(&e), fl(A, 4000, R, 53));
}

#[test]
fn rfc5508_req_10c_source_quench_and_information_messages_dropped() {
    // RFC 5508 REQ-10c: a NAT SHOULD NOT support Source Quench (type 4,
    // deprecated by RFC 6633) nor Information Request/Reply (15/16).
    // `process` drops them; mirage-nat's `translate` still translates them.
    let mut b = Bench::default_config();
    let (sent, _) = a_udp(&mut b);
    assert_eq!(
        b.inb(err_about(R, P1, 4, 0, &sent)),
        Err(TranslateError::Packet(PacketError::UnsupportedIcmp(4)))
    );
    for ty in [15u8, 16] {
        let m = icmp_err(A, R, ty, 0, [0x12, 0x34, 0, 1], &[]);
        assert_eq!(
            b.out(m),
            Err(TranslateError::Packet(PacketError::UnsupportedIcmp(ty))),
            "type {ty}"
        );
    }
}

#[test]
fn rfc5508_req_11_other_icmp_dropped() {
    let mut b = Bench::default_config();
    a_udp(&mut b);
    // Router advertisement, router solicitation, redirect, address mask.
    for ty in [9u8, 10, 5, 17, 18, 200] {
        let m = icmp_err(R, P1, ty, 0, [0; 4], &[0; 8]);
        assert_eq!(
            b.inb(m),
            Err(TranslateError::Packet(PacketError::UnsupportedIcmp(ty))),
            "inbound type {ty}"
        );
        let m = icmp_err(A, R, ty, 0, [0; 4], &[0; 8]);
        assert_eq!(
            b.out(m),
            Err(TranslateError::Packet(PacketError::UnsupportedIcmp(ty))),
            "outbound type {ty}"
        );
    }
}

#[test]
fn rfc5508_s7_1_2_packet_too_big_forwarded() {
    let mut b = Bench::default_config();
    let sent = b.out(tcp_pkt(A, 40000, R, 443, "S", b"")).unwrap();
    let e = icmp_err(RT, P1, 3, 4, [0, 0, 0x05, 0x78], &common::quote(&sent, 8));
    let e = b.inb(e).unwrap();
    let (src, dst, _) = addrs(&e);
    assert_eq!((src, dst), (v4(RT), v4(A)));
    assert_eq!(icmp_type_code(&e), (3, 4));
    assert_eq!(u16_at(&e, 20 + 6), 1400, "MTU 1400 kept");
    assert_eq!(quoted_flow(&e), fl(A, 40000, R, 443));
}

#[test]
fn rfc5508_s7_2_ttl_expiring_packets_not_forwarded() {
    // The NAT does not forward a packet whose TTL would reach 0; generating
    // 11/0 is the caller's job (see the top of the file).
    let mut b = Bench::default_config();
    for ttl in [0u8, 1] {
        let p = common::udp(A, 4000, R, 53, ttl, b"x");
        assert_eq!(b.out(p), Err(TranslateError::TtlExceeded));
    }
    assert_eq!(b.nat.mapping_count(Protocol::Udp), 0, "no state for them");
    let (sent, p) = a_udp(&mut b);
    assert_eq!(
        b.inb(common::udp(R, 53, P1, p, 1, b"x")),
        Err(TranslateError::TtlExceeded)
    );
    let mut e = err_about(RT, P1, 11, 0, &sent);
    e[8] = 1;
    fix_ip_checksum(&mut e, 0);
    assert_eq!(b.inb(e), Err(TranslateError::TtlExceeded));
}

#[test]
fn rfc5508_s7_3_source_routed_error_not_forwarded() {
    let mut b = Bench::default_config();
    let (_, p) = a_udp(&mut b);
    let got = b.inb(udp_pkt(R, 53, P1, p)).unwrap();
    // The quoted header carries a loose source route option.
    let mut q = got[..20].to_vec();
    q.extend_from_slice(&[131, 7, 4, 198, 51, 100, 9, 0]);
    q.extend_from_slice(&got[20..28]);
    q[0] = 0x47;
    let total = (u16_at(&got, 2) + 8).to_be_bytes();
    q[2..4].copy_from_slice(&total);
    fix_ip_checksum(&mut q, 0);
    let e = icmp_err(A, R, 3, 3, [0; 4], &q);
    assert_eq!(
        b.out(e),
        Err(TranslateError::Packet(PacketError::SourceRoute))
    );
}

#[test]
fn rfc5508_icmp_errors_pass_every_filtering_mode() {
    // RFC 4787 REQ-12a from the ICMP side: errors are matched by the
    // quoted flow only.
    for mode in [
        Filtering::AddressDependent,
        Filtering::AddressAndPortDependent,
    ] {
        let mut c = cfg();
        c.filtering = PerProtocol::all(mode);
        let mut b = Bench::new(c);
        let echo = b.out(ping(A, R, 9)).unwrap();
        let e = b.inb(err_about(RT, P1, 11, 0, &echo)).unwrap();
        assert_eq!(addrs(&e).1, v4(A), "{mode:?}");
    }
}
