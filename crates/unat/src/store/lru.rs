//! [`LruStore`]: per protocol, sessions in a least-recently-used list with
//! its own capacity (after the original's `Mirage_nat_lru`), and one hash
//! index from both keys of every session to its place: one lookup per
//! packet, either way, and O(1) recency updates.

use alloc::vec::Vec;
use core::fmt;

use hashbrown::HashMap;

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

/// No node: the end of the list.
const NIL: u32 = u32::MAX;

/// A session and its place in the recency list.
struct Node {
    session: Session,
    /// The next more recently used node.
    newer: u32,
    /// The next less recently used node.
    older: u32,
}

/// One protocol's sessions: a slab of nodes in a doubly linked recency
/// list, and one index from *both* keys of every session to its node, so
/// that a packet either way costs one hash lookup.
struct Table {
    nodes: Vec<Option<Node>>,
    free: Vec<u32>,
    index: HashMap<FlowKey, (u32, Hit)>,
    /// Most recently used.
    newest: u32,
    /// Least recently used.
    oldest: u32,
    len: usize,
    capacity: usize,
}

impl Table {
    fn new(protocol: Protocol, capacity: usize) -> Result<Table, CapacityError> {
        if capacity == 0 || u32::try_from(capacity).is_err() {
            return Err(CapacityError { protocol });
        }
        Ok(Table {
            nodes: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            newest: NIL,
            oldest: NIL,
            len: 0,
            capacity,
        })
    }

    fn node(&self, slot: u32) -> Option<&Node> {
        self.nodes.get(slot as usize)?.as_ref()
    }

    fn node_mut(&mut self, slot: u32) -> Option<&mut Node> {
        self.nodes.get_mut(slot as usize)?.as_mut()
    }

    /// Takes `slot` out of the recency list.
    fn unlink(&mut self, slot: u32) {
        let Some((newer, older)) = self.node(slot).map(|n| (n.newer, n.older)) else {
            return;
        };
        match self.node_mut(newer) {
            Some(n) => n.older = older,
            None => self.newest = older,
        }
        match self.node_mut(older) {
            Some(n) => n.newer = newer,
            None => self.oldest = newer,
        }
    }

    /// Puts `slot` at the most recent end of the list.
    fn push_newest(&mut self, slot: u32) {
        let old_newest = self.newest;
        if let Some(n) = self.node_mut(slot) {
            n.newer = NIL;
            n.older = old_newest;
        }
        match self.node_mut(old_newest) {
            Some(n) => n.newer = slot,
            None => self.oldest = slot,
        }
        self.newest = slot;
    }

    fn promote(&mut self, slot: u32) {
        if self.newest != slot {
            self.unlink(slot);
            self.push_newest(slot);
        }
    }

    /// The node of the session named by its key `id`.
    fn slot_of(&self, id: &FlowKey) -> Option<u32> {
        match self.index.get(id) {
            Some((slot, Hit::Key)) => Some(*slot),
            _ => None,
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
        let (slot, hit) = *t.index.get(key)?;
        t.promote(slot);
        t.node_mut(slot).map(|n| (hit, &mut n.session))
    }

    fn get(&self, proto: Protocol, id: &FlowKey) -> Option<&Session> {
        let t = self.table(proto);
        t.node(t.slot_of(id)?).map(|n| &n.session)
    }

    fn get_mut(&mut self, proto: Protocol, id: &FlowKey) -> Option<&mut Session> {
        let t = self.table_mut(proto);
        let slot = t.slot_of(id)?;
        t.node_mut(slot).map(|n| &mut n.session)
    }

    fn insert(&mut self, proto: Protocol, session: Session) -> Result<(), InsertError> {
        let t = self.table_mut(proto);
        let (key, reply) = (session.key, session.reply_key());
        if let Some(slot) = t.slot_of(&key) {
            if t.node(slot).is_some_and(|n| n.session.xl == session.xl) {
                t.promote(slot);
                return Ok(());
            }
            return Err(InsertError::Overlap);
        }
        // Each key may name one session only, whichever way.
        if key == reply || t.index.contains_key(&key) || t.index.contains_key(&reply) {
            return Err(InsertError::Overlap);
        }
        if t.len >= t.capacity {
            return Err(InsertError::Full);
        }
        let node = Some(Node {
            session,
            newer: NIL,
            older: NIL,
        });
        let slot = match t.free.pop() {
            Some(slot) => {
                if let Some(place) = t.nodes.get_mut(slot as usize) {
                    *place = node;
                }
                slot
            }
            None => {
                // capacity fits in u32 (checked in Table::new) and len < capacity.
                let slot = u32::try_from(t.nodes.len()).map_err(|_| InsertError::Full)?;
                t.nodes.push(node);
                slot
            }
        };
        t.push_newest(slot);
        t.index.insert(key, (slot, Hit::Key));
        t.index.insert(reply, (slot, Hit::Reply));
        t.len += 1;
        Ok(())
    }

    fn remove(&mut self, proto: Protocol, id: &FlowKey) -> Option<Session> {
        let t = self.table_mut(proto);
        let slot = t.slot_of(id)?;
        t.unlink(slot);
        let node = t.nodes.get_mut(slot as usize)?.take()?;
        t.index.remove(&node.session.key);
        t.index.remove(&node.session.reply_key());
        t.free.push(slot);
        t.len -= 1;
        Some(node.session)
    }

    fn contains_key(&self, proto: Protocol, key: &FlowKey) -> bool {
        self.table(proto).index.contains_key(key)
    }

    fn for_least_recent(&self, proto: Protocol, n: usize, f: &mut dyn FnMut(&Session)) {
        let t = self.table(proto);
        let mut slot = t.oldest;
        for _ in 0..n {
            let Some(node) = t.node(slot) else { break };
            f(&node.session);
            slot = node.newer;
        }
    }

    fn for_each(&self, f: &mut dyn FnMut(Protocol, &Session)) {
        for proto in Protocol::ALL {
            for node in self.table(proto).nodes.iter().flatten() {
                f(proto, &node.session);
            }
        }
    }

    fn clear(&mut self) {
        for t in &mut self.tables {
            t.nodes.clear();
            t.free.clear();
            t.index.clear();
            t.newest = NIL;
            t.oldest = NIL;
            t.len = 0;
        }
    }

    fn len(&self, proto: Protocol) -> usize {
        self.table(proto).len
    }

    fn capacity(&self, proto: Protocol) -> usize {
        self.table(proto).capacity
    }
}

impl LruStore {
    /// The keys of every session, per protocol (for tests and inspection).
    pub fn keys(&self, proto: Protocol) -> Vec<FlowKey> {
        let mut keys = Vec::new();
        self.for_least_recent(proto, usize::MAX, &mut |s| keys.push(s.key));
        keys
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

    /// Random inserts, lookups and removals against a plain model: the
    /// recency order, the sizes and both indexes always agree with it.
    #[test]
    fn matches_a_model_under_random_operations() {
        let mut s = LruStore::new(32, 1, 1).unwrap();
        let mut model: alloc::vec::Vec<Session> = alloc::vec::Vec::new(); // oldest first
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let remote = ep([1, 1, 1, 1], 80);
        for _ in 0..20_000 {
            let i = (next() % 48) as u16;
            let sess = session(
                ep([10, 0, 0, 1], 1000 + i),
                remote,
                ep([9, 9, 9, 9], 5000 + i),
            );
            match next() % 3 {
                0 => {
                    let r = s.insert(Protocol::Tcp, sess);
                    if let Some(pos) = model.iter().position(|m| m.key == sess.key) {
                        assert_eq!(r, Ok(()));
                        let m = model.remove(pos);
                        model.push(m);
                    } else if model.len() >= 32 {
                        assert_eq!(r, Err(InsertError::Full));
                    } else {
                        assert_eq!(r, Ok(()));
                        model.push(sess);
                    }
                }
                1 => {
                    let k = if next() % 2 == 0 {
                        sess.key
                    } else {
                        sess.reply_key()
                    };
                    let got = s.lookup(Protocol::Tcp, &k).map(|(_, x)| x.key);
                    match model.iter().position(|m| m.key == sess.key) {
                        Some(pos) => {
                            assert_eq!(got, Some(sess.key));
                            let m = model.remove(pos);
                            model.push(m);
                        }
                        None => assert_eq!(got, None),
                    }
                }
                _ => {
                    let got = s.remove(Protocol::Tcp, &sess.key);
                    let pos = model.iter().position(|m| m.key == sess.key);
                    assert_eq!(got.is_some(), pos.is_some());
                    if let Some(pos) = pos {
                        model.remove(pos);
                    }
                    assert!(!s.contains_key(Protocol::Tcp, &sess.reply_key()) || pos.is_none());
                }
            }
            assert_eq!(s.len(Protocol::Tcp), model.len());
        }
        let keys: alloc::vec::Vec<FlowKey> = model.iter().map(|m| m.key).collect();
        assert_eq!(s.keys(Protocol::Tcp), keys);
    }

    #[test]
    fn capacity_zero_is_refused() {
        let e = LruStore::new(8, 8, 0).unwrap_err();
        assert_eq!(e.protocol, Protocol::Icmp);
        assert!(e.to_string().contains("icmp table capacity 0"));
    }
}
