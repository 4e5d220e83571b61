//! [`LruStore`]: a least-recently-used cache per protocol, each with its own
//! capacity (the original's `Mirage_nat_lru`).
//!
//! When a table is full, inserting evicts the least recently used entry and
//! also its partner (the other direction of the same rule), so that a rule
//! never survives half-evicted.

use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;
use core::num::NonZeroUsize;

use lru::LruCache;

use super::{FreedPorts, Overlap, Store};
use crate::flow::{Endpoint, FlowKey, Protocol};

/// A table capacity was below 2 (one rule needs two entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityError {
    /// The table whose capacity is wrong.
    pub protocol: Protocol,
    /// The capacity asked for.
    pub capacity: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} table capacity {} is too small: a rule needs 2 entries",
            self.protocol, self.capacity
        )
    }
}

impl core::error::Error for CapacityError {}

/// A [`Store`] with one LRU cache per protocol.
///
/// ```
/// use unat::{LruStore, Store, Protocol};
/// let store = LruStore::new(1024, 1024, 20)?;
/// assert_eq!(store.capacity(Protocol::Icmp), 20);
/// assert!(store.is_empty());
/// assert!(LruStore::new(1024, 1, 20).is_err());
/// # Ok::<(), unat::store::CapacityError>(())
/// ```
pub struct LruStore {
    tables: [LruCache<FlowKey, FlowKey>; 3],
}

impl fmt::Debug for LruStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LruStore")
            .field("tcp", &self.tables[0].len())
            .field("udp", &self.tables[1].len())
            .field("icmp", &self.tables[2].len())
            .finish()
    }
}

fn index(proto: Protocol) -> usize {
    match proto {
        Protocol::Tcp => 0,
        Protocol::Udp => 1,
        Protocol::Icmp => 2,
    }
}

fn table(protocol: Protocol, capacity: usize) -> Result<LruCache<FlowKey, FlowKey>, CapacityError> {
    match NonZeroUsize::new(capacity) {
        Some(c) if capacity >= 2 => Ok(LruCache::new(c)),
        _ => Err(CapacityError { protocol, capacity }),
    }
}

impl LruStore {
    /// A store holding at most `tcp`, `udp` and `icmp` entries per table
    /// (two entries per rule). Each capacity must be at least 2.
    pub fn new(tcp: usize, udp: usize, icmp: usize) -> Result<Self, CapacityError> {
        Ok(LruStore {
            tables: [
                table(Protocol::Tcp, tcp)?,
                table(Protocol::Udp, udp)?,
                table(Protocol::Icmp, icmp)?,
            ],
        })
    }

    /// The capacity of one table, in entries.
    pub fn capacity(&self, proto: Protocol) -> usize {
        self.table(proto).cap().get()
    }

    fn table(&self, proto: Protocol) -> &LruCache<FlowKey, FlowKey> {
        // index() only returns 0, 1 or 2.
        let [tcp, udp, icmp] = &self.tables;
        match index(proto) {
            0 => tcp,
            1 => udp,
            _ => icmp,
        }
    }

    fn table_mut(&mut self, proto: Protocol) -> &mut LruCache<FlowKey, FlowKey> {
        let [tcp, udp, icmp] = &mut self.tables;
        match index(proto) {
            0 => tcp,
            1 => udp,
            _ => icmp,
        }
    }
}

/// The key of the other direction of the rule that maps `key` to `value`.
fn partner(value: &FlowKey) -> FlowKey {
    value.reversed()
}

impl Store for LruStore {
    fn lookup(&mut self, proto: Protocol, key: &FlowKey) -> Option<FlowKey> {
        self.table_mut(proto).get(key).copied()
    }

    fn insert(&mut self, proto: Protocol, entries: &[(FlowKey, FlowKey)]) -> Result<(), Overlap> {
        let t = self.table_mut(proto);
        for (i, (k, v)) in entries.iter().enumerate() {
            if t.peek(k).is_some_and(|old| old != v) {
                return Err(Overlap);
            }
            // Two entries of the batch with one key and different values.
            if entries
                .iter()
                .skip(i + 1)
                .any(|(k2, v2)| k2 == k && v2 != v)
            {
                return Err(Overlap);
            }
        }
        if entries.len() > t.cap().get() {
            return Err(Overlap);
        }
        for (k, v) in entries {
            if let Some((old_k, old_v)) = t.push(*k, *v) {
                if old_k == *k {
                    continue; // an update in place, not an eviction
                }
                // Evicted a whole-rule half: take its partner out too,
                // unless that partner is part of this very batch.
                let p = partner(&old_v);
                let in_batch = entries.iter().any(|(bk, _)| *bk == p);
                if !in_batch && t.peek(&p) == Some(&old_k.reversed()) {
                    t.pop(&p);
                }
            }
        }
        Ok(())
    }

    fn delete(&mut self, proto: Protocol, keys: &[FlowKey]) {
        let t = self.table_mut(proto);
        for k in keys {
            t.pop(k);
        }
    }

    fn reset(&mut self) {
        for t in &mut self.tables {
            t.clear();
        }
    }

    fn remove_connections(&mut self, addr: Ipv4Addr) -> FreedPorts {
        let mut freed = FreedPorts::default();
        for proto in Protocol::ALL {
            let t = self.table_mut(proto);
            let doomed: Vec<(FlowKey, FlowKey)> = t
                .iter()
                .filter(|(k, _)| k.src.addr == addr)
                .map(|(k, v)| (*k, *v))
                .collect();
            for (k, v) in doomed {
                if t.pop(&k).is_none() {
                    continue; // already gone as the partner of another
                }
                let p = partner(&v);
                if t.peek(&p) == Some(&k.reversed()) {
                    t.pop(&p);
                }
                freed.get_mut(proto).push(v.src.port);
            }
        }
        freed
    }

    fn is_port_free(
        &self,
        proto: Protocol,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        src_port: u16,
        dst_port: u16,
    ) -> bool {
        let key = FlowKey::new(Endpoint::new(src, src_port), Endpoint::new(dst, dst_port));
        !self.table(proto).contains(&key)
    }

    fn len(&self, proto: Protocol) -> usize {
        self.table(proto).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn ep(a: [u8; 4], p: u16) -> Endpoint {
        Endpoint::new(Ipv4Addr::from(a), p)
    }

    /// A NAT rule for `inside -> remote` leaving as `public`.
    fn rule(inside: Endpoint, remote: Endpoint, public: Endpoint) -> [(FlowKey, FlowKey); 2] {
        [
            (FlowKey::new(inside, remote), FlowKey::new(public, remote)),
            (FlowKey::new(remote, public), FlowKey::new(remote, inside)),
        ]
    }

    #[test]
    fn insert_is_all_or_nothing() {
        let mut s = LruStore::new(16, 16, 16).unwrap();
        let r = rule(
            ep([10, 0, 0, 2], 1000),
            ep([1, 1, 1, 1], 80),
            ep([9, 9, 9, 9], 5000),
        );
        s.insert(Protocol::Tcp, &r).unwrap();
        s.insert(Protocol::Tcp, &r).unwrap(); // identical: accepted
                                              // Another inside host wanting the same public port: the reply key clashes.
        let r2 = rule(
            ep([10, 0, 0, 3], 1000),
            ep([1, 1, 1, 1], 80),
            ep([9, 9, 9, 9], 5000),
        );
        assert_eq!(s.insert(Protocol::Tcp, &r2), Err(Overlap));
        assert_eq!(
            s.len(Protocol::Tcp),
            2,
            "the failed insert left nothing behind"
        );
        assert_eq!(s.len(Protocol::Udp), 0, "tables are separate");
    }

    #[test]
    fn eviction_takes_whole_rules_least_recently_used_first() {
        let mut s = LruStore::new(4, 4, 4).unwrap();
        let remote = ep([1, 1, 1, 1], 80);
        let a = rule(ep([10, 0, 0, 1], 1), remote, ep([9, 9, 9, 9], 101));
        let b = rule(ep([10, 0, 0, 2], 2), remote, ep([9, 9, 9, 9], 102));
        let c = rule(ep([10, 0, 0, 3], 3), remote, ep([9, 9, 9, 9], 103));
        s.insert(Protocol::Udp, &a).unwrap();
        s.insert(Protocol::Udp, &b).unwrap();
        // Use a's reply entry, so b is now the least recently used rule.
        assert!(s.lookup(Protocol::Udp, &a[1].0).is_some());
        assert!(s.lookup(Protocol::Udp, &a[0].0).is_some());
        s.insert(Protocol::Udp, &c).unwrap();
        assert_eq!(s.len(Protocol::Udp), 4);
        assert!(s.lookup(Protocol::Udp, &b[0].0).is_none());
        assert!(
            s.lookup(Protocol::Udp, &b[1].0).is_none(),
            "no half rule left"
        );
        assert!(s.lookup(Protocol::Udp, &a[0].0).is_some());
        assert!(s.lookup(Protocol::Udp, &c[1].0).is_some());
    }

    #[test]
    fn remove_connections_frees_ports_of_one_host() {
        let mut s = LruStore::new(64, 64, 64).unwrap();
        let remote = ep([1, 1, 1, 1], 80);
        for i in 0..5u16 {
            let r = rule(
                ep([10, 0, 0, 7], 1000 + i),
                remote,
                ep([9, 9, 9, 9], 2000 + i),
            );
            s.insert(Protocol::Tcp, &r).unwrap();
        }
        let other = rule(ep([10, 0, 0, 8], 1000), remote, ep([9, 9, 9, 9], 3000));
        s.insert(Protocol::Tcp, &other).unwrap();
        let mut freed = s.remove_connections(Ipv4Addr::new(10, 0, 0, 7));
        freed.tcp.sort_unstable();
        assert_eq!(freed.tcp, [2000, 2001, 2002, 2003, 2004]);
        assert_eq!(s.len(Protocol::Tcp), 2);
        assert!(s.lookup(Protocol::Tcp, &other[1].0).is_some());
    }

    #[test]
    fn capacity_below_two_is_refused() {
        let e = LruStore::new(8, 8, 1).unwrap_err();
        assert_eq!(e.protocol, Protocol::Icmp);
        assert!(e.to_string().contains("icmp table capacity 1"));
    }
}
