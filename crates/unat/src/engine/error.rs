//! What can go wrong when adding a rule or translating a packet.
//!
//! Every error has a [`reason`](TranslateError::reason): a short, stable
//! snake_case name meant for drop counters and logs.

use core::fmt;
use core::net::Ipv4Addr;

use crate::wire::WireError;

/// A packet the NAT cannot work on, whatever its tables hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketError {
    /// Not a well-formed IPv4 packet (see [`WireError`]).
    Malformed(WireError),
    /// A fragment of a larger datagram: not translated by this version.
    Fragment,
    /// An IP protocol other than TCP, UDP and ICMP.
    UnsupportedProtocol(u8),
    /// An ICMP type that is neither a query nor a translatable error
    /// (redirect, router discovery, unknown types).
    UnsupportedIcmp(u8),
    /// An ICMP error whose quoted packet names no translatable flow (a
    /// later fragment, an ICMP error, another protocol).
    UntranslatableQuote,
    /// A loose or strict source route option, in the packet or in the
    /// packet an ICMP error quotes: not forwarded (RFC 5508 §7.3, RFC 7126).
    SourceRoute,
}

impl PacketError {
    /// A short, stable, snake_case name, for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            PacketError::Malformed(w) => w.reason(),
            PacketError::Fragment => "fragment",
            PacketError::UnsupportedProtocol(_) => "unsupported_protocol",
            PacketError::UnsupportedIcmp(_) => "unsupported_icmp_type",
            PacketError::UntranslatableQuote => "untranslatable_icmp_quote",
            PacketError::SourceRoute => "source_route",
        }
    }
}

impl From<WireError> for PacketError {
    fn from(e: WireError) -> Self {
        PacketError::Malformed(e)
    }
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Malformed(w) => write!(f, "malformed packet: {w}"),
            PacketError::Fragment => f.write_str("IP fragments are not translated"),
            PacketError::UnsupportedProtocol(p) => write!(f, "IP protocol {p} is not translated"),
            PacketError::UnsupportedIcmp(t) => write!(f, "ICMP type {t} is not translated"),
            PacketError::UntranslatableQuote => {
                f.write_str("ICMP error quotes a packet that names no translatable flow")
            }
            PacketError::SourceRoute => f.write_str("source-routed packets are not forwarded"),
        }
    }
}

impl core::error::Error for PacketError {}

/// Why [`Nat::translate`](crate::Nat::translate) left a packet alone.
/// The buffer is unchanged whenever an error is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TranslateError {
    /// The packet itself is unusable.
    Packet(PacketError),
    /// No table entry matches the packet (or, for an ICMP error, the packet
    /// it quotes): the original's `Untranslated`.
    NoEntry,
    /// The packet arrived with a TTL of 0 or 1, so it must not be
    /// forwarded (and starts no session).
    TtlExceeded,
    /// An inbound packet to a mapping whose filter does not let its
    /// source in (or a TCP segment other than a SYN trying to start a
    /// session).
    Filtered,
    /// The inside host holds its limit of mappings for the protocol
    /// (RFC 6888 REQ-4); no existing mapping was touched.
    HostLimit,
    /// No external port is free for the inside port's class.
    PortsExhausted,
    /// The mapping holds its limit of sessions (RFC 6888 REQ-5).
    SessionLimit,
    /// The table is full of live sessions and the policy refuses to evict.
    TableFull,
    /// The new session's translation clashes with an explicit rule.
    Conflict,
}

impl TranslateError {
    /// A short, stable, snake_case name, for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            TranslateError::Packet(p) => p.reason(),
            TranslateError::NoEntry => "no_entry",
            TranslateError::TtlExceeded => "ttl_exceeded",
            TranslateError::Filtered => "filtered",
            TranslateError::HostLimit => "host_limit",
            TranslateError::PortsExhausted => "ports_exhausted",
            TranslateError::SessionLimit => "mapping_session_limit",
            TranslateError::TableFull => "table_full",
            TranslateError::Conflict => "conflict",
        }
    }
}

impl From<PacketError> for TranslateError {
    fn from(e: PacketError) -> Self {
        TranslateError::Packet(e)
    }
}

impl From<WireError> for TranslateError {
    fn from(e: WireError) -> Self {
        TranslateError::Packet(PacketError::Malformed(e))
    }
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::Packet(p) => p.fmt(f),
            TranslateError::NoEntry => f.write_str("no translation entry for this flow"),
            TranslateError::TtlExceeded => f.write_str("TTL exceeded"),
            TranslateError::Filtered => f.write_str("refused by the mapping's filter"),
            TranslateError::HostLimit => f.write_str("the host holds its limit of mappings"),
            TranslateError::PortsExhausted => f.write_str("no external port is free"),
            TranslateError::SessionLimit => f.write_str("the mapping holds its limit of sessions"),
            TranslateError::TableFull => f.write_str("the session table is full"),
            TranslateError::Conflict => f.write_str("the new session clashes with a rule"),
        }
    }
}

impl core::error::Error for TranslateError {}

/// Why a packet can never be the template of a rule (the original's
/// `Cannot_NAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CannotNat {
    /// An address that is not unicast with global or organisation scope
    /// (see [`is_translatable`](crate::is_translatable)).
    Address(Ipv4Addr),
    /// ICMP errors are translated through existing rules, never start one.
    IcmpError,
    /// Only query *requests* (echo, timestamp, information) start ICMP rules.
    IcmpNotARequest,
    /// Redirect (destination NAT) is for TCP and UDP only.
    RedirectIcmp,
}

impl fmt::Display for CannotNat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CannotNat::Address(a) => write!(f, "address {a} cannot be translated"),
            CannotNat::IcmpError => f.write_str("ICMP errors cannot start a rule"),
            CannotNat::IcmpNotARequest => f.write_str("only ICMP query requests can start a rule"),
            CannotNat::RedirectIcmp => f.write_str("ICMP cannot be redirected"),
        }
    }
}

/// Why [`Nat::add`](crate::Nat::add) added no rule. The store is unchanged
/// whenever an error is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddError {
    /// The packet itself is unusable.
    Packet(PacketError),
    /// The packet may not start a rule.
    CannotNat(CannotNat),
    /// Every candidate port clashed with an existing entry, or the port
    /// generator ran out of candidates.
    Overlap,
    /// The table is full of live sessions and the policy refuses to evict.
    TableFull,
}

impl AddError {
    /// A short, stable, snake_case name, for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            AddError::Packet(p) => p.reason(),
            AddError::CannotNat(CannotNat::Address(_)) => "cannot_nat_address",
            AddError::CannotNat(CannotNat::IcmpError) => "cannot_nat_icmp_error",
            AddError::CannotNat(CannotNat::IcmpNotARequest) => "cannot_nat_icmp_not_request",
            AddError::CannotNat(CannotNat::RedirectIcmp) => "cannot_redirect_icmp",
            AddError::Overlap => "overlap",
            AddError::TableFull => "table_full",
        }
    }
}

impl From<PacketError> for AddError {
    fn from(e: PacketError) -> Self {
        AddError::Packet(e)
    }
}

impl From<WireError> for AddError {
    fn from(e: WireError) -> Self {
        AddError::Packet(PacketError::Malformed(e))
    }
}

impl From<CannotNat> for AddError {
    fn from(e: CannotNat) -> Self {
        AddError::CannotNat(e)
    }
}

impl fmt::Display for AddError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddError::Packet(p) => p.fmt(f),
            AddError::CannotNat(c) => write!(f, "cannot NAT: {c}"),
            AddError::Overlap => f.write_str("no free translation: every candidate overlaps"),
            AddError::TableFull => f.write_str("the session table is full"),
        }
    }
}

impl core::error::Error for AddError {}
