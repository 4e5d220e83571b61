//! The store: where translation entries live (the original's `TABLE`).
//!
//! A store holds one table per [`Protocol`]. Each entry maps the
//! [`FlowKey`] of a packet as it arrives to the key it has once translated.
//! A NAT rule is always a *pair* of entries, one per direction, and goes in
//! whole or not at all. The engine ([`crate::Nat`]) is generic over this
//! trait; [`LruStore`] is the implementation this crate ships.

mod lru;

pub use self::lru::{CapacityError, LruStore};

use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;

use crate::flow::{FlowKey, Protocol};

/// An insert clashed with an entry already in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overlap;

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an entry for this flow already exists with another translation")
    }
}

impl core::error::Error for Overlap {}

/// The translated ports (and ICMP identifiers) freed by
/// [`Store::remove_connections`], per protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FreedPorts {
    /// Freed TCP ports.
    pub tcp: Vec<u16>,
    /// Freed UDP ports.
    pub udp: Vec<u16>,
    /// Freed ICMP query identifiers.
    pub icmp: Vec<u16>,
}

impl FreedPorts {
    /// The list for one protocol.
    pub fn get_mut(&mut self, proto: Protocol) -> &mut Vec<u16> {
        match proto {
            Protocol::Tcp => &mut self.tcp,
            Protocol::Udp => &mut self.udp,
            Protocol::Icmp => &mut self.icmp,
        }
    }
}

/// A table of translations, one sub-table per protocol.
pub trait Store {
    /// The translation for `key`, if any. A hit counts as a use (an LRU
    /// store moves the entry to the front).
    fn lookup(&mut self, proto: Protocol, key: &FlowKey) -> Option<FlowKey>;

    /// Inserts all `entries` (key, translation) together, or none of them:
    /// if any key is already present with a *different* translation the
    /// store is left unchanged and [`Overlap`] is returned. Re-inserting
    /// identical entries succeeds and counts as a use.
    fn insert(&mut self, proto: Protocol, entries: &[(FlowKey, FlowKey)]) -> Result<(), Overlap>;

    /// Removes the entries with these keys (absent keys are ignored).
    fn delete(&mut self, proto: Protocol, keys: &[FlowKey]);

    /// Removes every entry of every table.
    fn reset(&mut self);

    /// Removes every rule whose request came from `addr` (both entries of
    /// each pair) and returns the translated ports they held.
    fn remove_connections(&mut self, addr: Ipv4Addr) -> FreedPorts;

    /// Whether no entry has the key `src:src_port -> dst:dst_port`, i.e. a
    /// rule whose reply would use that key can be added. Not a use.
    fn is_port_free(
        &self,
        proto: Protocol,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        src_port: u16,
        dst_port: u16,
    ) -> bool;

    /// The number of entries in one table.
    fn len(&self, proto: Protocol) -> usize;

    /// Whether every table is empty.
    fn is_empty(&self) -> bool {
        Protocol::ALL.iter().all(|p| self.len(*p) == 0)
    }
}
