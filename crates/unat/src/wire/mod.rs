//! Views over packets in a caller's buffer, and their checksums.
//!
//! Each view checks, when it is made, that the buffer is long enough for
//! every field it exposes; after that its accessors cannot fail. Nothing
//! here allocates or copies: the engine rewrites fields in place.

pub mod checksum;
pub mod icmp;
pub mod ipv4;
pub mod tcp;
pub mod udp;

use core::fmt;

/// Why a buffer is not a packet this crate can work on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than a minimal IPv4 header.
    Ipv4Truncated,
    /// The version field is not 4.
    NotIpv4,
    /// The IHL field is below 5 or points past the buffer or total length.
    BadHeaderLength,
    /// The total length is below the header length or beyond the buffer.
    BadTotalLength,
    /// The IPv4 header checksum is wrong.
    BadHeaderChecksum,
    /// The TCP, UDP or ICMP header is cut short.
    TransportTruncated,
    /// The TCP data offset is below 5 or past the segment.
    BadTcpHeaderLength,
    /// The checksum of an ICMP error message is wrong (RFC 5508 REQ-3).
    BadIcmpChecksum,
    /// The packet quoted in an ICMP error is too short to name its flow.
    QuoteTruncated,
    /// The IPv4 header quoted in an ICMP error is malformed or has a wrong
    /// checksum (RFC 5508 REQ-3a).
    BadQuotedHeader,
}

impl WireError {
    /// A short, stable, snake_case name, for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            WireError::Ipv4Truncated => "ipv4_truncated",
            WireError::NotIpv4 => "not_ipv4",
            WireError::BadHeaderLength => "bad_ipv4_header_length",
            WireError::BadTotalLength => "bad_ipv4_total_length",
            WireError::BadHeaderChecksum => "bad_ipv4_checksum",
            WireError::TransportTruncated => "transport_truncated",
            WireError::BadTcpHeaderLength => "bad_tcp_header_length",
            WireError::BadIcmpChecksum => "bad_icmp_checksum",
            WireError::QuoteTruncated => "icmp_quote_truncated",
            WireError::BadQuotedHeader => "bad_icmp_quoted_header",
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            WireError::Ipv4Truncated => "buffer shorter than an IPv4 header",
            WireError::NotIpv4 => "IP version is not 4",
            WireError::BadHeaderLength => "bad IPv4 header length (IHL)",
            WireError::BadTotalLength => "IPv4 total length beyond the buffer or below the header",
            WireError::BadHeaderChecksum => "bad IPv4 header checksum",
            WireError::TransportTruncated => "transport header cut short",
            WireError::BadTcpHeaderLength => "bad TCP data offset",
            WireError::BadIcmpChecksum => "bad ICMP checksum",
            WireError::QuoteTruncated => "ICMP error quotes too little of the packet",
            WireError::BadQuotedHeader => "bad IPv4 header quoted in an ICMP error",
        };
        f.write_str(text)
    }
}

impl core::error::Error for WireError {}

/// Reads the big-endian `u16` at `off`; 0 if out of range (views check
/// their length up front, so that never happens through them).
#[inline]
pub(crate) fn get_u16(buf: &[u8], off: usize) -> u16 {
    match buf.get(off..off + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

/// Writes a big-endian `u16` at `off`; nothing if out of range.
#[inline]
pub(crate) fn put_u16(buf: &mut [u8], off: usize, v: u16) {
    if let Some(s) = buf.get_mut(off..off + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

/// Reads the byte at `off`; 0 if out of range.
#[inline]
pub(crate) fn get_u8(buf: &[u8], off: usize) -> u8 {
    buf.get(off).copied().unwrap_or(0)
}

/// Reads an IPv4 address at `off`; 0.0.0.0 if out of range.
#[inline]
pub(crate) fn get_addr(buf: &[u8], off: usize) -> core::net::Ipv4Addr {
    match buf.get(off..off + 4) {
        Some(&[a, b, c, d]) => core::net::Ipv4Addr::new(a, b, c, d),
        _ => core::net::Ipv4Addr::UNSPECIFIED,
    }
}

/// Writes an IPv4 address at `off`; nothing if out of range.
#[inline]
pub(crate) fn put_addr(buf: &mut [u8], off: usize, a: core::net::Ipv4Addr) {
    if let Some(s) = buf.get_mut(off..off + 4) {
        s.copy_from_slice(&a.octets());
    }
}
