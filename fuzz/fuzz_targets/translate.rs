//! Fuzzes `Nat::translate` and `Nat::add`.
//!
//! Input: a control byte, then data.
//! - Control bit 7 clear: the data is the packet, as is.
//! - Control bit 7 set: the packet is one of the templates below (valid
//!   packets the NAT has rules for: outbound, replies, ICMP errors about
//!   translated packets), selected by bits 0-3; the two bytes after the
//!   control byte cap its length (big-endian), and the rest is XORed onto
//!   it (extending it past its end).
//! - Control bits 4, 5, 6: recompute the quoted IPv4 header checksum, the
//!   ICMP checksum and the outer IPv4 header checksum after that, so that
//!   mutations get past the checksum checks.
//!
//! Checked: nothing panics; a refused packet is left unchanged; a
//! translated packet has a valid IPv4 header checksum, and keeps valid
//! transport (and quoted header) checksums if they were valid; a refused
//! `add` leaves the store as it was; once `add` accepts a packet,
//! `translate` accepts it too (unless its TTL is spent).
#![no_main]

use std::net::Ipv4Addr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use unat::wire::checksum::{checksum, fold, pseudo_header_sum, sum, verify};
use unat::{Endpoint, LruStore, Mode, Nat, Protocol, Store, TranslateError};

/// mirage-nat's mode: nothing expires, so one instant will do.
const NOW: unat::Instant = unat::Instant::ZERO;

const CLIENT: [u8; 4] = [10, 0, 0, 2];
const SERVER: [u8; 4] = [198, 18, 1, 2];
const PUBLIC: [u8; 4] = [198, 18, 0, 2];
const ROUTER: [u8; 4] = [198, 18, 7, 1];
const INTERNAL: [u8; 4] = [10, 0, 0, 9];

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], ttl: u8, l4: &[u8]) -> Vec<u8> {
    let total = (20 + l4.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34, 0x40, 0, ttl, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let c = checksum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(l4);
    p
}

fn l4_checksum(proto: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> u16 {
    let acc = pseudo_header_sum(src.into(), dst.into(), proto, l4.len() as u16);
    !fold(sum(l4, acc))
}

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    l4.extend_from_slice(&[0, 0]);
    l4.extend_from_slice(payload);
    let c = match l4_checksum(17, src, dst, &l4) {
        0 => 0xffff,
        c => c,
    };
    l4[6..8].copy_from_slice(&c.to_be_bytes());
    ipv4(17, src, dst, 64, &l4)
}

fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10, 0x10, 0, 0, 0, 0, 0]);
    l4.extend_from_slice(payload);
    let c = l4_checksum(6, src, dst, &l4);
    l4[16..18].copy_from_slice(&c.to_be_bytes());
    ipv4(6, src, dst, 64, &l4)
}

fn icmp(src: [u8; 4], dst: [u8; 4], ty: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(body);
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ipv4(1, src, dst, 64, &m)
}

/// The rules every input starts with: source NAT for a TCP, a UDP and an
/// ICMP echo flow, and a UDP port forward.
fn rule_packets() -> [(Vec<u8>, u16, Mode); 4] {
    let target = Endpoint::new(Ipv4Addr::from(INTERNAL), 80);
    [
        (tcp(CLIENT, 5000, SERVER, 80, b"GET"), 40000, Mode::Nat),
        (udp(CLIENT, 5000, SERVER, 53, b"query"), 40000, Mode::Nat),
        (
            icmp(CLIENT, SERVER, 8, 0, [0, 7, 0, 1], b"ping"),
            40000,
            Mode::Nat,
        ),
        (
            udp(SERVER, 1234, PUBLIC, 8080, b"fwd"),
            8080,
            Mode::Redirect { target },
        ),
    ]
}

fn nat() -> Nat<LruStore> {
    let mut n = Nat::new(LruStore::new(16, 16, 16).unwrap());
    for (p, port, mode) in rule_packets() {
        n.add(&p, PUBLIC.into(), || Some(port), mode, NOW).unwrap();
    }
    n
}

fn quote(p: &[u8], n: usize) -> &[u8] {
    &p[..(20 + n).min(p.len())]
}

fn templates() -> &'static [Vec<u8>] {
    static T: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    T.get_or_init(|| {
        let mut n = nat();
        let mut t = Vec::new();
        let mut sent = Vec::new();
        for (p, _, _) in rule_packets() {
            let mut out = p.clone();
            n.translate(&mut out, NOW).unwrap();
            t.push(p);
            sent.push(out);
        }
        // Replies.
        t.push(tcp(SERVER, 80, PUBLIC, 40000, b"200 OK"));
        t.push(udp(SERVER, 53, PUBLIC, 40000, b"answer"));
        t.push(icmp(SERVER, PUBLIC, 0, 0, [0x9c, 0x40, 0, 1], b"ping"));
        t.push(udp(INTERNAL, 80, PUBLIC, 8080, b"back"));
        // ICMP errors about what left the NAT.
        t.push(icmp(ROUTER, PUBLIC, 11, 0, [0; 4], quote(&sent[0], 8)));
        t.push(icmp(SERVER, PUBLIC, 3, 3, [0; 4], &sent[1]));
        t.push(icmp(ROUTER, PUBLIC, 3, 1, [0; 4], quote(&sent[2], 8)));
        t.push(icmp(INTERNAL, PUBLIC, 12, 0, [20, 0, 0, 0], &sent[3]));
        t.push(icmp(ROUTER, PUBLIC, 4, 0, [0; 4], &sent[0]));
        // Every template translates as it is.
        for p in &t {
            nat().translate(&mut p.clone(), NOW).unwrap();
        }
        t
    })
}

fn ihl(p: &[u8], at: usize) -> Option<usize> {
    let hl = usize::from(p.get(at)? & 0x0f) * 4;
    (hl >= 20 && at + hl <= p.len()).then_some(hl)
}

fn u16_at(p: &[u8], at: usize) -> u16 {
    match p.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

fn refix_header(p: &mut [u8], at: usize) {
    let Some(hl) = ihl(p, at) else { return };
    p[at + 10..at + 12].copy_from_slice(&[0, 0]);
    let c = checksum(&p[at..at + hl]);
    p[at + 10..at + 12].copy_from_slice(&c.to_be_bytes());
}

/// The ICMP message after the outer header, up to the total length.
fn icmp_range(p: &[u8]) -> Option<(usize, usize)> {
    let hl = ihl(p, 0)?;
    let end = usize::from(u16_at(p, 2)).min(p.len());
    (*p.get(9)? == 1 && hl + 8 <= end).then_some((hl, end))
}

fn refix_icmp(p: &mut [u8]) {
    let Some((hl, end)) = icmp_range(p) else {
        return;
    };
    p[hl + 2..hl + 4].copy_from_slice(&[0, 0]);
    let c = checksum(&p[hl..end]);
    p[hl + 2..hl + 4].copy_from_slice(&c.to_be_bytes());
}

/// Whether the packet's checksums verify: (IPv4 header, transport or ICMP
/// message, quoted IPv4 header of an ICMP error). Missing parts count as
/// not verifying.
fn checksums(p: &[u8]) -> (bool, bool, bool) {
    let Some(hl) = ihl(p, 0) else {
        return (false, false, false);
    };
    let ip_ok = verify(&p[..hl], 0);
    let total = usize::from(u16_at(p, 2));
    let Some(l4) = p.get(hl..total) else {
        return (ip_ok, false, false);
    };
    let (src, dst) = (
        Ipv4Addr::new(p[12], p[13], p[14], p[15]),
        Ipv4Addr::new(p[16], p[17], p[18], p[19]),
    );
    let len = l4.len() as u16;
    match p[9] {
        6 => (
            ip_ok,
            verify(l4, pseudo_header_sum(src, dst, 6, len)),
            false,
        ),
        17 => {
            let ok = u16_at(l4, 6) == 0 || verify(l4, pseudo_header_sum(src, dst, 17, len));
            (ip_ok, l4.len() >= 8 && ok, false)
        }
        1 => {
            let quoted = l4.get(8..).and_then(|q| Some(verify(&q[..ihl(q, 0)?], 0)));
            (ip_ok, verify(l4, 0), quoted.unwrap_or(false))
        }
        _ => (ip_ok, false, false),
    }
}

fn sizes(n: &Nat<LruStore>) -> [usize; 3] {
    Protocol::ALL.map(|p| n.store().len(p))
}

fn check(n: &mut Nat<LruStore>, packet: &[u8]) {
    let before = checksums(packet);
    let mut buf = packet.to_vec();
    match n.translate(&mut buf, NOW) {
        Err(e) => {
            assert_eq!(buf, packet, "refused ({e:?}) but modified");
            let _ = e.reason();
        }
        Ok(t) => {
            assert_eq!(buf.len(), packet.len());
            let after = checksums(&buf);
            assert!(after.0, "IPv4 header checksum broken by translation");
            assert!(
                !before.1 || after.1,
                "transport checksum broken by translation"
            );
            if t.is_icmp_error {
                assert!(after.2, "quoted IPv4 header checksum broken by translation");
            }
        }
    }

    let target = Endpoint::new(Ipv4Addr::from(INTERNAL), 22);
    for mode in [Mode::Nat, Mode::Redirect { target }] {
        let sizes_before = sizes(n);
        let mut next = 0u16;
        let ports = || {
            next += 1;
            (next < 4).then_some(next + 1000)
        };
        match n.add(packet, Ipv4Addr::new(198, 18, 0, 3), ports, mode, NOW) {
            Err(e) => {
                assert_eq!(
                    sizes(n),
                    sizes_before,
                    "refused add ({e:?}) changed the store"
                );
                let _ = e.reason();
            }
            Ok(_) => {
                let mut again = packet.to_vec();
                match n.translate(&mut again, NOW) {
                    Ok(_) | Err(TranslateError::TtlExceeded) => {}
                    Err(e) => panic!("added a rule for a packet that then fails: {e:?}"),
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let mut packet = if control & 0x80 == 0 {
        rest.to_vec()
    } else {
        let t = templates();
        let mut p = t[usize::from(control & 0x0f) % t.len()].clone();
        let (limit, mask) = match rest {
            [a, b, mask @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), mask),
            _ => (usize::MAX, &[][..]),
        };
        for (i, m) in mask.iter().enumerate() {
            match p.get_mut(i) {
                Some(b) => *b ^= m,
                None => p.push(*m),
            }
        }
        p.truncate(limit);
        p
    };
    if control & 0x10 != 0 && packet.get(9) == Some(&1) {
        if let Some(hl) = ihl(&packet, 0) {
            refix_header(&mut packet, hl + 8);
        }
    }
    if control & 0x20 != 0 {
        refix_icmp(&mut packet);
    }
    if control & 0x40 != 0 {
        refix_header(&mut packet, 0);
    }
    let mut n = nat();
    check(&mut n, &packet);
});
