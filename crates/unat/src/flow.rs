//! Flows as the NAT tables see them: protocols, endpoints and keys.

use core::fmt;
use core::net::Ipv4Addr;

use crate::wire::ipv4::{PROTO_ICMP, PROTO_TCP, PROTO_UDP};

/// The protocols the NAT keeps a table for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP, keyed by addresses and ports.
    Tcp,
    /// UDP, keyed by addresses and ports.
    Udp,
    /// ICMP query messages, keyed by addresses and query identifier.
    Icmp,
}

impl Protocol {
    /// All protocols, in table order.
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Icmp];

    /// The protocol for an IP protocol number, if the NAT handles it.
    pub fn from_ip_protocol(p: u8) -> Option<Protocol> {
        match p {
            PROTO_TCP => Some(Protocol::Tcp),
            PROTO_UDP => Some(Protocol::Udp),
            PROTO_ICMP => Some(Protocol::Icmp),
            _ => None,
        }
    }

    /// The IP protocol number.
    pub fn ip_protocol(self) -> u8 {
        match self {
            Protocol::Tcp => PROTO_TCP,
            Protocol::Udp => PROTO_UDP,
            Protocol::Icmp => PROTO_ICMP,
        }
    }

    /// Lower-case name: `tcp`, `udp` or `icmp`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An address and a port (for ICMP queries, the query identifier).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IPv4 address.
    pub addr: Ipv4Addr,
    /// TCP/UDP port, or ICMP query identifier.
    pub port: u16,
}

impl Endpoint {
    /// Makes an endpoint.
    pub const fn new(addr: Ipv4Addr, port: u16) -> Self {
        Endpoint { addr, port }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.addr, self.port)
    }
}

/// The key of a table entry: one direction of a flow, source to destination.
///
/// ICMP query flows have no ports; their key carries the query identifier
/// as the port of *both* endpoints, so that a request `A -> R (id x)` and
/// its reply `R -> A (id x)` are each other's [`reversed`](FlowKey::reversed)
/// key, exactly like TCP and UDP flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// Where the packet comes from.
    pub src: Endpoint,
    /// Where the packet goes.
    pub dst: Endpoint,
}

impl FlowKey {
    /// A TCP or UDP key.
    pub const fn new(src: Endpoint, dst: Endpoint) -> Self {
        FlowKey { src, dst }
    }

    /// An ICMP query key: the identifier stands in both endpoints.
    pub const fn icmp(src: Ipv4Addr, dst: Ipv4Addr, id: u16) -> Self {
        FlowKey {
            src: Endpoint::new(src, id),
            dst: Endpoint::new(dst, id),
        }
    }

    /// The same flow seen in the other direction.
    pub const fn reversed(&self) -> Self {
        FlowKey {
            src: self.dst,
            dst: self.src,
        }
    }
}

impl fmt::Display for FlowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.src, self.dst)
    }
}
