//! [`LruStore`]: per protocol, a least-recently-used list of sessions with
//! its own capacity (after the original's `Mirage_nat_lru`), and an index
//! from each session's reply key to the session.

use alloc::vec::Vec;
use core::fmt;

use hashbrown::HashMap;
use lru::LruCache;

use super::{Hit, InsertError, Store};
use crate::flow::{FlowKey, Protocol};
use crate::session::Session;

/// A table capacity of 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityError {
    /// The table whose capacity is wrong.
    pub protocol: Protocol,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} table capacity 0: it must hold at least one session",
            self.protocol
        )
    }
}

impl core::error::Error for CapacityError {}

struct Table {
    /// Sessions by key, least recently used last.
    sessions: LruCache<FlowKey, Session>,
    /// Reply key -> session key.
    replies: HashMap<FlowKey, FlowKey>,
    capacity: usize,
}

impl Table {
    fn new(protocol: Protocol, capacity: usize) -> Result<Table, CapacityError> {
        if capacity == 0 {
            return Err(CapacityError { protocol });
        }
        Ok(Table {
            sessions: LruCache::unbounded(),
            replies: HashMap::new(),
            capacity,
        })
    }

    /// The session (key) that `key` names, either way.
    fn owner(&self, key: &FlowKey) -> Option<FlowKey> {
        if self.sessions.contains(key) {
            Some(*key)
        } else {
            self.replies.get(key).copied()
        }
    }
}

/// A [`Store`] with one LRU table per protocol.
///
/// ```
/// use unat::{LruStore, Protocol, Store};
/// let store = LruStore::new(512, 512, 10)?;
/// assert_eq!(store.capacity(Protocol::Icmp), 10);
/// assert!(store.is_empty());
/// assert!(LruStore::new(512, 0, 10).is_err());
/// # Ok::<(), unat::store::CapacityError>(())
/// ```
pub struct LruStore {
    tables: [Table; 3],
}

impl fmt::Debug for LruStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LruStore")
            .field("tcp", &self.len(Protocol::Tcp))
            .field("udp", &self.len(Protocol::Udp))
            .field("icmp", &self.len(Protocol::Icmp))
            .finish()
    }
}

impl LruStore {
    /// A store holding at most `tcp`, `udp` and `icmp` sessions (each is
    /// one mirage-nat rule: two entries). Each capacity must be at least 1.
    pub fn new(tcp: usize, udp: usize, icmp: usize) -> Result<Self, CapacityError> {
        Ok(LruStore {
            tables: [
                Table::new(Protocol::Tcp, tcp)?,
                Table::new(Protocol::Udp, udp)?,
                Table::new(Protocol::Icmp, icmp)?,
            ],
        })
    }

    fn table(&self, proto: Protocol) -> &Table {
        let [tcp, udp, icmp] = &self.tables;
        match proto {
            Protocol::Tcp => tcp,
            Protocol::Udp => udp,
            Protocol::Icmp => icmp,
        }
    }

    fn table_mut(&mut self, proto: Protocol) -> &mut Table {
        let [tcp, udp, icmp] = &mut self.tables;
        match proto {
            Protocol::Tcp => tcp,
            Protocol::Udp => udp,
            Protocol::Icmp => icmp,
        }
    }
}

impl Store for LruStore {
    fn lookup(&mut self, proto: Protocol, key: &FlowKey) -> Option<(Hit, &mut Session)> {
        let t = self.table_mut(proto);
        let (hit, id) = if t.sessions.contains(key) {
            (Hit::Key, *key)
        } else {
            (Hit::Reply, *t.replies.get(key)?)
        };
        t.sessions.get_mut(&id).map(|s| (hit, s))
    }

    fn get(&self, proto: Protocol, id: &FlowKey) -> Option<&Session> {
        self.table(proto).sessions.peek(id)
    }

    fn get_mut(&mut self, proto: Protocol, id: &FlowKey) -> Option<&mut Session> {
        self.table_mut(proto).sessions.peek_mut(id)
    }

    fn insert(&mut self, proto: Protocol, session: Session) -> Result<(), InsertError> {
        let t = self.table_mut(proto);
        let (key, reply) = (session.key, session.reply_key());
        if let Some(existing) = t.sessions.peek(&key) {
            if existing.xl == session.xl {
                t.sessions.promote(&key);
                return Ok(());
            }
            return Err(InsertError::Overlap);
        }
        // Each key may name one session only, whichever way.
        if key == reply || t.replies.contains_key(&key) || t.owner(&reply).is_some() {
            return Err(InsertError::Overlap);
        }
        if t.sessions.len() >= t.capacity {
            return Err(InsertError::Full);
        }
        t.sessions.put(key, session);
        t.replies.insert(reply, key);
        Ok(())
    }

    fn remove(&mut self, proto: Protocol, id: &FlowKey) -> Option<Session> {
        let t = self.table_mut(proto);
        let s = t.sessions.pop(id)?;
        t.replies.remove(&s.reply_key());
        Some(s)
    }

    fn contains_key(&self, proto: Protocol, key: &FlowKey) -> bool {
        self.table(proto).owner(key).is_some()
    }

    fn for_least_recent(&self, proto: Protocol, n: usize, f: &mut dyn FnMut(&Session)) {
        for (_, s) in self.table(proto).sessions.iter().rev().take(n) {
            f(s);
        }
    }

    fn for_each(&self, f: &mut dyn FnMut(Protocol, &Session)) {
        for proto in Protocol::ALL {
            for (_, s) in self.table(proto).sessions.iter() {
                f(proto, s);
            }
        }
    }

    fn clear(&mut self) {
        for t in &mut self.tables {
            t.sessions.clear();
            t.replies.clear();
        }
    }

    fn len(&self, proto: Protocol) -> usize {
        self.table(proto).sessions.len()
    }

    fn capacity(&self, proto: Protocol) -> usize {
        self.table(proto).capacity
    }
}

impl LruStore {
    /// The keys of every session, per protocol (for tests and inspection).
    pub fn keys(&self, proto: Protocol) -> Vec<FlowKey> {
        self.table(proto).sessions.iter().map(|(k, _)| *k).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Endpoint;
    use crate::session::{Origin, SessionState, TcpTrack};
    use crate::time::Instant;
    use alloc::string::ToString;
    use core::net::Ipv4Addr;

    fn ep(a: [u8; 4], p: u16) -> Endpoint {
        Endpoint::new(Ipv4Addr::from(a), p)
    }

    /// A session for `inside -> remote` leaving as `public`.
    fn session(inside: Endpoint, remote: Endpoint, public: Endpoint) -> Session {
        Session {
            key: FlowKey::new(inside, remote),
            xl: FlowKey::new(public, remote),
            state: SessionState {
                origin: Origin::Rule,
                expires: Instant::NEVER,
                tcp: TcpTrack::default(),
                mapping: None,
                peer_mapping: None,
            },
        }
    }

    #[test]
    fn both_keys_find_the_session_and_inserts_are_all_or_nothing() {
        let mut s = LruStore::new(16, 16, 16).unwrap();
        let a = session(
            ep([10, 0, 0, 2], 1000),
            ep([1, 1, 1, 1], 80),
            ep([9, 9, 9, 9], 5000),
        );
        s.insert(Protocol::Tcp, a).unwrap();
        s.insert(Protocol::Tcp, a).unwrap(); // identical: accepted
        let found = |s: &mut LruStore, k| s.lookup(Protocol::Tcp, &k).map(|(h, x)| (h, x.key));
        assert_eq!(found(&mut s, a.key), Some((Hit::Key, a.key)));
        assert_eq!(found(&mut s, a.reply_key()), Some((Hit::Reply, a.key)));
        // Another inside host wanting the same public port: the reply key clashes.
        let b = session(
            ep([10, 0, 0, 3], 1000),
            ep([1, 1, 1, 1], 80),
            ep([9, 9, 9, 9], 5000),
        );
        assert_eq!(s.insert(Protocol::Tcp, b), Err(InsertError::Overlap));
        // The same key with another translation clashes too.
        let c = session(
            ep([10, 0, 0, 2], 1000),
            ep([1, 1, 1, 1], 80),
            ep([9, 9, 9, 9], 5001),
        );
        assert_eq!(s.insert(Protocol::Tcp, c), Err(InsertError::Overlap));
        assert_eq!(
            s.len(Protocol::Tcp),
            1,
            "failed inserts left nothing behind"
        );
        assert_eq!(s.len(Protocol::Udp), 0, "tables are separate");
        assert_eq!(s.remove(Protocol::Tcp, &a.key), Some(a));
        assert!(!s.contains_key(Protocol::Tcp, &a.reply_key()));
    }

    #[test]
    fn full_tables_refuse_and_report_least_recent_first() {
        let mut s = LruStore::new(2, 2, 2).unwrap();
        let remote = ep([1, 1, 1, 1], 80);
        let a = session(ep([10, 0, 0, 1], 1), remote, ep([9, 9, 9, 9], 101));
        let b = session(ep([10, 0, 0, 2], 2), remote, ep([9, 9, 9, 9], 102));
        let c = session(ep([10, 0, 0, 3], 3), remote, ep([9, 9, 9, 9], 103));
        s.insert(Protocol::Udp, a).unwrap();
        s.insert(Protocol::Udp, b).unwrap();
        assert_eq!(s.insert(Protocol::Udp, c), Err(InsertError::Full));
        // Use a: b is now the least recently used.
        s.lookup(Protocol::Udp, &a.reply_key()).unwrap();
        let mut order = alloc::vec::Vec::new();
        s.for_least_recent(Protocol::Udp, 5, &mut |x| order.push(x.key));
        assert_eq!(order, [b.key, a.key]);
    }

    #[test]
    fn capacity_zero_is_refused() {
        let e = LruStore::new(8, 8, 0).unwrap_err();
        assert_eq!(e.protocol, Protocol::Icmp);
        assert!(e.to_string().contains("icmp table capacity 0"));
    }
}
