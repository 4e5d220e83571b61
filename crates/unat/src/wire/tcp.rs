//! The fields of a TCP header that a NAT reads or rewrites (RFC 793).

use super::{get_u16, get_u8, WireError};

/// Length of a TCP header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// Offset of the source port.
pub const SRC_PORT: usize = 0;
/// Offset of the destination port.
pub const DST_PORT: usize = 2;
/// Offset of the checksum.
pub const CHECKSUM: usize = 16;
const DATA_OFFSET: usize = 12;
const FLAGS: usize = 13;

/// TCP flag bits, as in the header's flags byte.
pub mod flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Acknowledgment field is significant.
    pub const ACK: u8 = 0x10;
}

/// A whole TCP segment: header (with options) and data.
#[derive(Debug)]
pub struct TcpSegment<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> TcpSegment<T> {
    /// Checks that the buffer holds a TCP header whose data offset is sane.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        if b.len() < MIN_HEADER_LEN {
            return Err(WireError::TransportTruncated);
        }
        let hlen = usize::from(get_u8(b, DATA_OFFSET) >> 4) * 4;
        if hlen < MIN_HEADER_LEN || hlen > b.len() {
            return Err(WireError::BadTcpHeaderLength);
        }
        Ok(TcpSegment { buf })
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        get_u16(self.buf.as_ref(), SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buf.as_ref(), DST_PORT)
    }

    /// The flags byte (see [`flags`]).
    pub fn flags(&self) -> u8 {
        get_u8(self.buf.as_ref(), FLAGS)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        get_u16(self.buf.as_ref(), CHECKSUM)
    }
}
