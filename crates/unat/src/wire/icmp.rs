//! ICMPv4 messages (RFC 792): the query messages a NAT maps by identifier,
//! and the error messages it translates through the packet they quote.

use super::{get_u16, get_u8, WireError};

/// Length of the ICMP header (type, code, checksum, four bytes of "rest").
pub const HEADER_LEN: usize = 8;
/// Offset of the checksum.
pub const CHECKSUM: usize = 2;
/// Offset of the query identifier.
pub const IDENT: usize = 4;

/// ICMP message types this crate knows by name.
pub mod types {
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable.
    pub const DEST_UNREACHABLE: u8 = 3;
    /// Source quench (deprecated by RFC 6633).
    pub const SOURCE_QUENCH: u8 = 4;
    /// Redirect.
    pub const REDIRECT: u8 = 5;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
    /// Parameter problem.
    pub const PARAMETER_PROBLEM: u8 = 12;
    /// Timestamp request.
    pub const TIMESTAMP_REQUEST: u8 = 13;
    /// Timestamp reply.
    pub const TIMESTAMP_REPLY: u8 = 14;
    /// Information request (obsolete).
    pub const INFO_REQUEST: u8 = 15;
    /// Information reply (obsolete).
    pub const INFO_REPLY: u8 = 16;
}

/// What a NAT does with an ICMP message of some type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A query that starts an exchange (echo, timestamp, information request).
    QueryRequest,
    /// The answer to a query.
    QueryReply,
    /// An error that quotes the packet it is about.
    Error,
    /// Anything else (redirect, router discovery, unknown types).
    Other,
}

/// Classifies an ICMP type.
pub fn kind(icmp_type: u8) -> Kind {
    use types::*;
    match icmp_type {
        ECHO_REQUEST | TIMESTAMP_REQUEST | INFO_REQUEST => Kind::QueryRequest,
        ECHO_REPLY | TIMESTAMP_REPLY | INFO_REPLY => Kind::QueryReply,
        DEST_UNREACHABLE | SOURCE_QUENCH | TIME_EXCEEDED | PARAMETER_PROBLEM => Kind::Error,
        _ => Kind::Other,
    }
}

/// An ICMP message: the 8-byte header and the body.
#[derive(Debug)]
pub struct IcmpMessage<T> {
    buf: T,
}

impl<T: AsRef<[u8]>> IcmpMessage<T> {
    /// Checks that the buffer holds a whole ICMP header.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        if buf.as_ref().len() < HEADER_LEN {
            return Err(WireError::TransportTruncated);
        }
        Ok(IcmpMessage { buf })
    }

    /// Message type.
    pub fn msg_type(&self) -> u8 {
        get_u8(self.buf.as_ref(), 0)
    }

    /// Message code.
    pub fn code(&self) -> u8 {
        get_u8(self.buf.as_ref(), 1)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        get_u16(self.buf.as_ref(), CHECKSUM)
    }

    /// The identifier of a query message.
    pub fn ident(&self) -> u16 {
        get_u16(self.buf.as_ref(), IDENT)
    }

    /// The body after the 8-byte header: for an error, the quoted packet.
    pub fn body(&self) -> &[u8] {
        self.buf.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }
}
