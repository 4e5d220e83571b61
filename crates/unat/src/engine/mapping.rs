//! Mappings: which external endpoint an inside endpoint uses (RFC 4787
//! §4.1), the filter state that decides who may send in through it (§5),
//! per-host counts (RFC 6888 REQ-4), and the choice of new external ports
//! (RFC 6056, RFC 4787 REQ-3a/REQ-4).
//!
//! A dynamic mapping lives while sessions use it. A static one (a port
//! forward) lives until removed, and lets anyone in.

use core::net::Ipv4Addr;

use hashbrown::HashMap;

use crate::engine::RandomSource;
use crate::flow::{Endpoint, Protocol};
use crate::policy::{Config, Mapping as Behaviour};
use crate::session::{Origin, Session};
use crate::time::Instant;

/// What identifies a mapping on the inside, given the mapping behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct MappingKey {
    proto: Protocol,
    internal: Endpoint,
    /// The destination address (address-dependent and
    /// address-and-port-dependent mapping).
    remote_addr: Option<Ipv4Addr>,
    /// The destination port (address-and-port-dependent mapping).
    remote_port: Option<u16>,
}

impl MappingKey {
    pub(crate) fn new(proto: Protocol, internal: Endpoint, remote: Endpoint, b: Behaviour) -> Self {
        let (remote_addr, remote_port) = match b {
            Behaviour::EndpointIndependent => (None, None),
            Behaviour::AddressDependent => (Some(remote.addr), None),
            Behaviour::AddressAndPortDependent => (Some(remote.addr), Some(remote.port)),
        };
        MappingKey {
            proto,
            internal,
            remote_addr,
            remote_port,
        }
    }
}

/// One mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub(crate) internal: Endpoint,
    pub(crate) external: Endpoint,
    /// Sessions using it (as their own mapping or as a hairpin's peer).
    pub(crate) sessions: u32,
    /// A port forward: never expires, filters nothing.
    pub(crate) permanent: bool,
    key: Option<MappingKey>,
    /// How long outbound traffic keeps it alive: the latest expiry that an
    /// outbound packet gave one of its sessions. Inbound traffic never
    /// moves it (RFC 4787 REQ-6), unless inbound refresh is on.
    pub(crate) deadline: Instant,
}

/// Why no mapping could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MappingError {
    /// The inside host holds its limit of mappings for the protocol.
    HostLimit,
    /// No external port is free in the inside port's class.
    PortsExhausted,
}

/// All mappings of a NAT.
#[derive(Debug, Default)]
pub(crate) struct Mappings {
    by_external: HashMap<(Protocol, Endpoint), Mapping>,
    by_internal: HashMap<MappingKey, Endpoint>,
    /// Port forwards by their inside endpoint, so that the forwarded host's
    /// own flows leave from the forwarded port (EIM stays consistent).
    forwards: HashMap<(Protocol, Endpoint), Endpoint>,
    /// Dynamic mappings per inside host and protocol.
    per_host: HashMap<(Protocol, Ipv4Addr), u32>,
    /// Remote addresses each mapping has sessions with, for
    /// address-dependent filtering: (proto, external, remote) -> sessions.
    remotes: HashMap<(Protocol, Endpoint, Ipv4Addr), u32>,
}

/// Random ports tried before a full scan of the class.
const RANDOM_TRIES: u32 = 32;

impl Mappings {
    /// The mapping whose external endpoint is `external`.
    pub(crate) fn by_external(&self, proto: Protocol, external: Endpoint) -> Option<&Mapping> {
        self.by_external.get(&(proto, external))
    }

    /// Whether `remote` has a session with the mapping `external` (the
    /// address-dependent filter).
    pub(crate) fn knows_remote(
        &self,
        proto: Protocol,
        external: Endpoint,
        remote: Ipv4Addr,
    ) -> bool {
        self.remotes.contains_key(&(proto, external, remote))
    }

    /// How many dynamic mappings `host` holds for `proto`.
    pub(crate) fn host_count(&self, proto: Protocol, host: Ipv4Addr) -> u32 {
        self.per_host.get(&(proto, host)).copied().unwrap_or(0)
    }

    /// Number of mappings (dynamic and static) for `proto`.
    pub(crate) fn len(&self, proto: Protocol) -> usize {
        self.by_external.keys().filter(|(p, _)| *p == proto).count()
    }

    /// The external endpoint for `internal` talking to `remote`: an
    /// existing mapping's, a port forward's, or a new one's. A new mapping
    /// has no session yet: the caller adds one, or calls [`Self::release`].
    pub(crate) fn get_or_create(
        &mut self,
        config: &Config,
        proto: Protocol,
        internal: Endpoint,
        remote: Endpoint,
        rng: &mut dyn RandomSource,
    ) -> Result<Endpoint, MappingError> {
        let behaviour = config.mapping.get(proto);
        let key = MappingKey::new(proto, internal, remote, behaviour);
        if let Some(ext) = self.by_internal.get(&key) {
            return Ok(*ext);
        }
        if behaviour == Behaviour::EndpointIndependent {
            if let Some(ext) = self.forwards.get(&(proto, internal)) {
                return Ok(*ext);
            }
        }
        if let Some(limit) = config.per_host_limit.get(proto) {
            if self.host_count(proto, internal.addr) >= limit {
                return Err(MappingError::HostLimit);
            }
        }
        let port = self.allocate(config, proto, internal.port, rng)?;
        let external = Endpoint::new(config.external, port);
        self.by_external.insert(
            (proto, external),
            Mapping {
                internal,
                external,
                sessions: 0,
                permanent: false,
                key: Some(key),
                deadline: Instant::ZERO,
            },
        );
        self.by_internal.insert(key, external);
        *self.per_host.entry((proto, internal.addr)).or_insert(0) += 1;
        Ok(external)
    }

    /// Adds a permanent mapping (a port forward) `external` -> `internal`.
    /// Refused (`false`) when the external endpoint is taken.
    pub(crate) fn add_static(
        &mut self,
        proto: Protocol,
        external: Endpoint,
        internal: Endpoint,
    ) -> bool {
        if self.by_external.contains_key(&(proto, external)) {
            return false;
        }
        self.by_external.insert(
            (proto, external),
            Mapping {
                internal,
                external,
                sessions: 0,
                permanent: true,
                key: None,
                deadline: Instant::NEVER,
            },
        );
        self.forwards.insert((proto, internal), external);
        true
    }

    /// Picks a free external port for an inside port: random within its
    /// class (1-1023 below 1024, else 1024-65535; any non-zero identifier
    /// for ICMP), the inside port itself first if `preserve` is on, with
    /// the inside port's parity if `parity` is on. A few random tries, then
    /// a walk over the class from a random start with a random stride, so a
    /// free port is found if one exists.
    fn allocate(
        &self,
        config: &Config,
        proto: Protocol,
        internal: u16,
        rng: &mut dyn RandomSource,
    ) -> Result<u16, MappingError> {
        let classes: &[(u32, u32)] = match proto {
            Protocol::Icmp => &[(1, 65535)],
            // RFC 4787 REQ-3a keeps low ports low; when the low class is
            // full, a high port is better than no mapping at all.
            _ if internal < 1024 => &[(1, 1023), (1024, 65535)],
            _ => &[(1024, 65535)],
        };
        classes
            .iter()
            .find_map(|&(lo, hi)| self.allocate_in(config, proto, internal, lo, hi, rng))
            .ok_or(MappingError::PortsExhausted)
    }

    /// [`Self::allocate`] within one class `lo..=hi`.
    fn allocate_in(
        &self,
        config: &Config,
        proto: Protocol,
        internal: u16,
        lo: u32,
        hi: u32,
        rng: &mut dyn RandomSource,
    ) -> Option<u16> {
        let ext = config.external;
        let parity = config.ports.parity;
        let fits =
            |p: u32| (lo..=hi).contains(&p) && (!parity || (p & 1) == u32::from(internal & 1));
        let free = |p: u32| {
            u16::try_from(p).ok().filter(|p| {
                !self
                    .by_external
                    .contains_key(&(proto, Endpoint::new(ext, *p)))
            })
        };
        if config.ports.preserve && fits(u32::from(internal)) {
            if let Some(p) = free(u32::from(internal)) {
                return Some(p);
            }
        }
        let span = hi - lo + 1;
        for _ in 0..RANDOM_TRIES {
            let mut p = lo + rng.next_u32() % span;
            if parity {
                p = (p & !1) | u32::from(internal & 1);
            }
            if fits(p) {
                if let Some(p) = free(p) {
                    return Some(p);
                }
            }
        }
        // Every try met a taken port (the class is nearly full): walk the
        // whole class from a random start with a random stride coprime with
        // its size, so a free port is found if one exists. A stride of 1
        // (a linear probe, RFC 6056 Algorithm 1) would favour the free
        // port after a long run of taken ones (§5).
        let mut step = 1;
        for _ in 0..RANDOM_TRIES {
            let d = 1 + rng.next_u32() % (span - 1).max(1);
            if gcd(d, span) == 1 {
                step = d;
                break;
            }
        }
        let mut offset = rng.next_u32() % span;
        for _ in 0..span {
            let p = lo + offset;
            if fits(p) {
                if let Some(p) = free(p) {
                    return Some(p);
                }
            }
            offset = (offset + step) % span;
        }
        None
    }

    /// Notes that an outbound packet kept a session of the mapping
    /// `external` alive until `expires`.
    pub(crate) fn note_outbound(&mut self, proto: Protocol, external: Endpoint, expires: Instant) {
        if let Some(m) = self.by_external.get_mut(&(proto, external)) {
            m.deadline = m.deadline.max(expires);
        }
    }

    /// Counts a new session on its mapping(s).
    pub(crate) fn attach(&mut self, proto: Protocol, s: &Session) {
        if let Some(ext) = s.state.mapping {
            if let Some(m) = self.by_external.get_mut(&(proto, ext)) {
                m.sessions += 1;
            }
            if let Some(remote) = filter_remote(s) {
                *self.remotes.entry((proto, ext, remote)).or_insert(0) += 1;
            }
        }
        if let Some(peer) = s.state.peer_mapping {
            if let Some(m) = self.by_external.get_mut(&(proto, peer)) {
                m.sessions += 1;
            }
        }
    }

    /// Forgets a session that went away; a dynamic mapping left without
    /// sessions goes too.
    pub(crate) fn detach(&mut self, proto: Protocol, s: &Session) {
        if let Some(ext) = s.state.mapping {
            if let Some(remote) = filter_remote(s) {
                let k = (proto, ext, remote);
                match self.remotes.get_mut(&k) {
                    Some(n) if *n > 1 => *n -= 1,
                    Some(_) => {
                        self.remotes.remove(&k);
                    }
                    None => {}
                }
            }
            self.release_one(proto, ext);
        }
        if let Some(peer) = s.state.peer_mapping {
            self.release_one(proto, peer);
        }
    }

    /// Drops a mapping made by [`Self::get_or_create`] if no session uses it.
    pub(crate) fn release(&mut self, proto: Protocol, ext: Endpoint) {
        if self
            .by_external
            .get(&(proto, ext))
            .is_some_and(|m| m.sessions == 0)
        {
            self.remove_dynamic(proto, ext);
        }
    }

    fn release_one(&mut self, proto: Protocol, ext: Endpoint) {
        let Some(m) = self.by_external.get_mut(&(proto, ext)) else {
            return;
        };
        m.sessions = m.sessions.saturating_sub(1);
        if m.sessions == 0 {
            self.remove_dynamic(proto, ext);
        }
    }

    fn remove_dynamic(&mut self, proto: Protocol, ext: Endpoint) {
        let Some(m) = self.by_external.get(&(proto, ext)).copied() else {
            return;
        };
        let Some(key) = m.key.filter(|_| !m.permanent) else {
            return;
        };
        self.by_external.remove(&(proto, ext));
        self.by_internal.remove(&key);
        let host = (proto, m.internal.addr);
        match self.per_host.get_mut(&host) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                self.per_host.remove(&host);
            }
            None => {}
        }
    }

    /// Forgets every dynamic mapping; port forwards stay.
    pub(crate) fn clear_dynamic(&mut self) {
        self.by_external.retain(|_, m| m.permanent);
        for m in self.by_external.values_mut() {
            m.sessions = 0;
        }
        self.by_internal.clear();
        self.per_host.clear();
        self.remotes.clear();
    }
}

/// The greatest common divisor.
fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The remote address a session counts for in its mapping's
/// address-dependent filter: the outside host it talks with.
fn filter_remote(s: &Session) -> Option<Ipv4Addr> {
    match s.state.origin {
        Origin::Inside => Some(s.key.dst.addr),
        Origin::Outside => Some(s.key.src.addr),
        Origin::Rule | Origin::Hairpin => None,
    }
}
