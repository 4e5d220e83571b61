//! A view over an IPv4 header and its payload (RFC 791).

use core::net::Ipv4Addr;

use super::checksum;
use super::{get_addr, get_u16, get_u8, put_addr, put_u16, WireError};

/// Length of an IPv4 header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;

const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_LSRR: u8 = 131;
const OPT_SSRR: u8 = 137;

const TOTAL_LEN: usize = 2;
const FLAGS_FRAG: usize = 6;
const TTL: usize = 8;
const PROTOCOL: usize = 9;
const CHECKSUM: usize = 10;
const SRC: usize = 12;
const DST: usize = 16;

/// Offset of the checksum field within the header, for incremental updates.
pub(crate) const CHECKSUM_OFFSET: usize = CHECKSUM;
/// Offset of the source address within the header.
pub(crate) const SRC_OFFSET: usize = SRC;
/// Offset of the destination address within the header.
pub(crate) const DST_OFFSET: usize = DST;
/// Offset of the TTL/protocol word within the header.
pub(crate) const TTL_OFFSET: usize = TTL;

/// An IPv4 packet in a buffer: the header (with any options) and the
/// payload up to the header's total length. Bytes after the total length
/// (such as Ethernet padding) are ignored.
#[derive(Debug)]
pub struct Ipv4Packet<T> {
    buf: T,
    header_len: usize,
    /// End of the IP packet within `buf`: the total length for a whole
    /// packet, the buffer length for a quoted (truncated) one.
    end: usize,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Checks a whole packet: version 4, a header length of 20 to 60 bytes,
    /// and a total length that covers the header and fits in the buffer.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let (header_len, total) = Self::check_header(buf.as_ref())?;
        if total < header_len || total > buf.as_ref().len() {
            return Err(WireError::BadTotalLength);
        }
        Ok(Ipv4Packet {
            buf,
            header_len,
            end: total,
        })
    }

    /// Checks a packet quoted inside an ICMP error: the header must be
    /// whole, but the payload may be cut short (the total length field then
    /// tells how long the packet originally was).
    pub fn new_quoted(buf: T) -> Result<Self, WireError> {
        let (header_len, total) = Self::check_header(buf.as_ref())?;
        if total < header_len {
            return Err(WireError::BadTotalLength);
        }
        let end = total.min(buf.as_ref().len());
        Ok(Ipv4Packet {
            buf,
            header_len,
            end,
        })
    }

    fn check_header(b: &[u8]) -> Result<(usize, usize), WireError> {
        if b.len() < MIN_HEADER_LEN {
            return Err(WireError::Ipv4Truncated);
        }
        let vihl = get_u8(b, 0);
        if vihl >> 4 != 4 {
            return Err(WireError::NotIpv4);
        }
        let header_len = usize::from(vihl & 0x0f) * 4;
        if header_len < MIN_HEADER_LEN || header_len > b.len() {
            return Err(WireError::BadHeaderLength);
        }
        Ok((header_len, usize::from(get_u16(b, TOTAL_LEN))))
    }

    /// The header length in bytes (20 plus options).
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The total length field.
    pub fn total_len(&self) -> u16 {
        get_u16(self.buf.as_ref(), TOTAL_LEN)
    }

    /// Whether the Don't Fragment flag is set.
    pub fn dont_fragment(&self) -> bool {
        get_u16(self.buf.as_ref(), FLAGS_FRAG) & 0x4000 != 0
    }

    /// Whether the More Fragments flag is set.
    pub fn more_fragments(&self) -> bool {
        get_u16(self.buf.as_ref(), FLAGS_FRAG) & 0x2000 != 0
    }

    /// The fragment offset, in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        get_u16(self.buf.as_ref(), FLAGS_FRAG) & 0x1fff
    }

    /// Whether this is a fragment (first or later) of a larger datagram.
    pub fn is_fragment(&self) -> bool {
        self.more_fragments() || self.frag_offset() != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        get_u8(self.buf.as_ref(), TTL)
    }

    /// The protocol of the payload (1 ICMP, 6 TCP, 17 UDP, ...).
    pub fn protocol(&self) -> u8 {
        get_u8(self.buf.as_ref(), PROTOCOL)
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        get_u16(self.buf.as_ref(), CHECKSUM)
    }

    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        get_addr(self.buf.as_ref(), SRC)
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        get_addr(self.buf.as_ref(), DST)
    }

    /// Whether the header checksum is right.
    pub fn verify_checksum(&self) -> bool {
        self.header().is_some_and(|h| checksum::verify(h, 0))
    }

    /// Whether the options hold a loose or strict source route (types 131
    /// and 137). Options are read as far as they are well formed.
    pub fn has_source_route(&self) -> bool {
        let opts = self
            .header()
            .and_then(|h| h.get(MIN_HEADER_LEN..))
            .unwrap_or(&[]);
        let mut i = 0;
        while let Some(&kind) = opts.get(i) {
            match kind {
                OPT_END => break,
                OPT_NOP => i += 1,
                OPT_LSRR | OPT_SSRR => return true,
                _ => match opts.get(i + 1) {
                    Some(&len) if len >= 2 => i += usize::from(len),
                    _ => break,
                },
            }
        }
        false
    }

    /// The header bytes, options included.
    pub fn header(&self) -> Option<&[u8]> {
        self.buf.as_ref().get(..self.header_len)
    }

    /// The payload: from the end of the header to the total length (or to
    /// the end of the quote, for a quoted packet).
    pub fn payload(&self) -> &[u8] {
        self.buf
            .as_ref()
            .get(self.header_len..self.end)
            .unwrap_or(&[])
    }

    /// The packet: header and payload, without trailing padding.
    pub fn packet(&self) -> &[u8] {
        self.buf.as_ref().get(..self.end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len, self.end);
        self.buf.as_mut().get_mut(start..end).unwrap_or(&mut [])
    }

    /// The header and the payload, split, both mutable.
    pub fn split_mut(&mut self) -> (&mut [u8], &mut [u8]) {
        let (hl, end) = (self.header_len, self.end);
        let packet = self.buf.as_mut().get_mut(..end).unwrap_or(&mut []);
        let at = hl.min(packet.len());
        packet.split_at_mut(at)
    }

    /// Sets the source address; the checksum is left to the caller.
    pub fn set_src(&mut self, a: Ipv4Addr) {
        put_addr(self.buf.as_mut(), SRC, a);
    }

    /// Sets the destination address; the checksum is left to the caller.
    pub fn set_dst(&mut self, a: Ipv4Addr) {
        put_addr(self.buf.as_mut(), DST, a);
    }

    /// Sets the TTL; the checksum is left to the caller.
    pub fn set_ttl(&mut self, ttl: u8) {
        if let Some(b) = self.buf.as_mut().get_mut(TTL) {
            *b = ttl;
        }
    }

    /// Sets or clears the Don't Fragment flag; the checksum is left to the
    /// caller.
    pub fn set_dont_fragment(&mut self, df: bool) {
        let v = get_u16(self.buf.as_ref(), FLAGS_FRAG);
        let v = if df { v | 0x4000 } else { v & !0x4000 };
        put_u16(self.buf.as_mut(), FLAGS_FRAG, v);
    }

    /// Sets the header checksum field.
    pub fn set_checksum(&mut self, c: u16) {
        put_u16(self.buf.as_mut(), CHECKSUM, c);
    }

    /// Recomputes the header checksum from scratch.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = self.header().map_or(0, checksum::checksum);
        self.set_checksum(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> [u8; 20] {
        let mut h = [
            0x45u8, 0, 0, 20, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let c = checksum::checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h
    }

    #[test]
    fn parses_a_minimal_header() {
        let h = header();
        let p = Ipv4Packet::new_checked(&h[..]).unwrap();
        assert_eq!(p.header_len(), 20);
        assert!(p.verify_checksum());
        assert!(p.dont_fragment());
        assert!(!p.is_fragment());
        assert_eq!(p.payload(), &[] as &[u8]);
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut h = header();
        assert_eq!(
            Ipv4Packet::new_checked(&h[..19]).unwrap_err(),
            WireError::Ipv4Truncated
        );
        h[0] = 0x44;
        assert_eq!(
            Ipv4Packet::new_checked(&h[..]).unwrap_err(),
            WireError::BadHeaderLength
        );
        h[0] = 0x46; // 24-byte header in a 20-byte buffer
        assert_eq!(
            Ipv4Packet::new_checked(&h[..]).unwrap_err(),
            WireError::BadHeaderLength
        );
        h[0] = 0x45;
        h[3] = 21; // total length past the buffer
        assert_eq!(
            Ipv4Packet::new_checked(&h[..]).unwrap_err(),
            WireError::BadTotalLength
        );
        h[3] = 19; // total length below the header
        assert_eq!(
            Ipv4Packet::new_checked(&h[..]).unwrap_err(),
            WireError::BadTotalLength
        );
        h[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&h[..]).unwrap_err(),
            WireError::NotIpv4
        );
    }

    #[test]
    fn finds_source_routes_among_options() {
        let mut h = [0u8; 28];
        h[..20].copy_from_slice(&header());
        h[0] = 0x47;
        h[3] = 28;
        h[20..28].copy_from_slice(&[1, 7, 3, 4, 131, 3, 0, 0]); // NOP, RR(3), LSRR
        assert!(Ipv4Packet::new_checked(&h[..]).unwrap().has_source_route());
        h[20..28].copy_from_slice(&[1, 7, 3, 4, 0, 0, 137, 3]); // ... EOL, then junk
        assert!(!Ipv4Packet::new_checked(&h[..]).unwrap().has_source_route());
        h[20..28].copy_from_slice(&[68, 1, 137, 3, 0, 0, 0, 0]); // bad length: stop
        assert!(!Ipv4Packet::new_checked(&h[..]).unwrap().has_source_route());
    }

    #[test]
    fn ignores_trailing_padding_and_quotes_may_be_short() {
        let mut b = [0u8; 64];
        b[..20].copy_from_slice(&header());
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.packet().len(), 20);
        let mut q = header();
        q[2..4].copy_from_slice(&1040u16.to_be_bytes());
        assert!(Ipv4Packet::new_checked(&q[..]).is_err());
        let p = Ipv4Packet::new_quoted(&q[..]).unwrap();
        assert_eq!(p.total_len(), 1040);
        assert_eq!(p.payload().len(), 0);
    }
}
