//! Translation of ICMP error messages (destination unreachable, time
//! exceeded, parameter problem, source quench) through the packet they
//! quote (RFC 5508 §4, RFC 3022 §4.3).
//!
//! The quoted packet is one that went through the NAT, seen from the other
//! side, so its flow is looked up *reversed*. Then:
//! - the quoted source and destination (address and port or identifier)
//!   become the flow as the receiver of the error knows it;
//! - the quoted IPv4 header checksum follows, and the quoted TCP, UDP or
//!   ICMP checksum too when the quote holds all of it (a UDP checksum of 0
//!   stays 0; a quote that ends inside the checksum field leaves that byte
//!   as sent); the quoted total length is kept even though the quote is
//!   short;
//! - the outer destination becomes the quoted source; the outer source is
//!   kept (an intermediate router), unless the error comes from the quoted
//!   destination itself, which then appears under its translated address;
//!   an error from inside always leaves from the public address of the
//!   mapping (RFC 5508 REQ-5 c for NAPT: an inside router's address never
//!   leaks out);
//! - the outer ICMP checksum is updated for all of it, incrementally.
//!
//! A wrong ICMP checksum or quoted header checksum drops the message
//! (RFC 5508 REQ-3, REQ-3a); the quoted transport checksum is never
//! validated (REQ-3c).

use crate::engine::error::{PacketError, TranslateError};
use crate::engine::rewrite::{rewrite_ip_header, rewrite_port, udp_checksum_update};
use crate::engine::Translation;
use crate::flow::{Endpoint, FlowKey, Protocol};
use crate::wire::checksum::{self, Delta};
use crate::wire::icmp::{self, IcmpMessage};
use crate::wire::ipv4::{self, Ipv4Packet};
use crate::wire::{get_addr, get_u16, put_addr, put_u16, tcp, udp, WireError};

/// How much of the quoted transport header must be there to name the flow:
/// the ports for TCP/UDP, up to the identifier for ICMP.
fn needed_quote(proto: Protocol) -> usize {
    match proto {
        Protocol::Tcp | Protocol::Udp => 4,
        Protocol::Icmp => icmp::IDENT + 2,
    }
}

/// Translates the ICMP error in `packet` (already validated as an IPv4
/// packet carrying an ICMP error) in place. `lookup` gives the translation
/// of a flow key, if a live session has it; it must not refresh anything
/// (no ICMP message refreshes or ends a session: RFC 4787 REQ-12, RFC 5382
/// REQ-10, RFC 5508 REQ-6). `from_inside` is the error's direction, when
/// known.
pub(crate) fn translate(
    packet: &mut [u8],
    from_inside: Option<bool>,
    mut lookup: impl FnMut(Protocol, &FlowKey) -> Option<FlowKey>,
) -> Result<Translation, TranslateError> {
    let ip = Ipv4Packet::new_checked(&*packet)?;
    let (outer_src, outer_dst, ttl) = (ip.src(), ip.dst(), ip.ttl());
    let msg = ip.payload();
    if !checksum::verify(msg, 0) {
        return Err(WireError::BadIcmpChecksum.into());
    }
    IcmpMessage::new_checked(msg)?;
    let body = msg.get(icmp::HEADER_LEN..).unwrap_or(&[]);
    let quoted = Ipv4Packet::new_quoted(body).map_err(|e| match e {
        WireError::Ipv4Truncated => WireError::QuoteTruncated,
        _ => WireError::BadQuotedHeader,
    })?;
    if !quoted.verify_checksum() {
        return Err(WireError::BadQuotedHeader.into());
    }
    if quoted.frag_offset() != 0 {
        return Err(PacketError::UntranslatableQuote.into());
    }
    if quoted.has_source_route() {
        return Err(PacketError::SourceRoute.into());
    }
    let proto =
        Protocol::from_ip_protocol(quoted.protocol()).ok_or(PacketError::UntranslatableQuote)?;
    let q_l4 = quoted.payload();
    if q_l4.len() < needed_quote(proto) {
        return Err(WireError::QuoteTruncated.into());
    }
    let q_key = match proto {
        Protocol::Tcp | Protocol::Udp => FlowKey::new(
            Endpoint::new(quoted.src(), get_u16(q_l4, 0)),
            Endpoint::new(quoted.dst(), get_u16(q_l4, 2)),
        ),
        Protocol::Icmp => {
            let ty = q_l4.first().copied().unwrap_or(0);
            if !matches!(
                icmp::kind(ty),
                icmp::Kind::QueryRequest | icmp::Kind::QueryReply
            ) {
                return Err(PacketError::UntranslatableQuote.into());
            }
            FlowKey::icmp(quoted.src(), quoted.dst(), get_u16(q_l4, icmp::IDENT))
        }
    };
    let q_hl = quoted.header_len();

    // The quoted packet travelled the other way: its reply entry says how
    // the receiver of this error knows the flow.
    let back = lookup(proto, &q_key.reversed()).ok_or(TranslateError::NoEntry)?;
    if ttl <= 1 {
        return Err(TranslateError::TtlExceeded);
    }
    let new_q = back.reversed();
    let new_outer_src = if outer_src == q_key.dst.addr || from_inside == Some(true) {
        new_q.dst.addr
    } else {
        outer_src
    };

    // Everything is checked: from here on the packet is only written.
    let mut ip = Ipv4Packet::new_checked(packet)?;
    let (header, msg) = ip.split_mut();
    rewrite_ip_header(
        header,
        (outer_src, outer_dst),
        (new_outer_src, new_q.src.addr),
    );

    // Changes inside the ICMP message, for the outer ICMP checksum.
    let mut outer = Delta::default();
    let qh = icmp::HEADER_LEN; // the quoted header starts here
    let ql4 = qh + q_hl; // and its transport header here

    // Quoted IPv4 header: addresses and checksum.
    let mut q_addrs = Delta::default();
    for (off, new) in [
        (qh + ipv4::SRC_OFFSET, new_q.src.addr),
        (qh + ipv4::DST_OFFSET, new_q.dst.addr),
    ] {
        let old = get_addr(msg, off);
        q_addrs.addr(old, new);
        put_addr(msg, off, new);
    }
    outer.merge(q_addrs);
    set_tracked(
        msg,
        qh + ipv4::CHECKSUM_OFFSET,
        q_addrs.apply(get_u16(msg, qh + ipv4::CHECKSUM_OFFSET)),
        &mut outer,
    );

    // Quoted transport header: ports or identifier, and its checksum when
    // the quote reaches that far.
    let quote_end = msg.len();
    let mut q_l4 = Delta::default();
    match proto {
        Protocol::Tcp | Protocol::Udp => {
            rewrite_port(msg, ql4, new_q.src.port, &mut q_l4);
            rewrite_port(msg, ql4 + 2, new_q.dst.port, &mut q_l4);
            outer.merge(q_l4);
            let mut pseudo = q_addrs;
            pseudo.merge(q_l4);
            let (off, is_udp) = match proto {
                Protocol::Tcp => (ql4 + tcp::CHECKSUM, false),
                _ => (ql4 + udp::CHECKSUM, true),
            };
            if off + 2 <= quote_end {
                let c = get_u16(msg, off);
                let n = if is_udp {
                    udp_checksum_update(c, &pseudo)
                } else {
                    pseudo.apply(c)
                };
                set_tracked(msg, off, n, &mut outer);
            }
        }
        Protocol::Icmp => {
            rewrite_port(msg, ql4 + icmp::IDENT, new_q.src.port, &mut q_l4);
            outer.merge(q_l4);
            let off = ql4 + icmp::CHECKSUM;
            let n = q_l4.apply(get_u16(msg, off));
            set_tracked(msg, off, n, &mut outer);
        }
    }
    let c = get_u16(msg, icmp::CHECKSUM);
    put_u16(msg, icmp::CHECKSUM, outer.apply(c));

    Ok(Translation {
        protocol: Protocol::Icmp,
        src: new_outer_src,
        dst: new_q.src.addr,
        is_icmp_error: true,
        new_session: false,
    })
}

/// Writes a 16-bit word inside the ICMP message and records the change.
fn set_tracked(buf: &mut [u8], off: usize, new: u16, delta: &mut Delta) {
    let old = get_u16(buf, off);
    delta.word(old, new);
    put_u16(buf, off, new);
}
