//! The scenarios of mirage-nat's own test suite (shared/cases/
//! original-scenarios.md), with its addresses, ports and expectations.
//! Scenarios 9 and 10 (fragments) belong to the fragment work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

/// The clock: these tests use the original's behaviour, where nothing expires.
const NOW: unat::Instant = unat::Instant::ZERO;

use common::*;
use unat::{
    AddError, CannotNat, Endpoint, LruStore, Mode, Nat, PacketError, Protocol, Store,
    TranslateError, WireError,
};

const CLIENT: [u8; 4] = [192, 168, 108, 26];
const SERVER: [u8; 4] = [4, 141, 2, 6];
const XL: [u8; 4] = [128, 104, 108, 1];
const CAT: &[u8] = b"adorable_cat_photo.jpg";

fn nat() -> Nat<LruStore> {
    Nat::new(LruStore::new(1024, 1024, 20).unwrap())
}

#[test]
fn scenario_1_source_nat_tcp_syn() {
    let mut n = nat();
    let mut p = tcp_syn(CLIENT, 255, SERVER, 1024, 4, 0x432a_f310, 536, CAT);
    let xl = n
        .add(&p, ip(XL), ports_from(&[45454]), Mode::Nat, NOW)
        .unwrap();
    assert_eq!(xl, Endpoint::new(ip(XL), 45454));
    n.translate(&mut p, NOW).unwrap();
    assert_eq!(addrs(&p), (ip(XL), ip(SERVER), 3));
    assert_eq!(ports(&p), (45454, 1024));
    assert_eq!(payload(&p), CAT);
    let h = tcp_header(&p);
    assert!(h.syn && !h.ack);
    assert_eq!((h.sequence_number, h.window_size), (0x432a_f310, 536));
    assert_checksums(&p);
}

#[test]
fn scenario_1_source_nat_udp() {
    let mut n = nat();
    let mut p = udp(CLIENT, 255, SERVER, 1024, 4, CAT);
    n.add(&p, ip(XL), ports_from(&[45454]), Mode::Nat, NOW)
        .unwrap();
    n.translate(&mut p, NOW).unwrap();
    assert_eq!(addrs(&p), (ip(XL), ip(SERVER), 3));
    assert_eq!(ports(&p), (45454, 1024));
    assert_eq!(payload(&p), CAT);
    assert_checksums(&p);
}

#[test]
fn scenario_2_reply_direction_and_overlap() {
    let mut n = nat();
    let out = udp(CLIENT, 255, SERVER, 1024, 4, CAT);
    n.add(&out, ip(XL), ports_from(&[45454]), Mode::Nat, NOW)
        .unwrap();
    let body = b"GET / HTTP/1.1\r\n";
    let mut reply = udp(SERVER, 1024, XL, 45454, 52, body);
    n.translate(&mut reply, NOW).unwrap();
    assert_eq!(addrs(&reply), (ip(SERVER), ip(CLIENT), 51));
    assert_eq!(ports(&reply), (1024, 255));
    assert_eq!(payload(&reply), body);
    assert_checksums(&reply);
    // The same rule again is accepted.
    n.add(&out, ip(XL), ports_from(&[45454]), Mode::Nat, NOW)
        .unwrap();
    // Another source wanting the same translated endpoint is not.
    let clash = udp(XL, 255, SERVER, 1024, 4, CAT);
    assert_eq!(
        n.add(&clash, ip(XL), ports_from(&[45454]), Mode::Nat, NOW),
        Err(AddError::Overlap)
    );
}

const OUTSIDE: [u8; 4] = [1, 2, 3, 4];
const NAT_PUBLIC: [u8; 4] = [208, 121, 103, 4];
const NAT_INSIDE: [u8; 4] = [172, 16, 2, 1];
const INTERNAL: [u8; 4] = [172, 16, 2, 30];

fn redirect_rule(n: &mut Nat<LruStore>) -> Vec<u8> {
    let p = udp(OUTSIDE, 80, NAT_PUBLIC, 80, 52, b"hi");
    let target = Endpoint::new(ip(INTERNAL), 18787);
    n.add(
        &p,
        ip(NAT_INSIDE),
        ports_from(&[8989]),
        Mode::Redirect { target },
        NOW,
    )
    .unwrap();
    p
}

#[test]
fn scenario_3_redirect_udp() {
    let mut n = nat();
    let mut p = redirect_rule(&mut n);
    n.translate(&mut p, NOW).unwrap();
    assert_eq!(addrs(&p), (ip(NAT_INSIDE), ip(INTERNAL), 51));
    assert_eq!(ports(&p), (8989, 18787));
    assert_checksums(&p);

    let mut reply = udp(INTERNAL, 18787, NAT_INSIDE, 8989, 52, b"ho");
    n.translate(&mut reply, NOW).unwrap();
    assert_eq!(addrs(&reply), (ip(NAT_PUBLIC), ip(OUTSIDE), 51));
    assert_eq!(ports(&reply), (80, 80));
    assert_checksums(&reply);

    let again = udp(OUTSIDE, 80, NAT_PUBLIC, 80, 52, b"hi");
    let target = Endpoint::new(ip(INTERNAL), 18787);
    n.add(
        &again,
        ip(NAT_INSIDE),
        ports_from(&[8989]),
        Mode::Redirect { target },
        NOW,
    )
    .unwrap();
    assert_eq!(
        n.add(
            &again,
            ip([8, 8, 8, 8]),
            ports_from(&[8989]),
            Mode::Redirect { target },
            NOW
        ),
        Err(AddError::Overlap)
    );
}

#[test]
fn scenario_4_broadcast_cannot_be_nated_and_ethernet_header_is_not_a_packet() {
    let mut n = nat();
    let p = tcp_syn(CLIENT, 255, [255, 255, 255, 255], 80, 64, 1, 536, b"");
    assert_eq!(
        n.add(&p, ip(XL), ports_from(&[45454]), Mode::Nat, NOW),
        Err(AddError::CannotNat(CannotNat::Address(ip([
            255, 255, 255, 255
        ]))))
    );
    let mut eth = [
        0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
    ];
    let err = PacketError::Malformed(WireError::Ipv4Truncated);
    assert_eq!(n.translate(&mut eth, NOW), Err(TranslateError::Packet(err)));
    assert_eq!(
        n.add(&eth, ip(XL), ports_from(&[1]), Mode::Nat, NOW),
        Err(AddError::Packet(err))
    );
}

const PINGER: [u8; 4] = [192, 168, 1, 5];
const DNS: [u8; 4] = [8, 8, 8, 8];
const NAT_HOST: [u8; 4] = [82, 1, 1, 8];
const ROUTER: [u8; 4] = [8, 8, 8, 1];

/// Scenario 5's rule; returns the echo request as it left the NAT.
fn ping_rule(n: &mut Nat<LruStore>) -> Vec<u8> {
    let mut req = echo(PINGER, DNS, 5, 9, 64, false, b"");
    n.add(&req, ip(NAT_HOST), ports_from(&[81]), Mode::Nat, NOW)
        .unwrap();
    n.translate(&mut req, NOW).unwrap();
    req
}

#[test]
fn scenario_5_ping() {
    let mut n = nat();
    let req = ping_rule(&mut n);
    assert_eq!(addrs(&req), (ip(NAT_HOST), ip(DNS), 63));
    let (is_reply, h) = echo_header(&req);
    assert!(!is_reply);
    assert_eq!((h.id, h.seq), (81, 9));
    assert_checksums(&req);

    let mut reply = echo(DNS, NAT_HOST, 81, 9, 64, true, b"");
    n.translate(&mut reply, NOW).unwrap();
    assert_eq!(addrs(&reply), (ip(DNS), ip(PINGER), 63));
    let (is_reply, h) = echo_header(&reply);
    assert!(is_reply);
    assert_eq!((h.id, h.seq), (5, 9));
    assert_checksums(&reply);
}

#[test]
fn scenario_6_icmp_error_about_a_ping() {
    let mut n = nat();
    let sent = ping_rule(&mut n);
    let mut err = icmp_error(ROUTER, NAT_HOST, 64, 3, 1, &quote(&sent, 8));
    n.translate(&mut err, NOW).unwrap();
    assert_eq!(addrs(&err), (ip(ROUTER), ip(PINGER), 63));
    assert_checksums(&err);
    // The quote is the request as the client sent it, at the TTL it left with.
    let quoted = &err[28..];
    let mut expected = echo(PINGER, DNS, 5, 9, 63, false, b"");
    expected.truncate(28);
    assert_eq!(quoted, &expected[..]);
}

#[test]
fn scenario_7_icmp_error_about_udp() {
    let mut n = nat();
    let original = udp(PINGER, 3210, DNS, 80, 64, b"");
    let mut sent = original.clone();
    n.add(&sent, ip(NAT_HOST), ports_from(&[81]), Mode::Nat, NOW)
        .unwrap();
    n.translate(&mut sent, NOW).unwrap();
    let mut err = icmp_error(ROUTER, NAT_HOST, 64, 3, 3, &quote(&sent, 8));
    n.translate(&mut err, NOW).unwrap();
    assert_eq!(addrs(&err), (ip(ROUTER), ip(PINGER), 63));
    assert_checksums(&err);
    let quoted = &err[28..];
    assert_eq!(addrs(quoted).0, ip(PINGER));
    assert_eq!(addrs(quoted).1, ip(DNS));
    assert_eq!(ports(quoted), (3210, 80));
    // Deliberate departure from mirage-nat, which leaves the quoted UDP
    // checksum as it left the NAT: we update it incrementally (RFC 5508
    // §4.1 as read in rfc-requirements.md), so the client finds the checksum
    // of the datagram it actually sent.
    assert_ne!(u16_at(quoted, 26), u16_at(&sent, 26));
    assert_eq!(u16_at(quoted, 26), u16_at(&original, 26));
}

#[test]
fn scenario_8_icmp_error_about_tcp_keeps_quoted_total_length() {
    let mut n = nat();
    let data = vec![0x5a; 1000];
    let mut sent = tcp(PINGER, 3210, DNS, 80, 64, &data);
    assert_eq!(sent.len(), 1040);
    n.add(&sent, ip(NAT_HOST), ports_from(&[81]), Mode::Nat, NOW)
        .unwrap();
    n.translate(&mut sent, NOW).unwrap();
    // The server itself reports, quoting 8 bytes of TCP.
    let mut err = icmp_error(DNS, NAT_HOST, 64, 3, 3, &quote(&sent, 8));
    n.translate(&mut err, NOW).unwrap();
    assert_eq!(addrs(&err), (ip(DNS), ip(PINGER), 63));
    assert_checksums(&err);
    let quoted = &err[28..];
    assert_eq!(quoted.len(), 28);
    assert_eq!(u16_at(quoted, 2), 1040, "quoted total length kept");
    assert_eq!(ports(quoted), (3210, 80));
    assert_eq!(addrs(quoted).0, ip(PINGER));
}

#[test]
fn scenario_11_port_freedom() {
    let mut n = nat();
    redirect_rule(&mut n);
    let (src, dst) = (ip(OUTSIDE), ip(NAT_PUBLIC));
    assert!(!n.is_port_free(Protocol::Udp, src, dst, 80, 80));
    assert!(n.is_port_free(Protocol::Tcp, src, dst, 80, 80));
}

/// xorshift64*: a small deterministic generator for the test's "random".
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn global_addr(&mut self) -> [u8; 4] {
        loop {
            let a = (self.next() >> 32) as u32;
            if unat::is_translatable(a.into()) {
                return a.to_be_bytes();
            }
        }
    }
    fn port(&mut self) -> u16 {
        (self.next() >> 48) as u16 | 1
    }
}

fn add_random_rules(n: &mut Nat<LruStore>, rng: &mut Rng, count: usize) {
    for i in 0..count {
        loop {
            let p = tcp_syn(
                rng.global_addr(),
                rng.port(),
                rng.global_addr(),
                rng.port(),
                64,
                1,
                1,
                b"",
            );
            let xl = ip(rng.global_addr());
            let mode = if i % 2 == 0 {
                Mode::Nat
            } else {
                Mode::Redirect {
                    target: Endpoint::new(ip(rng.global_addr()), rng.port()),
                }
            };
            let port = rng.port();
            match n.add(&p, xl, ports_from(&[port]), mode, NOW) {
                Ok(_) => break,
                Err(AddError::Overlap) => continue,
                Err(e) => panic!("rule {i} refused: {e}"),
            }
        }
    }
}

#[test]
fn scenario_12_many_entries_then_remove_connections() {
    let mut n = Nat::new(LruStore::new(4096, 1024, 20).unwrap());
    let mut rng = Rng(0x1234_5678_9abc_def1);
    add_random_rules(&mut n, &mut rng, 200);
    // A rule is one session, reachable by its two keys.
    assert_eq!(n.store().len(Protocol::Tcp), 200);
    add_random_rules(&mut n, &mut rng, 500);
    assert_eq!(n.store().len(Protocol::Tcp), 700);
    let freed = n.remove_connections(ip([127, 0, 0, 1]));
    assert!(freed.tcp.is_empty() && freed.udp.is_empty() && freed.icmp.is_empty());
    assert_eq!(n.store().len(Protocol::Tcp), 700);
}

/// Beyond the original: source-routed packets (LSRR/SSRR, in the packet or
/// in the quote of an ICMP error) are not translated (RFC 5508 §7.3).
#[test]
fn source_routed_packets_are_refused() {
    let mut n = nat();
    let mut p = udp(CLIENT, 255, SERVER, 1024, 64, CAT);
    n.add(&p, ip(XL), ports_from(&[45454]), Mode::Nat, NOW)
        .unwrap();
    // Insert an 8-byte option area: NOP, LSRR len 7 (one address), EOL.
    let mut routed = p[..20].to_vec();
    routed.extend_from_slice(&[1, 131, 7, 4, 198, 18, 0, 1]);
    routed.extend_from_slice(&p[20..]);
    routed[0] = 0x47;
    let total = routed.len() as u16;
    routed[2..4].copy_from_slice(&total.to_be_bytes());
    routed[10] = 0;
    routed[11] = 0;
    let c = inet_checksum(&[&routed[..28]]);
    routed[10..12].copy_from_slice(&c.to_be_bytes());
    let before = routed.clone();
    assert_eq!(
        n.translate(&mut routed, NOW),
        Err(TranslateError::Packet(PacketError::SourceRoute))
    );
    assert_eq!(routed, before);
    n.translate(&mut p, NOW).unwrap();
}
