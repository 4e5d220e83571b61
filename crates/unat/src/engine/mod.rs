//! The translation engine: [`Nat`], generic over a [`Store`].
//!
//! A packet takes one path: it is checked and classified
//! ([`classify`]), its flow is looked up, and it is rewritten in place
//! ([`rewrite`], or [`icmp_error`] for ICMP errors). Nothing allocates
//! on that path. Rules come from [`Nat::add`] ([`rule`]).

mod classify;
mod error;
mod icmp_error;
mod rewrite;
mod rule;

pub use self::error::{AddError, CannotNat, PacketError, TranslateError};
pub use self::rule::{is_translatable, Mode};

use core::net::Ipv4Addr;

use self::classify::{classify, Classified};
use crate::flow::{Endpoint, Protocol};
use crate::store::{FreedPorts, Store};
use crate::wire::ipv4::Ipv4Packet;

/// How many candidate ports [`Nat::add`] tries before giving up.
pub const PORT_ATTEMPTS: usize = 100;

/// What [`Nat::translate`] did to a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The table that matched: for an ICMP error, `Icmp` (the quoted
    /// packet's protocol may differ).
    pub protocol: Protocol,
    /// The packet's source address after translation.
    pub src: Ipv4Addr,
    /// The packet's destination address after translation: where to route it.
    pub dst: Ipv4Addr,
    /// Whether the packet was an ICMP error translated through its quote.
    pub is_icmp_error: bool,
}

/// A NAT: rules in a store, and the packet translation that uses them.
///
/// The engine does no I/O and keeps no clock: the caller hands it packets
/// (IPv4, starting at the IP header) and sends what comes back.
#[derive(Debug)]
pub struct Nat<S> {
    store: S,
}

impl<S: Store> Nat<S> {
    /// A NAT over `store`.
    pub fn new(store: S) -> Self {
        Nat { store }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutable (to delete entries by hand, for instance).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Adds the rule that `packet` starts, as `mode` says, translating its
    /// source to `xl_host` and a port (or ICMP identifier) from `ports`.
    ///
    /// `ports` is asked for a candidate each time the previous one
    /// overlaps an existing entry, at most [`PORT_ATTEMPTS`] times; when it
    /// returns `None` the add fails with [`AddError::Overlap`]. Port 0 is
    /// never used for TCP or UDP. Adding the same rule again succeeds and
    /// counts as a use. Returns the translated endpoint.
    ///
    /// Refused ([`AddError::CannotNat`]) when the packet's source or
    /// destination, `xl_host` or the redirect target is not a translatable
    /// address ([`is_translatable`]), for ICMP errors and query replies,
    /// and for Redirect of ICMP.
    pub fn add(
        &mut self,
        packet: &[u8],
        xl_host: Ipv4Addr,
        mut ports: impl FnMut() -> Option<u16>,
        mode: Mode,
    ) -> Result<Endpoint, AddError> {
        let ip = Ipv4Packet::new_checked(packet)?;
        let (proto, key) = match classify(&ip)? {
            Classified::IcmpError => return Err(CannotNat::IcmpError.into()),
            Classified::Flow {
                proto: Protocol::Icmp,
                icmp_request: false,
                ..
            } => return Err(CannotNat::IcmpNotARequest.into()),
            Classified::Flow { proto, key, .. } => (proto, key),
        };
        if let (Protocol::Icmp, Mode::Redirect { .. }) = (proto, mode) {
            return Err(CannotNat::RedirectIcmp.into());
        }
        rule::check_address(key.src.addr)?;
        rule::check_address(key.dst.addr)?;
        rule::check_address(xl_host)?;
        if let Mode::Redirect { target } = mode {
            rule::check_address(target.addr)?;
        }
        for _ in 0..PORT_ATTEMPTS {
            let port = ports().ok_or(AddError::Overlap)?;
            if port == 0 && proto != Protocol::Icmp {
                continue;
            }
            let xl = Endpoint::new(xl_host, port);
            let pair = rule::entries(proto, &key, xl, mode);
            if self.store.insert(proto, &pair).is_ok() {
                return Ok(xl);
            }
        }
        Err(AddError::Overlap)
    }

    /// Translates `packet` in place if a rule matches it.
    ///
    /// `packet` starts at the IPv4 header; bytes after its total length are
    /// ignored. On success the addresses, ports or ICMP identifier are
    /// rewritten, the TTL is one less, and every checksum is updated
    /// incrementally (a UDP checksum of 0 stays 0). ICMP errors are
    /// translated through the packet they quote. On error the buffer is
    /// unchanged.
    pub fn translate(&mut self, packet: &mut [u8]) -> Result<Translation, TranslateError> {
        let ip = Ipv4Packet::new_checked(&*packet)?;
        match classify(&ip)? {
            Classified::IcmpError => icmp_error::translate(&mut self.store, packet),
            Classified::Flow { proto, key, .. } => {
                let new = self
                    .store
                    .lookup(proto, &key)
                    .ok_or(TranslateError::NoEntry)?;
                if ip.ttl() <= 1 {
                    return Err(TranslateError::TtlExceeded);
                }
                rewrite::rewrite_flow(packet, proto, &key, &new)?;
                Ok(Translation {
                    protocol: proto,
                    src: new.src.addr,
                    dst: new.dst.addr,
                    is_icmp_error: false,
                })
            }
        }
    }

    /// Removes every rule started by `addr` and returns the translated
    /// ports they held (for instance when a client goes away).
    pub fn remove_connections(&mut self, addr: Ipv4Addr) -> FreedPorts {
        self.store.remove_connections(addr)
    }

    /// Whether the store has no entry `src:src_port -> dst:dst_port`.
    pub fn is_port_free(
        &self,
        proto: Protocol,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        src_port: u16,
        dst_port: u16,
    ) -> bool {
        self.store.is_port_free(proto, src, dst, src_port, dst_port)
    }

    /// Removes every rule.
    pub fn reset(&mut self) {
        self.store.reset();
    }
}
