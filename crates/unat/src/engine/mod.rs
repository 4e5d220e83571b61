//! The translation engine: [`Nat`], generic over a [`Store`].
//!
//! A packet takes one path: it is checked and classified (`classify`),
//! its session is looked up (both directions of a session are one
//! lookup), the session's state is updated (TCP phase, idle timer), and
//! the packet is rewritten in place (`rewrite`, or `icmp_error` for
//! ICMP errors). Nothing allocates on that path.
//!
//! State comes in two ways:
//! - [`Nat::process`], the RFC-grade path: the packet's direction is
//!   known, new outbound flows get a mapping chosen by the policy
//!   (`mapping`), inbound flows pass the mapping's filter, hairpinned
//!   flows are translated both ways;
//! - [`Nat::add`], mirage-nat's explicit rules (`rule`), used with
//!   [`Nat::translate`].

mod classify;
mod error;
mod icmp_error;
mod mapping;
mod rewrite;
mod rule;

pub use self::error::{AddError, CannotNat, PacketError, TranslateError};
pub use self::rule::{is_translatable, Mode};

use core::net::Ipv4Addr;
use core::time::Duration;

use self::classify::{classify, Classified};
use self::mapping::{MappingError, Mappings};
use crate::flow::{Endpoint, FlowKey, Protocol};
use crate::policy::{Config, ConfigError, Filtering, WhenFull};
use crate::session::{Origin, Session, SessionState, TcpTrack};
use crate::store::{FreedPorts, Hit, InsertError, Store};
use crate::time::Instant;
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::tcp::flags;

/// How many candidate ports [`Nat::add`] tries before giving up.
pub const PORT_ATTEMPTS: usize = 100;
/// Sessions looked at for expiry, per table, on every packet.
const SWEEP_PER_PACKET: usize = 2;
/// Sessions looked at for expiry when a table is full.
const SWEEP_WHEN_FULL: usize = 64;

/// Where a packet comes from, for [`Nat::process`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From an inside (private) host.
    Outbound,
    /// From the outside (public) network.
    Inbound,
}

/// A source of random numbers for port choice. The library never reads
/// one itself: the caller passes it in (any `FnMut() -> u32` is one).
pub trait RandomSource {
    /// A uniformly random `u32`.
    fn next_u32(&mut self) -> u32;
}

impl<F: FnMut() -> u32> RandomSource for F {
    fn next_u32(&mut self) -> u32 {
        self()
    }
}

/// What [`Nat::translate`] or [`Nat::process`] did to a packet.
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
    /// Whether the packet started a new session.
    pub new_session: bool,
}

/// A NAT: sessions in a store, mappings and their policy, and the packet
/// translation that uses them.
///
/// The engine does no I/O and reads no clock or random generator: the
/// caller hands it packets (IPv4, starting at the IP header), the time and
/// randomness, and sends what comes back.
#[derive(Debug)]
pub struct Nat<S> {
    store: S,
    config: Config,
    mappings: Mappings,
}

impl<S: Store> Nat<S> {
    /// A NAT that behaves like mirage-nat ([`Config::original`]): rules
    /// only from [`Nat::add`], no expiry, least recently used sessions
    /// evicted when a table is full.
    pub fn new(store: S) -> Self {
        Nat {
            store,
            config: Config::original(),
            mappings: Mappings::default(),
        }
    }

    /// A NAT with `config` (see [`Config::new`] for the RFC defaults).
    pub fn with_config(store: S, config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Nat {
            store,
            config,
            mappings: Mappings::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Adds a port forward: `proto` packets to the external address's
    /// `port` go to `target`, which sees the real client. It is a permanent
    /// mapping that lets anyone in, and under endpoint-independent mapping
    /// `target`'s own flows leave from `port` too. `false` if the port is
    /// taken.
    pub fn add_forward(&mut self, proto: Protocol, port: u16, target: Endpoint) -> bool {
        let external = Endpoint::new(self.config.external, port);
        self.mappings.add_static(proto, external, target)
    }

    /// Translates a packet whose direction is known, creating state as the
    /// policy says when it starts a new flow.
    ///
    /// Outbound: a packet of an existing session is translated; otherwise
    /// its inside endpoint gets (or reuses) a mapping and a session. A
    /// packet to the external address is hairpinned to the inside host that
    /// owns the mapping, with the sender's external endpoint as source.
    /// Inbound: a packet of an existing session is translated; otherwise a
    /// packet to a mapping that its filter lets in starts a session (for
    /// TCP, only a SYN). Everything else is refused; the buffer is then
    /// unchanged.
    ///
    /// Also expires a few idle sessions (bounded work per call).
    pub fn process(
        &mut self,
        packet: &mut [u8],
        from: Direction,
        now: Instant,
        rng: &mut impl RandomSource,
    ) -> Result<Translation, TranslateError> {
        let ip = Ipv4Packet::new_checked(&*packet)?;
        let ttl = ip.ttl();
        let classified = classify(&ip)?;
        if let Some(ty) = deprecated_icmp(&ip) {
            return Err(PacketError::UnsupportedIcmp(ty).into());
        }
        let (proto, key, icmp_request, tcp_flags) = match classified {
            Classified::IcmpError => {
                return self.translate_icmp_error(packet, Some(from == Direction::Outbound), now)
            }
            Classified::Flow {
                proto,
                key,
                icmp_request,
                tcp_flags,
            } => (proto, key, icmp_request, tcp_flags),
        };
        self.expire_table(proto, now, SWEEP_PER_PACKET);
        let from_inside = from == Direction::Outbound;
        let hit = self.translate_hit(
            packet,
            proto,
            &key,
            Some(from_inside),
            icmp_request,
            tcp_flags,
            ttl,
            now,
        )?;
        if let Some(t) = hit {
            return Ok(t);
        }
        let external = self.config.external;
        if !is_translatable(external) {
            return Err(TranslateError::NoEntry);
        }
        let session = match from {
            Direction::Outbound => {
                if proto == Protocol::Icmp && !icmp_request {
                    return Err(TranslateError::NoEntry);
                }
                if key.dst.addr == external {
                    self.new_hairpin(proto, key, ttl, &mut *rng as &mut dyn RandomSource, now)?
                } else {
                    self.new_outbound(proto, key, ttl, &mut *rng as &mut dyn RandomSource)?
                }
            }
            Direction::Inbound => self.new_inbound(proto, key, tcp_flags, ttl, now)?,
        };
        let session = self.start_session(proto, session, tcp_flags, from_inside, now)?;
        rewrite::rewrite_flow(packet, proto, &key, &session.xl)?;
        Ok(Translation {
            protocol: proto,
            src: session.xl.src.addr,
            dst: session.xl.dst.addr,
            is_icmp_error: false,
            new_session: true,
        })
    }

    /// Translates `packet` in place if a session matches it, in either
    /// direction (the original's `translate`: direction is inferred from
    /// the session). Never creates state.
    ///
    /// `packet` starts at the IPv4 header; bytes after its total length are
    /// ignored. On success the addresses, ports or ICMP identifier are
    /// rewritten, the TTL is one less, and every checksum is updated
    /// incrementally (a UDP checksum of 0 stays 0). ICMP errors are
    /// translated through the packet they quote. On error the buffer is
    /// unchanged.
    pub fn translate(
        &mut self,
        packet: &mut [u8],
        now: Instant,
    ) -> Result<Translation, TranslateError> {
        let ip = Ipv4Packet::new_checked(&*packet)?;
        let ttl = ip.ttl();
        match classify(&ip)? {
            Classified::IcmpError => self.translate_icmp_error(packet, None, now),
            Classified::Flow {
                proto,
                key,
                icmp_request,
                tcp_flags,
            } => self
                .translate_hit(packet, proto, &key, None, icmp_request, tcp_flags, ttl, now)?
                .ok_or(TranslateError::NoEntry),
        }
    }

    /// Rewrites a packet if a live session has its `key`, after checking it
    /// comes from the side it should (when `from_inside` is known), and
    /// updates the session's state. `Ok(None)` when no live session has the
    /// key (an expired one is removed on the way). One store lookup.
    #[allow(clippy::too_many_arguments)]
    fn translate_hit(
        &mut self,
        packet: &mut [u8],
        proto: Protocol,
        key: &FlowKey,
        from_inside: Option<bool>,
        icmp_request: bool,
        tcp_flags: u8,
        ttl: u8,
        now: Instant,
    ) -> Result<Option<Translation>, TranslateError> {
        let config = self.config;
        let Some((hit, s)) = self.store.lookup(proto, key) else {
            return Ok(None);
        };
        if s.state.expires <= now {
            let id = s.key;
            self.remove_session(proto, &id);
            return Ok(None);
        }
        let inside = match hit {
            Hit::Key => s.state.origin.key_is_inside(),
            Hit::Reply => s.state.origin.reply_is_inside(),
        };
        if from_inside.is_some_and(|f| f != inside) && s.state.origin != Origin::Rule {
            return Err(TranslateError::NoEntry);
        }
        // An ICMP session is a request one way and replies the other.
        if proto == Protocol::Icmp && icmp_request != (hit == Hit::Key) {
            return Err(TranslateError::NoEntry);
        }
        if ttl <= 1 {
            return Err(TranslateError::TtlExceeded);
        }
        let (old, new) = match hit {
            Hit::Key => (s.key, s.xl),
            Hit::Reply => (s.reply_key(), s.key.reversed()),
        };
        // For the TCP phases, which end of the connection sent the segment.
        // A hairpinned session has both ends inside: its key side counts as
        // the inside, its reply side as the outside.
        let tcp_inside = match s.state.origin {
            Origin::Hairpin => hit == Hit::Key,
            _ => inside,
        };
        refresh(
            &mut s.state,
            &config,
            proto,
            tcp_flags,
            inside,
            tcp_inside,
            now,
        );
        if proto != Protocol::Tcp && inside {
            if let Some(ext) = sender_mapping(&s.state, hit) {
                self.mappings.note_outbound(proto, ext, s.state.expires);
            }
        }
        rewrite::rewrite_flow(packet, proto, &old, &new)?;
        Ok(Some(Translation {
            protocol: proto,
            src: new.src.addr,
            dst: new.dst.addr,
            is_icmp_error: false,
            new_session: false,
        }))
    }

    /// Translates an ICMP error through the session of the packet it
    /// quotes. When the error's direction is known (`from_inside`), the
    /// quoted packet must be one the NAT sent toward the error's sender:
    /// an error never turns back to the side it came from.
    fn translate_icmp_error(
        &mut self,
        packet: &mut [u8],
        from_inside: Option<bool>,
        now: Instant,
    ) -> Result<Translation, TranslateError> {
        icmp_error::translate(packet, from_inside, |proto, key| {
            let (hit, s) = self.store.lookup(proto, key)?;
            if s.state.expires <= now {
                let id = s.key;
                self.remove_session(proto, &id);
                return None;
            }
            // `key` is the quoted packet reversed: a packet from the sender's side.
            let inside = match hit {
                Hit::Key => s.state.origin.key_is_inside(),
                Hit::Reply => s.state.origin.reply_is_inside(),
            };
            if from_inside.is_some_and(|f| f != inside) && s.state.origin != Origin::Rule {
                return None;
            }
            Some(match hit {
                Hit::Key => s.xl,
                Hit::Reply => s.key.reversed(),
            })
        })
    }

    /// A new session for an inside host's flow to the outside.
    fn new_outbound(
        &mut self,
        proto: Protocol,
        key: FlowKey,
        ttl: u8,
        rng: &mut dyn RandomSource,
    ) -> Result<Session, TranslateError> {
        if ttl <= 1 {
            return Err(TranslateError::TtlExceeded);
        }
        let ext = self
            .mappings
            .get_or_create(&self.config, proto, key.src, key.dst, rng)
            .map_err(mapping_error)?;
        if let Some(m) = self.mappings.by_external(proto, ext).copied() {
            if let Err(e) = self.check_session_limit(&m) {
                self.mappings.release(proto, ext);
                return Err(e);
            }
        }
        Ok(new_session(
            key,
            rule::translation(proto, &key, ext, Mode::Nat),
            Origin::Inside,
            Some(ext),
            None,
        ))
    }

    /// A new session for an outside host's flow to a mapping, if the
    /// mapping's filter lets it in.
    fn new_inbound(
        &mut self,
        proto: Protocol,
        key: FlowKey,
        tcp_flags: u8,
        ttl: u8,
        now: Instant,
    ) -> Result<Session, TranslateError> {
        // Queries from outside never open sessions; nor does TCP but a SYN.
        if proto == Protocol::Icmp {
            return Err(TranslateError::NoEntry);
        }
        let m = self.live_mapping(proto, key.dst, now)?;
        let allowed = m.permanent
            || match self.config.filtering.get(proto) {
                Filtering::EndpointIndependent => true,
                Filtering::AddressDependent => {
                    self.mappings.knows_remote(proto, m.external, key.src.addr)
                }
                Filtering::AddressAndPortDependent => false,
            };
        if !allowed {
            return Err(TranslateError::Filtered);
        }
        self.check_session_limit(&m)?;
        if proto == Protocol::Tcp
            && tcp_flags & (flags::SYN | flags::ACK | flags::RST) != flags::SYN
        {
            return Err(TranslateError::Filtered);
        }
        if ttl <= 1 {
            return Err(TranslateError::TtlExceeded);
        }
        let xl = FlowKey::new(key.src, m.internal);
        Ok(new_session(
            key,
            xl,
            Origin::Outside,
            Some(m.external),
            None,
        ))
    }

    /// A new session for an inside host reaching another inside host
    /// through a mapping of the external address (hairpinning, RFC 4787
    /// REQ-9, RFC 5382 REQ-8): it arrives from the sender's own external
    /// endpoint. Inside hosts could reach each other directly, so the
    /// destination mapping's filter is not applied.
    fn new_hairpin(
        &mut self,
        proto: Protocol,
        key: FlowKey,
        ttl: u8,
        rng: &mut dyn RandomSource,
        now: Instant,
    ) -> Result<Session, TranslateError> {
        if proto == Protocol::Icmp {
            // Queries to the external address are for the NAT itself.
            return Err(TranslateError::NoEntry);
        }
        let target = self.live_mapping(proto, key.dst, now)?;
        self.check_session_limit(&target)?;
        if ttl <= 1 {
            return Err(TranslateError::TtlExceeded);
        }
        let ext = self
            .mappings
            .get_or_create(&self.config, proto, key.src, key.dst, rng)
            .map_err(mapping_error)?;
        let xl = FlowKey::new(ext, target.internal);
        Ok(new_session(
            key,
            xl,
            Origin::Hairpin,
            Some(ext),
            Some(target.external),
        ))
    }

    /// The mapping whose external endpoint is `external`, if it is alive.
    /// A dynamic UDP or ICMP mapping whose outbound life is over is gone,
    /// even if its sessions have not been swept yet.
    fn live_mapping(
        &self,
        proto: Protocol,
        external: Endpoint,
        now: Instant,
    ) -> Result<mapping::Mapping, TranslateError> {
        let m = *self
            .mappings
            .by_external(proto, external)
            .ok_or(TranslateError::NoEntry)?;
        let outlived = proto != Protocol::Tcp
            && !m.permanent
            && !self.config.inbound_refresh
            && m.deadline <= now;
        if outlived {
            return Err(TranslateError::NoEntry);
        }
        Ok(m)
    }

    /// Refuses one more session on a mapping that holds its limit (RFC 6888
    /// REQ-5): one mapping cannot fill the table, whoever sends to it.
    fn check_session_limit(&self, m: &mapping::Mapping) -> Result<(), TranslateError> {
        match self.config.per_mapping_sessions {
            Some(limit) if m.sessions >= limit => Err(TranslateError::SessionLimit),
            _ => Ok(()),
        }
    }

    /// Stores a new session (making room as the policy says) and counts
    /// it on its mappings; on failure, a mapping made for it goes again.
    fn start_session(
        &mut self,
        proto: Protocol,
        mut session: Session,
        tcp_flags: u8,
        from_inside: bool,
        now: Instant,
    ) -> Result<Session, TranslateError> {
        let config = self.config;
        // A new session gets its first timer whichever way its packet came;
        // the TCP phase notes which end sent it.
        refresh(
            &mut session.state,
            &config,
            proto,
            tcp_flags,
            true,
            from_inside,
            now,
        );
        if proto != Protocol::Tcp {
            if let Some(ext) = session.state.mapping {
                if from_inside {
                    self.mappings
                        .note_outbound(proto, ext, session.state.expires);
                } else if !config.inbound_refresh {
                    // Inbound traffic never extends a mapping's life: a new
                    // inbound session ends with the mapping's outbound
                    // deadline (RFC 4787 REQ-6; port forwards never end).
                    if let Some(m) = self.mappings.by_external(proto, ext) {
                        session.state.expires = session.state.expires.min(m.deadline);
                    }
                }
            }
        }
        match self.insert(proto, session, now) {
            Ok(()) => {
                self.mappings.attach(proto, &session);
                Ok(session)
            }
            Err(e) => {
                if let Some(ext) = session.state.mapping {
                    self.mappings.release(proto, ext);
                }
                Err(match e {
                    InsertError::Full => TranslateError::TableFull,
                    InsertError::Overlap => TranslateError::Conflict,
                })
            }
        }
    }

    /// Inserts a session; when the table is full, reclaims expired sessions
    /// first, then refuses or evicts the least recently used one as
    /// [`Config::when_full`] says.
    fn insert(
        &mut self,
        proto: Protocol,
        session: Session,
        now: Instant,
    ) -> Result<(), InsertError> {
        match self.store.insert(proto, session) {
            Err(InsertError::Full) => {}
            other => return other,
        }
        self.expire_table(proto, now, SWEEP_WHEN_FULL);
        if self.store.len(proto) >= self.store.capacity(proto)
            && self.config.when_full == WhenFull::EvictLeastRecentlyUsed
        {
            let mut victim = None;
            self.store
                .for_least_recent(proto, 1, &mut |s| victim = Some(s.key));
            if let Some(id) = victim {
                self.remove_session(proto, &id);
            }
        }
        self.store.insert(proto, session)
    }

    fn remove_session(&mut self, proto: Protocol, id: &FlowKey) -> Option<Session> {
        let s = self.store.remove(proto, id)?;
        self.mappings.detach(proto, &s);
        Some(s)
    }

    /// Removes expired sessions, looking at no more than `budget` of the
    /// least recently used sessions per table. Returns how many went.
    pub fn expire(&mut self, now: Instant, budget: usize) -> usize {
        Protocol::ALL
            .iter()
            .map(|p| self.expire_table(*p, now, budget))
            .sum()
    }

    fn expire_table(&mut self, proto: Protocol, now: Instant, budget: usize) -> usize {
        let mut removed = 0;
        let mut left = budget;
        while left > 0 {
            let chunk = left.min(8);
            left -= chunk;
            let mut expired = [None; 8];
            let mut n = 0;
            self.store.for_least_recent(proto, chunk, &mut |s| {
                if s.state.expires <= now {
                    if let Some(slot) = expired.get_mut(n) {
                        *slot = Some(s.key);
                        n += 1;
                    }
                }
            });
            for id in expired.iter().flatten() {
                if self.remove_session(proto, id).is_some() {
                    removed += 1;
                }
            }
            if n < chunk {
                break; // met a live session: the rest are younger
            }
        }
        removed
    }

    /// Adds the rule that `packet` starts, as `mode` says, translating its
    /// source to `xl_host` and a port (or ICMP identifier) from `ports`:
    /// mirage-nat's `add`. The rule is a session that [`Nat::translate`]
    /// and [`Nat::process`] use both ways.
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
        now: Instant,
    ) -> Result<Endpoint, AddError> {
        let ip = Ipv4Packet::new_checked(packet)?;
        let (proto, key, tcp_flags) = match classify(&ip)? {
            Classified::IcmpError => return Err(CannotNat::IcmpError.into()),
            Classified::Flow {
                proto: Protocol::Icmp,
                icmp_request: false,
                ..
            } => return Err(CannotNat::IcmpNotARequest.into()),
            Classified::Flow {
                proto,
                key,
                tcp_flags,
                ..
            } => (proto, key, tcp_flags),
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
            let mut session = new_session(
                key,
                rule::translation(proto, &key, xl, mode),
                Origin::Rule,
                None,
                None,
            );
            let config = self.config;
            refresh(
                &mut session.state,
                &config,
                proto,
                tcp_flags,
                true,
                true,
                now,
            );
            match self.insert(proto, session, now) {
                Ok(()) => return Ok(xl),
                Err(InsertError::Overlap) => continue,
                Err(InsertError::Full) => return Err(AddError::TableFull),
            }
        }
        Err(AddError::Overlap)
    }

    /// Removes every session started by `addr`, or redirected to it, and
    /// returns the translated ports they held (for instance when a client
    /// goes away).
    pub fn remove_connections(&mut self, addr: Ipv4Addr) -> FreedPorts {
        let mut doomed = alloc::vec::Vec::new();
        self.store.for_each(&mut |proto, s| {
            if s.key.src.addr == addr || s.reply_key().src.addr == addr {
                doomed.push((proto, s.key));
            }
        });
        let mut freed = FreedPorts::default();
        for (proto, id) in doomed {
            if let Some(s) = self.remove_session(proto, &id) {
                freed.get_mut(proto).push(s.xl.src.port);
            }
        }
        freed
    }

    /// Whether no session has the key `src:src_port -> dst:dst_port`, in
    /// either direction (the original's `is_port_free`).
    pub fn is_port_free(
        &self,
        proto: Protocol,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        src_port: u16,
        dst_port: u16,
    ) -> bool {
        let key = FlowKey::new(Endpoint::new(src, src_port), Endpoint::new(dst, dst_port));
        !self.store.contains_key(proto, &key)
    }

    /// Removes every session and dynamic mapping; port forwards stay.
    pub fn reset(&mut self) {
        self.store.clear();
        self.mappings.clear_dynamic();
    }

    /// The number of mappings (dynamic and port forwards) for `proto`.
    pub fn mapping_count(&self, proto: Protocol) -> usize {
        self.mappings.len(proto)
    }

    /// The external endpoint of the mapping whose external endpoint is
    /// `external` maps to, if any: its inside endpoint.
    pub fn mapping_internal(&self, proto: Protocol, external: Endpoint) -> Option<Endpoint> {
        self.mappings
            .by_external(proto, external)
            .map(|m| m.internal)
    }
}

/// A session with no TCP history that expires at once (the caller sets
/// its timer).
fn new_session(
    key: FlowKey,
    xl: FlowKey,
    origin: Origin,
    mapping: Option<Endpoint>,
    peer_mapping: Option<Endpoint>,
) -> Session {
    Session {
        key,
        xl,
        state: SessionState {
            origin,
            expires: Instant::ZERO,
            tcp: TcpTrack::default(),
            mapping,
            peer_mapping,
        },
    }
}

/// Updates a session for a packet: TCP sessions follow the connection's
/// phase both ways (`tcp_from_inside` says which end sent the segment);
/// UDP and ICMP sessions are refreshed by outbound packets, and by inbound
/// ones if [`Config::inbound_refresh`] says so.
#[allow(clippy::too_many_arguments)]
fn refresh(
    state: &mut SessionState,
    config: &Config,
    proto: Protocol,
    tcp_flags: u8,
    from_inside: bool,
    tcp_from_inside: bool,
    now: Instant,
) {
    let timeout: Option<Duration> = match proto {
        Protocol::Tcp => {
            state.tcp.update(tcp_flags, tcp_from_inside);
            Some(state.tcp.timeout(config))
        }
        _ if from_inside || config.inbound_refresh => Some(config.datagram_timeout(proto)),
        _ => None,
    };
    if let Some(t) = timeout {
        state.expires = now + t;
    }
}

/// The type of an ICMP message that RFC 5508 REQ-10c says a NAT should
/// not support: Source Quench (deprecated, RFC 6633) and Information
/// Request/Reply (obsolete). [`Nat::translate`] still translates them,
/// as mirage-nat did; [`Nat::process`] drops them.
fn deprecated_icmp(ip: &Ipv4Packet<&[u8]>) -> Option<u8> {
    use crate::wire::icmp::types::{INFO_REPLY, INFO_REQUEST, SOURCE_QUENCH};
    if ip.protocol() != crate::wire::ipv4::PROTO_ICMP {
        return None;
    }
    let ty = *ip.payload().first()?;
    matches!(ty, SOURCE_QUENCH | INFO_REQUEST | INFO_REPLY).then_some(ty)
}

/// The mapping of the end that sent a packet matching `hit`, if it is a
/// mapping the policy made (not an explicit rule).
fn sender_mapping(state: &SessionState, hit: Hit) -> Option<Endpoint> {
    match (state.origin, hit) {
        (Origin::Inside, Hit::Key)
        | (Origin::Outside, Hit::Reply)
        | (Origin::Hairpin, Hit::Key) => state.mapping,
        (Origin::Hairpin, Hit::Reply) => state.peer_mapping,
        _ => None,
    }
}

fn mapping_error(e: MappingError) -> TranslateError {
    match e {
        MappingError::HostLimit => TranslateError::HostLimit,
        MappingError::PortsExhausted => TranslateError::PortsExhausted,
    }
}
