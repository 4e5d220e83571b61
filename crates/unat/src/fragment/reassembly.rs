//! Reassembly of IPv4 fragments into whole datagrams, under memory limits
//! (RFC 791 §3.2, RFC 4787 REQ-14/14a, RFC 1858 and RFC 3128).
//!
//! [`Reassembler`] owns the datagrams in progress: it keys fragments by
//! (source, destination, protocol, identification), accepts them in any
//! order, ignores exact duplicates, refuses the fragment attacks of RFC 1858
//! and RFC 3128 (tiny first fragments, overlaps that rewrite data), and
//! holds no more than [`Limits`] allow, for no longer than the timeout.
//!
//! # Limits and who gets dropped
//! Memory is counted in [`bytes_in_flight`](Reassembler::bytes_in_flight):
//! the payload bytes stored, plus [`PIECE_OVERHEAD`] for every stored
//! piece (so that floods of tiny fragments are charged for the bookkeeping
//! they cause), plus the first fragment's header. The table of datagrams
//! and its time queue hold O([`Limits::max_datagrams`]) small entries on
//! top of that.
//!
//! When a fragment needs room (a new datagram beyond
//! [`Limits::max_datagrams`], or bytes beyond [`Limits::max_bytes`]), the
//! **oldest** datagram in progress is evicted, then the next oldest, until
//! it fits. Refusing new datagrams instead would let anyone who sends
//! `max_datagrams / timeout` never-completed chains a second (about 35 a
//! second with the defaults) block all reassembly; with eviction a real
//! datagram, whose fragments arrive within milliseconds of each other, is
//! lost only if `max_datagrams` new chains arrive in between. Evictions are
//! counted in [`ReassemblyStats::evicted`]. One source can hold at most
//! [`Limits::max_datagrams_per_source`] datagrams; beyond that its new
//! datagrams are refused ([`ReassemblyError::SourceLimit`]), so that a
//! flood from one address cannot evict everybody else's.
//!
//! # Time
//! A datagram expires [`Limits::timeout`] after its first fragment arrived,
//! however many more arrive. [`Reassembler::push`] expires a few of the
//! oldest datagrams each call (bounded work) and any stale one it is given
//! a fragment for; [`Reassembler::expire`] expires them all.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;
use core::time::Duration;

use hashbrown::HashMap;

use crate::time::Instant;
use crate::wire::ipv4::{Ipv4Packet, MIN_HEADER_LEN, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use crate::wire::{checksum, get_u16, put_u16, WireError};

/// Bytes charged for each stored piece of a datagram on top of its payload:
/// the allocation and the map entry that hold it.
pub const PIECE_OVERHEAD: usize = 64;

/// Datagrams [`Reassembler::push`] may expire on each call.
const EXPIRE_BUDGET: usize = 8;
/// The largest IPv4 datagram.
const MAX_IPV4_LEN: usize = 65_535;

const TOTAL_LEN: usize = 2;
const FLAGS_FRAG: usize = 6;
const CHECKSUM: usize = 10;
/// The flags a reassembled datagram keeps: reserved and Don't Fragment.
const KEPT_FLAGS: u16 = 0xc000;

/// How much a [`Reassembler`] may hold, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Datagrams in progress at once. Default 1024.
    pub max_datagrams: usize,
    /// Datagrams in progress from one source address. Default 256.
    pub max_datagrams_per_source: usize,
    /// Bytes held (see [`Reassembler::bytes_in_flight`]). Default 1 MiB.
    pub max_bytes: usize,
    /// How long a datagram may take to complete, from its first fragment.
    /// Default 30 s, as RFC 791's suggested initial timer and Linux's
    /// `ipfrag_time`; RFC 6146 puts the NAT64 floor at 2 s.
    pub timeout: Duration,
    /// The longest datagram to rebuild, header included. Default (and
    /// upper bound) 65,535, the most the total length field can say.
    pub max_datagram_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_datagrams: 1024,
            max_datagrams_per_source: 256,
            max_bytes: 1 << 20,
            timeout: Duration::from_secs(30),
            max_datagram_len: MAX_IPV4_LEN,
        }
    }
}

/// Counters of what happened to datagrams, other than the errors
/// [`Reassembler::push`] returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Datagrams rebuilt and returned.
    pub completed: u64,
    /// Datagrams dropped because they did not complete within the timeout.
    pub expired: u64,
    /// Datagrams dropped to make room for another fragment.
    pub evicted: u64,
}

/// Why a fragment was not taken. Unless a variant says the datagram is
/// dropped, only this fragment is refused and the datagram it belongs to
/// (if any) stays in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReassemblyError {
    /// Not a whole IPv4 packet, or its header checksum is wrong.
    Malformed(WireError),
    /// Neither More Fragments nor an offset: a whole datagram, which the
    /// caller should handle without the reassembler.
    NotFragment,
    /// A fragment other than the last whose payload is empty or not a
    /// multiple of 8 bytes.
    BadLength,
    /// A first fragment too short to hold the whole TCP (20 bytes), UDP
    /// (8) or ICMP (8) header (RFC 1858 §3, the tiny fragment attack).
    TinyFirstFragment,
    /// The fragment overlaps bytes already received with different data
    /// (RFC 1858 §4, RFC 3128, the teardrop and overlapping fragment
    /// attacks). The whole datagram is dropped.
    Overlap,
    /// The datagram would be longer than [`Limits::max_datagram_len`]
    /// (65,535 at most). The whole datagram is dropped.
    TooLong,
    /// The fragment reaches past the end that the last fragment set, or is
    /// a last fragment that ends before data already received or sets a
    /// different end. The whole datagram is dropped.
    PastEnd,
    /// The source already has [`Limits::max_datagrams_per_source`]
    /// datagrams in progress; a new one is refused.
    SourceLimit,
    /// Evicting every other datagram would still not make room (the
    /// limits are zero or smaller than this one datagram). The datagram
    /// is dropped.
    NoRoom,
}

impl ReassemblyError {
    /// A short, stable, snake_case name, for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            ReassemblyError::Malformed(w) => w.reason(),
            ReassemblyError::NotFragment => "not_a_fragment",
            ReassemblyError::BadLength => "fragment_bad_length",
            ReassemblyError::TinyFirstFragment => "tiny_first_fragment",
            ReassemblyError::Overlap => "fragment_overlap",
            ReassemblyError::TooLong => "fragment_datagram_too_long",
            ReassemblyError::PastEnd => "fragment_past_end",
            ReassemblyError::SourceLimit => "fragment_source_limit",
            ReassemblyError::NoRoom => "fragment_no_room",
        }
    }
}

impl From<WireError> for ReassemblyError {
    fn from(e: WireError) -> Self {
        ReassemblyError::Malformed(e)
    }
}

impl fmt::Display for ReassemblyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReassemblyError::Malformed(w) => write!(f, "malformed fragment: {w}"),
            ReassemblyError::NotFragment => f.write_str("not a fragment"),
            ReassemblyError::BadLength => {
                f.write_str("non-last fragment empty or not a multiple of 8 bytes")
            }
            ReassemblyError::TinyFirstFragment => {
                f.write_str("first fragment does not hold the whole transport header")
            }
            ReassemblyError::Overlap => f.write_str("fragments overlap with different data"),
            ReassemblyError::TooLong => f.write_str("reassembled datagram would be too long"),
            ReassemblyError::PastEnd => {
                f.write_str("fragment inconsistent with the datagram's last fragment")
            }
            ReassemblyError::SourceLimit => {
                f.write_str("too many datagrams in reassembly from this source")
            }
            ReassemblyError::NoRoom => f.write_str("no room to reassemble this datagram"),
        }
    }
}

impl core::error::Error for ReassemblyError {}

/// What identifies a datagram's fragments (RFC 791 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    id: u16,
}

/// One datagram in progress.
struct Datagram {
    /// When its first fragment (in time, not in offset) arrived.
    created: Instant,
    /// Tells this datagram from an earlier one with the same key, for the
    /// entries of the time queue.
    generation: u64,
    /// The header of the offset-0 fragment; empty until it arrives.
    header: Vec<u8>,
    /// Received payload by offset: sorted, never overlapping.
    pieces: BTreeMap<usize, Vec<u8>>,
    /// The payload length, once the last fragment has said it.
    end: Option<usize>,
    /// Payload bytes in `pieces`.
    received: usize,
    /// What this datagram is charged in [`Reassembler::bytes_in_flight`].
    bytes: usize,
}

impl Datagram {
    /// The end of the furthest piece received.
    fn furthest(&self) -> usize {
        self.pieces
            .last_key_value()
            .map_or(0, |(start, data)| start + data.len())
    }
}

/// Rebuilds IPv4 datagrams from their fragments, within [`Limits`].
///
/// Feed it every fragment (any packet with More Fragments set or a
/// non-zero offset) with the current time; it returns each datagram once
/// its last missing fragment arrives. See the [module](self) for the
/// policy when limits are reached.
pub struct Reassembler {
    limits: Limits,
    datagrams: HashMap<Key, Datagram>,
    /// Datagrams in progress per source address.
    per_source: HashMap<Ipv4Addr, usize>,
    /// (generation, key) in order of creation: the oldest first. Entries of
    /// datagrams already gone are skipped, and swept out when they pile up.
    order: VecDeque<(u64, Key)>,
    next_generation: u64,
    bytes: usize,
    stats: ReassemblyStats,
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new(Limits::default())
    }
}

impl fmt::Debug for Reassembler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reassembler")
            .field("limits", &self.limits)
            .field("datagrams", &self.datagrams.len())
            .field("bytes", &self.bytes)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Reassembler {
    /// An empty reassembler with these limits. A `max_datagram_len` above
    /// 65,535 counts as 65,535.
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            datagrams: HashMap::new(),
            per_source: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            bytes: 0,
            stats: ReassemblyStats::default(),
        }
    }

    /// The limits it was made with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes held: stored payload, plus [`PIECE_OVERHEAD`] per stored
    /// piece, plus first-fragment headers. Never above
    /// [`Limits::max_bytes`].
    pub fn bytes_in_flight(&self) -> usize {
        self.bytes
    }

    /// Datagrams in progress. Never above [`Limits::max_datagrams`].
    pub fn datagrams_in_flight(&self) -> usize {
        self.datagrams.len()
    }

    /// What happened to datagrams so far.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Drops every datagram in progress (counted nowhere).
    pub fn clear(&mut self) {
        self.datagrams.clear();
        self.per_source.clear();
        self.order.clear();
        self.bytes = 0;
    }

    /// Takes one fragment, received at `now`. Returns the whole datagram
    /// when this fragment completes it, `None` while pieces are missing or
    /// when the fragment only repeats bytes already held.
    ///
    /// The datagram comes back with the header of its offset-0 fragment
    /// (options included), More Fragments and the offset cleared, the
    /// total length set and the header checksum recomputed; its payload is
    /// the fragments' payloads in order. The header checksum of every
    /// fragment is verified.
    pub fn push(
        &mut self,
        fragment: &[u8],
        now: Instant,
    ) -> Result<Option<Vec<u8>>, ReassemblyError> {
        let ip = Ipv4Packet::new_checked(fragment)?;
        if !ip.verify_checksum() {
            return Err(WireError::BadHeaderChecksum.into());
        }
        if !ip.is_fragment() {
            return Err(ReassemblyError::NotFragment);
        }
        let header = ip.header().ok_or(WireError::BadHeaderLength)?;
        let data = ip.payload();
        let start = usize::from(ip.frag_offset()) * 8;
        let end = start + data.len();
        let more = ip.more_fragments();
        let key = Key {
            src: ip.src(),
            dst: ip.dst(),
            protocol: ip.protocol(),
            id: get_u16(header, 4),
        };

        if more && (data.is_empty() || data.len() % 8 != 0) {
            return Err(ReassemblyError::BadLength);
        }
        if start == 0 && data.len() < min_transport_header(key.protocol) {
            return Err(ReassemblyError::TinyFirstFragment);
        }

        self.expire_some(now, EXPIRE_BUDGET);
        if self
            .datagrams
            .get(&key)
            .is_some_and(|d| self.is_expired(d, now))
        {
            self.remove(&key);
            self.stats.expired += 1;
        }
        let max_len = self.limits.max_datagram_len.min(MAX_IPV4_LEN);

        // Check the fragment against what is held, and find the bytes it adds.
        let gaps = match self.datagrams.get(&key) {
            None => {
                if end + header_len_of(start, header, &[]) > max_len {
                    return Err(ReassemblyError::TooLong);
                }
                self.admit(key, now)?;
                if start < end {
                    alloc::vec![(start, end)]
                } else {
                    Vec::new()
                }
            }
            Some(d) => match check(d, header, start, end, more, data, max_len) {
                Ok(gaps) => gaps,
                Err(e) => {
                    self.remove(&key);
                    return Err(e);
                }
            },
        };
        let store_header = start == 0
            && self
                .datagrams
                .get(&key)
                .is_some_and(|d| d.header.is_empty());
        let header_len = if store_header { header.len() } else { 0 };
        let added: usize = gaps.iter().map(|&(s, e)| e - s).sum();
        let need = added + gaps.len() * PIECE_OVERHEAD + header_len;

        // Make room, oldest datagrams first.
        while self.bytes + need > self.limits.max_bytes {
            if !self.evict_oldest(Some(key)) {
                self.remove(&key);
                return Err(ReassemblyError::NoRoom);
            }
        }

        let Some(d) = self.datagrams.get_mut(&key) else {
            return Err(ReassemblyError::NoRoom);
        };
        for &(s, e) in &gaps {
            let piece = data.get(s - start..e - start).unwrap_or(&[]);
            d.pieces.insert(s, piece.to_vec());
        }
        if store_header {
            d.header = header.to_vec();
        }
        if !more {
            d.end = Some(end);
        }
        d.received += added;
        d.bytes += need;
        self.bytes += need;

        let complete = !d.header.is_empty() && d.end == Some(d.received);
        if !complete {
            return Ok(None);
        }
        let Some(d) = self.remove(&key) else {
            return Ok(None);
        };
        self.stats.completed += 1;
        assemble(&d).map(Some)
    }

    /// Drops every datagram whose timeout has passed at `now`; returns how
    /// many. [`push`](Self::push) does some of this on its own, so calling
    /// it is only needed to free memory while no fragments arrive.
    pub fn expire(&mut self, now: Instant) -> usize {
        self.expire_some(now, usize::MAX)
    }

    fn is_expired(&self, d: &Datagram, now: Instant) -> bool {
        now >= d.created + self.limits.timeout
    }

    /// Expires datagrams from the oldest on, looking at no more than
    /// `budget` entries of the time queue.
    fn expire_some(&mut self, now: Instant, budget: usize) -> usize {
        let mut expired = 0;
        for _ in 0..budget {
            let Some(&(generation, key)) = self.order.front() else {
                break;
            };
            match self.datagrams.get(&key) {
                Some(d) if d.generation == generation => {
                    if !self.is_expired(d, now) {
                        break;
                    }
                    self.order.pop_front();
                    self.remove(&key);
                    self.stats.expired += 1;
                    expired += 1;
                }
                _ => {
                    self.order.pop_front();
                }
            }
        }
        expired
    }

    /// Starts a datagram for `key`, evicting the oldest ones if the table
    /// is full.
    fn admit(&mut self, key: Key, now: Instant) -> Result<(), ReassemblyError> {
        let from_source = self.per_source.get(&key.src).copied().unwrap_or(0);
        if from_source >= self.limits.max_datagrams_per_source {
            return Err(ReassemblyError::SourceLimit);
        }
        while self.datagrams.len() >= self.limits.max_datagrams {
            if !self.evict_oldest(None) {
                return Err(ReassemblyError::NoRoom);
            }
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.datagrams.insert(
            key,
            Datagram {
                created: now,
                generation,
                header: Vec::new(),
                pieces: BTreeMap::new(),
                end: None,
                received: 0,
                bytes: 0,
            },
        );
        *self.per_source.entry(key.src).or_insert(0) += 1;
        self.order.push_back((generation, key));
        if self.order.len() > 2 * self.datagrams.len() + 64 {
            let datagrams = &self.datagrams;
            self.order
                .retain(|(g, k)| datagrams.get(k).is_some_and(|d| d.generation == *g));
        }
        Ok(())
    }

    /// Evicts the oldest datagram other than `keep`; false if there is none.
    fn evict_oldest(&mut self, keep: Option<Key>) -> bool {
        let mut held = None;
        let mut evicted = false;
        while let Some((generation, key)) = self.order.pop_front() {
            let live = self
                .datagrams
                .get(&key)
                .is_some_and(|d| d.generation == generation);
            if !live {
                continue;
            }
            if Some(key) == keep {
                held = Some((generation, key));
                continue;
            }
            self.remove(&key);
            self.stats.evicted += 1;
            evicted = true;
            break;
        }
        if let Some(entry) = held {
            self.order.push_front(entry);
        }
        evicted
    }

    /// Forgets a datagram (its time queue entry goes stale).
    fn remove(&mut self, key: &Key) -> Option<Datagram> {
        let d = self.datagrams.remove(key)?;
        self.bytes = self.bytes.saturating_sub(d.bytes);
        if let Some(n) = self.per_source.get_mut(&key.src) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_source.remove(&key.src);
            }
        }
        Some(d)
    }
}

/// The transport header a first fragment must hold whole (RFC 1858).
fn min_transport_header(protocol: u8) -> usize {
    match protocol {
        PROTO_TCP => 20,
        PROTO_UDP | PROTO_ICMP => 8,
        _ => 0,
    }
}

/// The header length the datagram will have: the offset-0 fragment's if
/// this is it or it was held, else at least the minimum.
fn header_len_of(start: usize, header: &[u8], held: &[u8]) -> usize {
    if start == 0 {
        header.len()
    } else if held.is_empty() {
        MIN_HEADER_LEN
    } else {
        held.len()
    }
}

/// Checks a fragment of `start..end` against the datagram so far; returns
/// the ranges it adds (those not received yet), in order.
fn check(
    d: &Datagram,
    header: &[u8],
    start: usize,
    end: usize,
    more: bool,
    data: &[u8],
    max_len: usize,
) -> Result<Vec<(usize, usize)>, ReassemblyError> {
    if more {
        if d.end.is_some_and(|e| end > e) {
            return Err(ReassemblyError::PastEnd);
        }
    } else if d.end.is_some_and(|e| e != end) || d.furthest() > end {
        return Err(ReassemblyError::PastEnd);
    }
    let len = d.end.unwrap_or_else(|| d.furthest().max(end));
    if len + header_len_of(start, header, &d.header) > max_len {
        return Err(ReassemblyError::TooLong);
    }

    let mut gaps = Vec::new();
    let mut cursor = start;
    // The piece that starts at or before `start` may overlap it too.
    let from = d
        .pieces
        .range(..=start)
        .next_back()
        .map_or(start, |(&s, _)| s);
    for (&s, held) in d.pieces.range(from..end) {
        let e = s + held.len();
        if e <= cursor {
            continue;
        }
        if s > cursor {
            gaps.push((cursor, s));
        }
        let (os, oe) = (s.max(start), e.min(end));
        let new = data.get(os - start..oe - start);
        let old = held.get(os - s..oe - s);
        if new.is_none() || new != old {
            return Err(ReassemblyError::Overlap);
        }
        cursor = oe;
    }
    if cursor < end {
        gaps.push((cursor, end));
    }
    Ok(gaps)
}

/// The whole datagram from a complete one.
fn assemble(d: &Datagram) -> Result<Vec<u8>, ReassemblyError> {
    let total = d.header.len() + d.received;
    let total_field = u16::try_from(total).map_err(|_| ReassemblyError::TooLong)?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&d.header);
    for piece in d.pieces.values() {
        out.extend_from_slice(piece);
    }
    let flags = get_u16(&out, FLAGS_FRAG) & KEPT_FLAGS;
    put_u16(&mut out, TOTAL_LEN, total_field);
    put_u16(&mut out, FLAGS_FRAG, flags);
    put_u16(&mut out, CHECKSUM, 0);
    let c = checksum::checksum(out.get(..d.header.len()).unwrap_or(&[]));
    put_u16(&mut out, CHECKSUM, c);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const T0: Instant = Instant::from_secs(100);

    /// A fragment of datagram `id` from 10.0.0.`src`: UDP, `payload` at
    /// `offset` bytes, More Fragments as given.
    fn frag(src: u8, id: u16, offset: usize, more: bool, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[4..6].copy_from_slice(&id.to_be_bytes());
        let word = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
        p[6..8].copy_from_slice(&word.to_be_bytes());
        p[8] = 64;
        p[9] = PROTO_UDP;
        p[12..16].copy_from_slice(&[10, 0, 0, src]);
        p[16..20].copy_from_slice(&[10, 0, 0, 99]);
        p[20..].copy_from_slice(payload);
        let c = checksum::checksum(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7) as u8).collect()
    }

    /// The three fragments of a 40-byte payload: 16, 16 and 8 bytes.
    fn three(id: u16) -> (Vec<u8>, [Vec<u8>; 3]) {
        let d = data(40);
        let frags = [
            frag(1, id, 0, true, &d[..16]),
            frag(1, id, 16, true, &d[16..32]),
            frag(1, id, 32, false, &d[32..]),
        ];
        (d, frags)
    }

    fn check_whole(packet: &[u8], payload: &[u8]) {
        let ip = Ipv4Packet::new_checked(packet).unwrap();
        assert!(ip.verify_checksum());
        assert!(!ip.is_fragment());
        assert_eq!(ip.payload(), payload);
        assert_eq!(usize::from(ip.total_len()), packet.len());
    }

    #[test]
    fn in_order_and_out_of_order() {
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
            let mut r = Reassembler::default();
            let (d, f) = three(7);
            assert_eq!(r.push(&f[order[0]], T0), Ok(None));
            assert_eq!(r.push(&f[order[1]], T0), Ok(None));
            assert_eq!(r.datagrams_in_flight(), 1);
            let whole = r.push(&f[order[2]], T0).unwrap().unwrap();
            check_whole(&whole, &d);
            assert_eq!((r.datagrams_in_flight(), r.bytes_in_flight()), (0, 0));
            assert_eq!(r.stats().completed, 1);
        }
    }

    #[test]
    fn duplicates_and_identical_overlaps_are_harmless() {
        let mut r = Reassembler::default();
        let (d, f) = three(7);
        assert_eq!(r.push(&f[1], T0), Ok(None));
        let held = r.bytes_in_flight();
        assert_eq!(held, 16 + PIECE_OVERHEAD);
        assert_eq!(r.push(&f[1], T0), Ok(None));
        assert_eq!(r.bytes_in_flight(), held);
        // 8..24 overlaps the held 16..32 with the same bytes: only 8..16 is new.
        assert_eq!(r.push(&frag(1, 7, 8, true, &d[8..24]), T0), Ok(None));
        assert_eq!(r.bytes_in_flight(), held + 8 + PIECE_OVERHEAD);
        assert_eq!(r.push(&f[2], T0), Ok(None));
        check_whole(&r.push(&f[0], T0).unwrap().unwrap(), &d);
    }

    #[test]
    fn overlaps_with_other_data_drop_the_datagram() {
        let mut r = Reassembler::default();
        let (d, f) = three(7);
        r.push(&f[0], T0).unwrap();
        let mut evil = d[8..24].to_vec();
        evil[3] ^= 0xff;
        assert_eq!(
            r.push(&frag(1, 7, 8, true, &evil), T0),
            Err(ReassemblyError::Overlap)
        );
        assert_eq!((r.datagrams_in_flight(), r.bytes_in_flight()), (0, 0));
        // The rest alone does not complete anything.
        assert_eq!(r.push(&f[1], T0), Ok(None));
        assert_eq!(r.push(&f[2], T0), Ok(None));
    }

    #[test]
    fn ends_must_agree() {
        let mut r = Reassembler::default();
        let (d, f) = three(7);
        r.push(&f[2], T0).unwrap(); // the end is 40
        assert_eq!(
            r.push(&frag(1, 7, 32, true, &data(16)), T0),
            Err(ReassemblyError::PastEnd)
        );
        assert_eq!(r.datagrams_in_flight(), 0);
        r.push(&f[1], T0).unwrap(); // data up to 32
        assert_eq!(
            r.push(&frag(1, 7, 24, false, &d[24..28]), T0),
            Err(ReassemblyError::PastEnd)
        );
        // Two last fragments that disagree; an empty one that agrees is fine.
        r.push(&f[2], T0).unwrap();
        assert_eq!(r.push(&frag(1, 7, 40, false, &[]), T0), Ok(None));
        assert_eq!(
            r.push(&frag(1, 7, 48, false, &[]), T0),
            Err(ReassemblyError::PastEnd)
        );
        assert_eq!(r.datagrams_in_flight(), 0);
    }

    #[test]
    fn refuses_what_is_not_a_proper_fragment() {
        let mut r = Reassembler::default();
        assert_eq!(
            r.push(&frag(1, 7, 0, false, &data(8)), T0),
            Err(ReassemblyError::NotFragment)
        );
        assert_eq!(
            r.push(&frag(1, 7, 8, true, &data(12)), T0),
            Err(ReassemblyError::BadLength)
        );
        assert_eq!(
            r.push(&frag(1, 7, 8, true, &[]), T0),
            Err(ReassemblyError::BadLength)
        );
        let mut bad = frag(1, 7, 8, true, &data(8));
        bad[10] ^= 1;
        assert_eq!(
            r.push(&bad, T0),
            Err(ReassemblyError::Malformed(WireError::BadHeaderChecksum))
        );
        assert_eq!(
            r.push(&bad[..12], T0),
            Err(ReassemblyError::Malformed(WireError::Ipv4Truncated))
        );
        // A datagram ending past 65,535 bytes (the ping of death).
        assert_eq!(
            r.push(&frag(1, 7, 65_512, false, &data(8)), T0),
            Err(ReassemblyError::TooLong)
        );
        assert_eq!(r.datagrams_in_flight(), 0);
    }

    #[test]
    fn tiny_first_fragments_are_refused() {
        let mut r = Reassembler::default();
        let mut tcp = frag(1, 7, 0, true, &data(16));
        tcp[9] = PROTO_TCP;
        tcp[10..12].fill(0);
        let c = checksum::checksum(&tcp[..20]);
        tcp[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(r.push(&tcp, T0), Err(ReassemblyError::TinyFirstFragment));
        assert_eq!(r.datagrams_in_flight(), 0);
        // Eight bytes hold a whole UDP header.
        assert_eq!(r.push(&frag(1, 7, 0, true, &data(8)), T0), Ok(None));
    }

    #[test]
    fn datagrams_expire_after_the_timeout() {
        let mut r = Reassembler::new(Limits {
            timeout: Duration::from_secs(2),
            ..Limits::default()
        });
        let (d, f) = three(7);
        r.push(&f[0], T0).unwrap();
        r.push(&f[1], T0 + Duration::from_millis(1999)).unwrap();
        assert_eq!(r.expire(T0 + Duration::from_millis(1999)), 0);
        assert_eq!(r.expire(T0 + Duration::from_secs(2)), 1);
        assert_eq!((r.datagrams_in_flight(), r.bytes_in_flight()), (0, 0));
        assert_eq!(r.stats().expired, 1);
        // A late fragment for a stale datagram starts a new one.
        r.push(&f[0], T0).unwrap();
        let late = T0 + Duration::from_secs(5);
        assert_eq!(r.push(&f[1], late), Ok(None));
        assert_eq!(r.stats().expired, 2);
        r.push(&f[0], late).unwrap();
        check_whole(&r.push(&f[2], late).unwrap().unwrap(), &d);
    }

    #[test]
    fn a_full_table_evicts_the_oldest() {
        let mut r = Reassembler::new(Limits {
            max_datagrams: 2,
            ..Limits::default()
        });
        let (d, f) = three(1);
        r.push(&f[0], T0).unwrap();
        r.push(&frag(2, 2, 0, true, &data(8)), T0).unwrap();
        r.push(&frag(3, 3, 0, true, &data(8)), T0).unwrap();
        assert_eq!(r.datagrams_in_flight(), 2);
        assert_eq!(r.stats().evicted, 1);
        // Datagram 1 was the one to go.
        r.push(&f[1], T0).unwrap();
        assert_eq!(r.push(&f[2], T0), Ok(None));
        assert_eq!(r.stats().evicted, 2);
        let _ = d;
    }

    #[test]
    fn the_byte_cap_evicts_others_but_never_the_one_growing() {
        let mut r = Reassembler::new(Limits {
            max_bytes: 2 * (16 + PIECE_OVERHEAD) + 20 + 16,
            ..Limits::default()
        });
        let (d, f) = three(1);
        r.push(&frag(2, 2, 8, true, &data(16)), T0).unwrap();
        r.push(&f[0], T0).unwrap();
        r.push(&f[1], T0).unwrap(); // evicts datagram 2
        assert_eq!(r.stats().evicted, 1);
        assert!(r.bytes_in_flight() <= r.limits().max_bytes);
        // The last piece needs more than the cap allows with nothing else to evict.
        assert_eq!(r.push(&f[2], T0), Err(ReassemblyError::NoRoom));
        assert_eq!((r.datagrams_in_flight(), r.bytes_in_flight()), (0, 0));
        let _ = d;
        let mut none = Reassembler::new(Limits {
            max_datagrams: 0,
            ..Limits::default()
        });
        assert_eq!(none.push(&f[0], T0), Err(ReassemblyError::NoRoom));
    }

    #[test]
    fn one_source_cannot_take_the_whole_table() {
        let mut r = Reassembler::new(Limits {
            max_datagrams_per_source: 2,
            ..Limits::default()
        });
        for id in 0..2 {
            r.push(&frag(1, id, 8, true, &data(8)), T0).unwrap();
        }
        assert_eq!(
            r.push(&frag(1, 9, 8, true, &data(8)), T0),
            Err(ReassemblyError::SourceLimit)
        );
        // More fragments of a held datagram, and other sources, still pass.
        assert_eq!(r.push(&frag(1, 0, 16, true, &data(8)), T0), Ok(None));
        assert_eq!(r.push(&frag(2, 9, 8, true, &data(8)), T0), Ok(None));
        assert_eq!(r.stats().evicted, 0);
    }

    #[test]
    fn the_time_queue_does_not_grow_with_completed_datagrams() {
        let mut r = Reassembler::default();
        for id in 0..10_000u16 {
            let (_, f) = three(id);
            r.push(&f[0], T0).unwrap();
            r.push(&f[1], T0).unwrap();
            assert!(r.push(&f[2], T0).unwrap().is_some());
        }
        assert!(r.order.len() <= 64 + 2);
        assert!(r.per_source.is_empty());
    }

    #[test]
    fn reasons_are_distinct() {
        let all = [
            ReassemblyError::Malformed(WireError::NotIpv4),
            ReassemblyError::NotFragment,
            ReassemblyError::BadLength,
            ReassemblyError::TinyFirstFragment,
            ReassemblyError::Overlap,
            ReassemblyError::TooLong,
            ReassemblyError::PastEnd,
            ReassemblyError::SourceLimit,
            ReassemblyError::NoRoom,
        ];
        let mut reasons: Vec<_> = all.iter().map(|e| e.reason()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), all.len());
    }
}
