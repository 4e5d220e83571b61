//! Test helpers: packets built with `etherparse` (an implementation
//! independent of ours) and a strict checksum verifier that recomputes
//! every checksum from scratch.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::too_many_arguments
)]

pub mod rfc;

use etherparse::{IcmpEchoHeader, Icmpv4Type, PacketBuilder, TcpHeader};
use std::net::Ipv4Addr;

pub fn ip(a: [u8; 4]) -> Ipv4Addr {
    Ipv4Addr::from(a)
}

pub fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    PacketBuilder::ipv4(src, dst, ttl)
        .udp(sport, dport)
        .write(&mut buf, payload)
        .unwrap();
    buf
}

pub fn tcp_syn(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    ttl: u8,
    seq: u32,
    window: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = Vec::new();
    PacketBuilder::ipv4(src, dst, ttl)
        .tcp(sport, dport, seq, window)
        .syn()
        .write(&mut buf, payload)
        .unwrap();
    buf
}

pub fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    PacketBuilder::ipv4(src, dst, ttl)
        .tcp(sport, dport, 1, 1000)
        .ack(1)
        .write(&mut buf, payload)
        .unwrap();
    buf
}

pub fn echo(
    src: [u8; 4],
    dst: [u8; 4],
    id: u16,
    seq: u16,
    ttl: u8,
    reply: bool,
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = Vec::new();
    let b = PacketBuilder::ipv4(src, dst, ttl);
    if reply {
        b.icmpv4_echo_reply(id, seq)
            .write(&mut buf, payload)
            .unwrap();
    } else {
        b.icmpv4_echo_request(id, seq)
            .write(&mut buf, payload)
            .unwrap();
    }
    buf
}

/// An ICMP error `src -> dst` of `ty`/`code` quoting `quote` (whatever bytes).
pub fn icmp_error(src: [u8; 4], dst: [u8; 4], ttl: u8, ty: u8, code: u8, quote: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    PacketBuilder::ipv4(src, dst, ttl)
        .icmpv4_raw(ty, code, [0; 4])
        .write(&mut buf, quote)
        .unwrap();
    buf
}

/// The first `ip header + n` bytes of a packet, as an ICMP error quotes it.
pub fn quote(packet: &[u8], n: usize) -> Vec<u8> {
    let hl = usize::from(packet[0] & 0xf) * 4;
    packet[..(hl + n).min(packet.len())].to_vec()
}

pub fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

/// One's-complement checksum, written independently of the crate's.
pub fn inet_checksum(chunks: &[&[u8]]) -> u16 {
    let mut all = Vec::new();
    for c in chunks {
        all.extend_from_slice(c);
    }
    if all.len() % 2 == 1 {
        all.push(0);
    }
    let mut s: u64 = all
        .chunks(2)
        .map(|w| u64::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Checks an IPv4 header checksum, bit for bit against a recomputation.
pub fn assert_ip_checksum(hdr: &[u8]) {
    let mut h = hdr.to_vec();
    h[10] = 0;
    h[11] = 0;
    assert_eq!(
        u16_at(hdr, 10),
        inet_checksum(&[&h]),
        "IPv4 header checksum"
    );
    assert_ne!(
        u16_at(hdr, 10),
        0xffff,
        "an IPv4 header checksum is never -0"
    );
}

/// Strict verification of a whole packet: IPv4 header, then TCP/UDP/ICMP
/// checksums equal a from-scratch recomputation (UDP: 0 stays allowed as
/// "none", and 0xFFFF stands for a computed 0). ICMP errors: the quoted
/// IPv4 header checksum is checked too.
pub fn assert_checksums(pkt: &[u8]) {
    let hl = usize::from(pkt[0] & 0xf) * 4;
    let total = usize::from(u16_at(pkt, 2));
    assert!(total <= pkt.len());
    assert_ip_checksum(&pkt[..hl]);
    let l4 = &pkt[hl..total];
    let src = &pkt[12..16];
    let dst = &pkt[16..20];
    let len = (l4.len() as u16).to_be_bytes();
    match pkt[9] {
        6 => {
            let mut seg = l4.to_vec();
            seg[16] = 0;
            seg[17] = 0;
            let c = inet_checksum(&[src, dst, &[0, 6], &len, &seg]);
            assert_eq!(u16_at(l4, 16), c, "TCP checksum");
        }
        17 => {
            let got = u16_at(l4, 6);
            if got != 0 {
                let mut d = l4.to_vec();
                d[6] = 0;
                d[7] = 0;
                let c = match inet_checksum(&[src, dst, &[0, 17], &len, &d]) {
                    0 => 0xffff,
                    c => c,
                };
                assert_eq!(got, c, "UDP checksum");
            }
        }
        1 => {
            let mut m = l4.to_vec();
            m[2] = 0;
            m[3] = 0;
            assert_eq!(u16_at(l4, 2), inet_checksum(&[&m]), "ICMP checksum");
            if matches!(l4[0], 3 | 4 | 11 | 12) && l4.len() >= 28 {
                let q = &l4[8..];
                let qhl = usize::from(q[0] & 0xf) * 4;
                assert_ip_checksum(&q[..qhl]);
            }
        }
        _ => {}
    }
}

/// Source, destination, TTL of an IPv4 packet.
pub fn addrs(pkt: &[u8]) -> (Ipv4Addr, Ipv4Addr, u8) {
    (
        Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]),
        Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]),
        pkt[8],
    )
}

/// Source and destination ports (or ICMP identifier twice) of a packet.
pub fn ports(pkt: &[u8]) -> (u16, u16) {
    let hl = usize::from(pkt[0] & 0xf) * 4;
    let l4 = &pkt[hl..];
    match pkt[9] {
        1 => (u16_at(l4, 4), u16_at(l4, 4)),
        _ => (u16_at(l4, 0), u16_at(l4, 2)),
    }
}

/// The transport payload of a TCP/UDP packet, parsed by etherparse.
pub fn payload(pkt: &[u8]) -> Vec<u8> {
    let p = etherparse::SlicedPacket::from_ip(pkt).unwrap();
    match p.transport {
        Some(etherparse::TransportSlice::Udp(u)) => u.payload().to_vec(),
        Some(etherparse::TransportSlice::Tcp(t)) => t.payload().to_vec(),
        Some(etherparse::TransportSlice::Icmpv4(i)) => i.payload().to_vec(),
        _ => panic!("no transport"),
    }
}

/// The ICMP echo header of a packet, parsed by etherparse.
pub fn echo_header(pkt: &[u8]) -> (bool, IcmpEchoHeader) {
    let p = etherparse::SlicedPacket::from_ip(pkt).unwrap();
    let Some(etherparse::TransportSlice::Icmpv4(i)) = p.transport else {
        panic!("not ICMP")
    };
    match i.icmp_type() {
        Icmpv4Type::EchoRequest(h) => (false, h),
        Icmpv4Type::EchoReply(h) => (true, h),
        t => panic!("not an echo: {t:?}"),
    }
}

/// The TCP header of a packet, parsed by etherparse.
pub fn tcp_header(pkt: &[u8]) -> TcpHeader {
    let p = etherparse::SlicedPacket::from_ip(pkt).unwrap();
    let Some(etherparse::TransportSlice::Tcp(t)) = p.transport else {
        panic!("not TCP")
    };
    t.to_header()
}

/// A port generator that yields `ports` in turn, then nothing.
pub fn ports_from(ports: &[u16]) -> impl FnMut() -> Option<u16> + '_ {
    let mut it = ports.iter().copied();
    move || it.next()
}
