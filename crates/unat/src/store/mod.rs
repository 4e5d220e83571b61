//! The store: where sessions live (the original's `TABLE`).
//!
//! A store holds one table per [`Protocol`]. Each [`Session`] is found by
//! either of its two keys: the flow as its first packet arrived
//! ([`Session::key`]), and the flow its replies arrive as
//! ([`Session::reply_key`]). That is mirage-nat's request/reply pair of
//! entries, inserted whole or not at all. The store has no policy: it
//! never evicts or expires on its own, and the engine ([`crate::Nat`])
//! decides what goes when a table is full. [`LruStore`] is the
//! implementation this crate ships.

mod lru;

pub use self::lru::{CapacityError, LruStore};

use core::fmt;

use crate::flow::{FlowKey, Protocol};
use crate::session::Session;

/// Which of a session's keys a packet matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hit {
    /// [`Session::key`]: the direction of the session's first packet.
    Key,
    /// [`Session::reply_key`]: the replies.
    Reply,
}

/// Why an insert failed; the store is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// One of the session's keys is already used by another session (or
    /// by the same key with another translation).
    Overlap,
    /// The protocol's table is at capacity.
    Full,
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertError::Overlap => {
                f.write_str("an entry for this flow already exists with another translation")
            }
            InsertError::Full => f.write_str("the table is full"),
        }
    }
}

impl core::error::Error for InsertError {}

/// A table of sessions, one per protocol, each reachable by both keys.
///
/// Sessions are named by their [`Session::key`].
pub trait Store {
    /// The session one of whose keys is `key`, and which key it is. A hit
    /// counts as a use (an LRU store moves the session to the front). The
    /// session's keys must not be changed through the reference.
    fn lookup(&mut self, proto: Protocol, key: &FlowKey) -> Option<(Hit, &mut Session)>;

    /// The session named `id`, without counting a use.
    fn get(&self, proto: Protocol, id: &FlowKey) -> Option<&Session>;

    /// The session named `id`, mutable, without counting a use. Its keys
    /// must not be changed.
    fn get_mut(&mut self, proto: Protocol, id: &FlowKey) -> Option<&mut Session>;

    /// Inserts a session, reachable by both its keys. Inserting a session
    /// whose key and translation are already there is a success that
    /// changes nothing but counts as a use.
    fn insert(&mut self, proto: Protocol, session: Session) -> Result<(), InsertError>;

    /// Removes and returns the session named `id`.
    fn remove(&mut self, proto: Protocol, id: &FlowKey) -> Option<Session>;

    /// Whether `key` is one of the keys of some session.
    fn contains_key(&self, proto: Protocol, key: &FlowKey) -> bool;

    /// Calls `f` with up to `n` sessions, least recently used first.
    fn for_least_recent(&self, proto: Protocol, n: usize, f: &mut dyn FnMut(&Session));

    /// Calls `f` with every session of every table.
    fn for_each(&self, f: &mut dyn FnMut(Protocol, &Session));

    /// Removes every session of every table.
    fn clear(&mut self);

    /// The number of sessions in one table.
    fn len(&self, proto: Protocol) -> usize;

    /// The most sessions one table holds.
    fn capacity(&self, proto: Protocol) -> usize;

    /// Whether every table is empty.
    fn is_empty(&self) -> bool {
        Protocol::ALL.iter().all(|p| self.len(*p) == 0)
    }
}

/// The translated ports (and ICMP identifiers) freed by
/// [`Nat::remove_connections`](crate::Nat::remove_connections), per protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FreedPorts {
    /// Freed TCP ports.
    pub tcp: alloc::vec::Vec<u16>,
    /// Freed UDP ports.
    pub udp: alloc::vec::Vec<u16>,
    /// Freed ICMP query identifiers.
    pub icmp: alloc::vec::Vec<u16>,
}

impl FreedPorts {
    /// The list for one protocol.
    pub fn get_mut(&mut self, proto: Protocol) -> &mut alloc::vec::Vec<u16> {
        match proto {
            Protocol::Tcp => &mut self.tcp,
            Protocol::Udp => &mut self.udp,
            Protocol::Icmp => &mut self.icmp,
        }
    }
}
