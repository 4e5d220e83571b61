//! The fields of a UDP header that a NAT reads or rewrites (RFC 768).
//!
//! A transmitted checksum of 0 means "no checksum" and must stay 0; a
//! checksum that computes to 0 is sent as 0xFFFF.

use super::{get_u16, WireError};

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;
/// Offset of the source port.
pub const SRC_PORT: usize = 0;
/// Offset of the destination port.
pub const DST_PORT: usize = 2;
/// Offset of the checksum.
pub const CHECKSUM: usize = 6;

/// A UDP datagram: header and payload.
#[derive(Debug)]
pub struct UdpDatagram<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> UdpDatagram<T> {
    /// Checks that the buffer holds a whole UDP header.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        if buf.as_ref().len() < HEADER_LEN {
            return Err(WireError::TransportTruncated);
        }
        Ok(UdpDatagram { buf })
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        get_u16(self.buf.as_ref(), SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buf.as_ref(), DST_PORT)
    }

    /// The checksum field (0: the sender computed none).
    pub fn checksum(&self) -> u16 {
        get_u16(self.buf.as_ref(), CHECKSUM)
    }
}
