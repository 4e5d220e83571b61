//! In-place rewriting of a packet onto its translated flow: addresses,
//! ports or ICMP identifier, TTL, and every checksum they are covered by,
//! updated incrementally (RFC 1624) without touching the payload.

use crate::flow::{FlowKey, Protocol};
use crate::wire::checksum::Delta;
use crate::wire::ipv4::{self, Ipv4Packet};
use crate::wire::{get_u16, icmp, put_addr, put_u16, tcp, udp, WireError};

/// Rewrites the IPv4 header: addresses from `old` to `new`, TTL minus one
/// (the caller has checked it is above 1), header checksum updated.
/// Returns the delta of the address change, which the TCP/UDP
/// pseudo-header also covers.
pub(crate) fn rewrite_ip_header(
    header: &mut [u8],
    old: (core::net::Ipv4Addr, core::net::Ipv4Addr),
    new: (core::net::Ipv4Addr, core::net::Ipv4Addr),
) -> Delta {
    let mut addrs = Delta::default();
    addrs.addr(old.0, new.0);
    addrs.addr(old.1, new.1);
    let ttl_word = get_u16(header, ipv4::TTL_OFFSET);
    let new_ttl_word = ttl_word.wrapping_sub(0x0100);
    let mut hdr = addrs;
    hdr.word(ttl_word, new_ttl_word);
    put_addr(header, ipv4::SRC_OFFSET, new.0);
    put_addr(header, ipv4::DST_OFFSET, new.1);
    put_u16(header, ipv4::TTL_OFFSET, new_ttl_word);
    let c = get_u16(header, ipv4::CHECKSUM_OFFSET);
    put_u16(header, ipv4::CHECKSUM_OFFSET, hdr.apply(c));
    addrs
}

/// Rewrites a TCP segment, UDP datagram or ICMP query in place, from flow
/// `old` (as it arrived) to flow `new` (its table entry).
pub(crate) fn rewrite_flow(
    packet: &mut [u8],
    proto: Protocol,
    old: &FlowKey,
    new: &FlowKey,
) -> Result<(), WireError> {
    let mut ip = Ipv4Packet::new_checked(packet)?;
    let (header, l4) = ip.split_mut();
    let addrs = rewrite_ip_header(
        header,
        (old.src.addr, old.dst.addr),
        (new.src.addr, new.dst.addr),
    );
    match proto {
        Protocol::Tcp => {
            let mut d = addrs;
            rewrite_port(l4, tcp::SRC_PORT, new.src.port, &mut d);
            rewrite_port(l4, tcp::DST_PORT, new.dst.port, &mut d);
            let c = get_u16(l4, tcp::CHECKSUM);
            put_u16(l4, tcp::CHECKSUM, d.apply(c));
        }
        Protocol::Udp => {
            let mut d = addrs;
            rewrite_port(l4, udp::SRC_PORT, new.src.port, &mut d);
            rewrite_port(l4, udp::DST_PORT, new.dst.port, &mut d);
            let c = get_u16(l4, udp::CHECKSUM);
            put_u16(l4, udp::CHECKSUM, udp_checksum_update(c, &d));
        }
        Protocol::Icmp => {
            // ICMP has no pseudo-header: only the identifier counts.
            // Keys carry the identifier in both endpoints.
            let mut d = Delta::default();
            rewrite_port(l4, icmp::IDENT, new.src.port, &mut d);
            let c = get_u16(l4, icmp::CHECKSUM);
            put_u16(l4, icmp::CHECKSUM, d.apply(c));
        }
    }
    Ok(())
}

/// Writes the port (or identifier) at `off` and records the change.
pub(crate) fn rewrite_port(buf: &mut [u8], off: usize, port: u16, delta: &mut Delta) {
    let old = get_u16(buf, off);
    delta.word(old, port);
    put_u16(buf, off, port);
}

/// A UDP checksum after the recorded changes: 0 ("none sent") stays 0, and
/// a result of 0 is sent as 0xFFFF (RFC 768).
pub(crate) fn udp_checksum_update(c: u16, d: &Delta) -> u16 {
    match c {
        0 => 0,
        c => match d.apply(c) {
            0 => 0xffff,
            n => n,
        },
    }
}
