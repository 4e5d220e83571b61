//! The gateway: frames from two devices through ARP and the NAT engine.
//!
//! One path per packet: `device.recv -> Ethernet -> ARP or IPv4 -> [local:
//! ping] -> Nat::translate in place (on a miss: Nat::add, then translate)
//! -> next hop -> ARP -> device.send` of the same buffer. Nothing on that
//! path allocates once a flow's rule exists and its next hop is known.
//!
//! Private side: hosts in the private prefix; their traffic leaves through
//! the public address (source NAT, a random port from 1024-65535).
//! Public side: only packets to the public address that match a rule or a
//! port forward come in; everything else is dropped and counted.

use std::net::Ipv4Addr;
use std::time::Instant;

use etherparse::PacketBuilder;
use tracing::{debug, warn};
use unat::fragment::{self, Limits, Reassembler};
use unat::icmp_out::{self, ErrorKind, PeerRateLimiter};
use unat::wire::checksum;
use unat::wire::icmp::{self, IcmpMessage};
use unat::wire::ipv4::{Ipv4Packet, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use unat::wire::WireError;
use unat::{is_translatable, Direction, Nat, PacketError, Store, TranslateError};

use crate::arp::{Arp, Resolution, BROADCAST, ETH_HEADER_LEN};
use crate::config::Cidr;
use crate::device::{Device, MacAddr};
use crate::stats::Stats;

/// Frames handled per device per [`Gateway::poll`], so one busy side
/// cannot starve the other.
const BATCH: usize = 64;
/// Receive buffer: the largest frame a 64 KiB IP packet makes, so that an
/// offloaded super-frame is seen whole (and dropped as too big).
const RX_BUF: usize = 65536 + ETH_HEADER_LEN;
/// ICMP errors the router may send per second in all, by default.
pub const DEFAULT_ICMP_ERRORS_PER_SEC: u32 = 100;
/// ICMP errors the router may send per second to one destination.
const ICMP_ERRORS_PER_PEER_PER_SEC: u32 = 10;
/// Idle sessions looked at for expiry per table on each poll.
const IDLE_SWEEP: usize = 64;
/// TTL of packets the router originates (ping replies).
const OWN_TTL: u8 = 64;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;

/// Counters shown (at 0) from the start, so that a reader of the stats file
/// sees what exists before it happens.
const COUNTERS: &[&str] = &[
    "rx_frames_private",
    "rx_frames_public",
    "tx_frames_private",
    "tx_frames_public",
    "translated_outbound",
    "translated_inbound",
    "sessions_created",
    "sessions_expired",
    "forwarded",
    "echo_replies_sent",
    "icmp_errors_sent",
    "fragments_held",
    "datagrams_reassembled",
    "fragments_sent",
    "arp_replies_sent",
    "arp_requests_sent",
];

/// The two sides of the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Toward the private hosts.
    Private,
    /// Toward the rest of the world.
    Public,
}

/// One side: a device, the router's address on it, and its ARP state.
pub struct Link {
    dev: Box<dyn Device>,
    cidr: Cidr,
    mac: MacAddr,
    mtu: usize,
    arp: Arp,
    /// Fragments arriving on this link, until their datagram is whole.
    fragments: Reassembler,
}

impl Link {
    /// A link on `dev` where the router has the address `cidr`.
    pub fn new(dev: Box<dyn Device>, cidr: Cidr) -> Self {
        let mac = dev.mac();
        let mtu = dev.mtu();
        Link {
            arp: Arp::new(cidr.addr, mac),
            fragments: Reassembler::new(Limits::default()),
            dev,
            cidr,
            mac,
            mtu,
        }
    }

    /// The device.
    pub fn device(&self) -> &dyn Device {
        self.dev.as_ref()
    }
}

/// The NAT gateway between a private and a public link.
pub struct Gateway<S> {
    nat: Nat<S>,
    private: Link,
    public: Link,
    public_gateway: Option<Ipv4Addr>,
    rng: Box<dyn FnMut() -> u32 + Send>,
    /// The origin of the clock handed to the engine.
    epoch: Instant,
    /// Bounds the ICMP errors the router sends, per destination and in
    /// all; `None`: it sends none.
    icmp_errors: Option<PeerRateLimiter>,
    /// The random key of the per-destination ICMP error buckets.
    icmp_key: u64,
    /// The IP identification of the next datagram the router fragments on
    /// the public side (RFC 7857 §10: unique per datagram).
    next_ip_id: u16,
    stats: Stats,
    buf: Vec<u8>,
}

impl<S: Store> Gateway<S> {
    /// A gateway. The NAT's external address should be the public link's
    /// address (port forwards are the NAT's static mappings). `rng` feeds
    /// the choice of external ports: it should be unpredictable (RFC 6056).
    /// `epoch` is the origin of the engine's clock.
    pub fn new(
        nat: Nat<S>,
        private: Link,
        public: Link,
        public_gateway: Option<Ipv4Addr>,
        mut rng: Box<dyn FnMut() -> u32 + Send>,
        epoch: Instant,
    ) -> Self {
        let next_ip_id = rng() as u16;
        let icmp_key = (u64::from(rng()) << 32) | u64::from(rng());
        Gateway {
            next_ip_id,
            icmp_key,
            nat,
            private,
            public,
            public_gateway,
            rng,
            epoch,
            icmp_errors: Some(PeerRateLimiter::new(
                ICMP_ERRORS_PER_PEER_PER_SEC,
                DEFAULT_ICMP_ERRORS_PER_SEC,
                icmp_key,
            )),
            stats: Stats::with_counters(COUNTERS),
            buf: vec![0; RX_BUF],
        }
    }

    /// Sets how many ICMP errors (Time Exceeded, Fragmentation Needed)
    /// the router may send per second in all, in bursts of as many; each
    /// destination also gets at most 10 a second, so no host can use up
    /// the others' errors. `None` sends none (RFC 5508 REQ-9 allows turning
    /// them off; they are on by default).
    pub fn set_icmp_error_rate(&mut self, per_second: Option<u32>) {
        let key = self.icmp_key;
        self.icmp_errors =
            per_second.map(|r| PeerRateLimiter::new(ICMP_ERRORS_PER_PEER_PER_SEC.min(r), r, key));
    }

    /// Brings the gauges (sessions per table) up to date in the counters.
    pub fn update_gauges(&mut self) {
        for (proto, name) in [
            (unat::Protocol::Tcp, "sessions_tcp"),
            (unat::Protocol::Udp, "sessions_udp"),
            (unat::Protocol::Icmp, "sessions_icmp"),
        ] {
            self.stats.set(name, self.nat.store().len(proto) as u64);
        }
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The NAT engine.
    pub fn nat(&self) -> &Nat<S> {
        &self.nat
    }

    /// One link.
    pub fn link(&self, side: Side) -> &Link {
        match side {
            Side::Private => &self.private,
            Side::Public => &self.public,
        }
    }

    fn link_mut(&mut self, side: Side) -> &mut Link {
        match side {
            Side::Private => &mut self.private,
            Side::Public => &mut self.public,
        }
    }

    /// Handles the frames waiting on both devices (up to a batch each) and
    /// runs the ARP timers. Returns how many frames were handled.
    pub fn poll(&mut self, now: Instant) -> usize {
        let mut buf = std::mem::take(&mut self.buf);
        let mut handled = 0;
        for side in [Side::Private, Side::Public] {
            for _ in 0..BATCH {
                let len = match self.link_mut(side).dev.recv(&mut buf) {
                    Ok(Some(len)) => len,
                    Ok(None) => break,
                    Err(e) => {
                        warn!(device = self.link(side).dev.name(), error = %e, "receive failed");
                        self.stats.inc("rx_errors");
                        break;
                    }
                };
                handled += 1;
                self.stats.inc(match side {
                    Side::Private => "rx_frames_private",
                    Side::Public => "rx_frames_public",
                });
                match buf.get_mut(..len) {
                    Some(frame) => self.handle_frame(side, frame, now),
                    None => self.stats.drop("frame_too_big"),
                }
            }
        }
        self.buf = buf;
        self.timers(now);
        handled
    }

    fn timers(&mut self, now: Instant) {
        let expired = self.nat.expire(self.clock(now), IDLE_SWEEP);
        self.stats.add("sessions_expired", expired as u64);
        let engine_now = self.clock(now);
        for side in [Side::Private, Side::Public] {
            let stale = self.link_mut(side).fragments.expire(engine_now);
            self.stats.add("fragment_datagrams_expired", stale as u64);
            let evicted = self.link(side).fragments.stats().evicted;
            self.stats.set(
                match side {
                    Side::Private => "fragment_datagrams_evicted_private",
                    Side::Public => "fragment_datagrams_evicted_public",
                },
                evicted,
            );
            if let Some(drops) = self.link_mut(side).dev.kernel_drops() {
                self.stats.set(
                    match side {
                        Side::Private => "rx_kernel_drops_private",
                        Side::Public => "rx_kernel_drops_public",
                    },
                    drops,
                );
            }
            let (requests, dropped) = self.link_mut(side).arp.poll(now);
            for r in requests {
                self.send(side, &r, "arp_requests_sent");
            }
            for _ in 0..dropped {
                self.stats.drop("arp_unresolved");
            }
        }
    }

    fn drop(&mut self, side: Side, reason: &'static str) {
        debug!(?side, reason, "dropped");
        self.stats.drop(reason);
    }

    fn send(&mut self, side: Side, frame: &[u8], counter: &'static str) {
        match self.link_mut(side).dev.send(frame) {
            Ok(()) => {
                self.stats.inc(counter);
                self.stats.inc(match side {
                    Side::Private => "tx_frames_private",
                    Side::Public => "tx_frames_public",
                });
            }
            Err(e) => {
                debug!(?side, error = %e, "send failed");
                self.stats.drop("tx_error");
            }
        }
    }

    /// Handles one received Ethernet frame.
    pub fn handle_frame(&mut self, side: Side, frame: &mut [u8], now: Instant) {
        let (Some(dst_mac), Some(ether_type)) = (frame.get(0..6), be16(frame, 12)) else {
            return self.drop(side, "bad_frame");
        };
        let link_broadcast = dst_mac == BROADCAST;
        if dst_mac != self.link(side).mac && !link_broadcast {
            return self.drop(side, "not_our_mac");
        }
        match ether_type {
            ETHERTYPE_ARP => self.handle_arp(side, frame, now),
            // RFC 1812 §5.3.4: a link-layer broadcast is never forwarded,
            // and the router serves nothing on it but ARP.
            ETHERTYPE_IPV4 if link_broadcast => self.drop(side, "link_broadcast"),
            ETHERTYPE_IPV4 => self.handle_ipv4(side, frame, now),
            _ => self.drop(side, "unsupported_ethertype"),
        }
    }

    fn handle_arp(&mut self, side: Side, frame: &[u8], now: Instant) {
        let payload = frame.get(ETH_HEADER_LEN..).unwrap_or(&[]);
        let Some(out) = self.link_mut(side).arp.handle(payload, now) else {
            return self.drop(side, "bad_arp");
        };
        match out.reply {
            Some(reply) => self.send(side, &reply, "arp_replies_sent"),
            None if out.released.is_empty() => self.stats.inc("arp_not_for_us"),
            None => {}
        }
        for (mut queued, mac) in out.released {
            if let Some(d) = queued.get_mut(0..6) {
                d.copy_from_slice(&mac);
            }
            self.send(side, &queued, "forwarded");
        }
    }

    fn handle_ipv4(&mut self, side: Side, frame: &mut [u8], now: Instant) {
        let Some(packet) = frame.get(ETH_HEADER_LEN..) else {
            return self.drop(side, "bad_frame");
        };
        let (src, dst, proto, len, dont_fragment, is_fragment) =
            match Ipv4Packet::new_checked(packet) {
                Ok(ip) if !ip.verify_checksum() => {
                    return self.drop(side, WireError::BadHeaderChecksum.reason())
                }
                Ok(ip) => (
                    ip.src(),
                    ip.dst(),
                    ip.protocol(),
                    usize::from(ip.total_len()),
                    ip.dont_fragment(),
                    ip.is_fragment(),
                ),
                Err(e) => return self.drop(side, e.reason()),
            };
        let (private, public) = (self.private.cidr, self.public.cidr);

        // Addresses that are never forwarded, whichever side they come from.
        if dst.is_broadcast()
            || dst.is_multicast()
            || [private, public]
                .iter()
                .any(|c| dst == c.broadcast() || dst == c.network())
        {
            return self.drop(side, "broadcast_or_multicast");
        }
        if !is_translatable(dst) {
            return self.drop(side, "bad_destination");
        }
        // Sources must belong to the side they arrive on (no spoofing).
        let source_ok = match side {
            Side::Private => private.is_host(src) && src != private.addr,
            Side::Public => {
                is_translatable(src)
                    && !private.contains(src)
                    && src != public.addr
                    && src != public.broadcast()
                    && src != public.network()
            }
        };
        if !source_ok {
            return self.drop(
                side,
                match side {
                    Side::Private => "source_not_private",
                    Side::Public => "bad_source",
                },
            );
        }

        // Where it is going must be somewhere the router serves: itself, or
        // through the NAT. Checked before fragments are held, so that
        // nothing bound elsewhere takes reassembly memory.
        let for_router =
            dst == self.link(side).cidr.addr || (side == Side::Private && dst == public.addr);
        if dst == private.addr && proto != PROTO_ICMP {
            return self.drop(side, "local_not_served");
        }
        if side == Side::Public && dst != public.addr {
            return self.drop(side, "not_addressed_to_router");
        }
        if side == Side::Private && private.contains(dst) && dst != private.addr {
            return self.drop(side, "private_destination");
        }

        // Fragments wait here until their datagram is whole; it then takes
        // the path of any packet, and is fragmented again on the way out if
        // it is too big for the next link (RFC 4787 REQ-14: any order).
        if is_fragment {
            return self.reassemble(side, frame, now);
        }

        // Packets for the router itself: it answers pings. Anything else to
        // the public address goes to the NAT: replies, forwards, hairpins.
        if for_router && proto == PROTO_ICMP && self.answer_ping(side, frame) {
            return;
        }
        if dst == private.addr {
            return self.drop(side, "local_not_served");
        }

        // What the egress side can take, checked before any state is made.
        let egress_mtu = match side {
            Side::Private => self.public.mtu,
            Side::Public => self.private.mtu,
        };
        if len > egress_mtu && dont_fragment {
            // Path MTU discovery (RFC 1191, RFC 4787 REQ-13); without DF the
            // packet is fragmented on the way out.
            let mtu = u16::try_from(egress_mtu).unwrap_or(u16::MAX);
            self.send_icmp_error(side, frame, ErrorKind::FragmentationNeeded { mtu }, now);
            return self.drop(side, "too_big_for_mtu");
        }
        if side == Side::Private
            && dst != public.addr
            && !public.contains(dst)
            && self.public_gateway.is_none()
        {
            return self.drop(side, "no_route");
        }
        if self.device_partial_checksum(side) {
            complete_transport_checksum(frame);
        }

        let Some(packet) = frame.get_mut(ETH_HEADER_LEN..) else {
            return self.drop(side, "bad_frame");
        };
        let direction = match side {
            Side::Private => Direction::Outbound,
            Side::Public => Direction::Inbound,
        };
        let engine_now = self.clock(now);
        let rng = &mut self.rng;
        match self
            .nat
            .process(packet, direction, engine_now, &mut || rng())
        {
            Ok(t) => {
                self.count_translated(side);
                if t.new_session {
                    self.stats.inc("sessions_created");
                }
                // Hairpinned traffic goes back out of the private side.
                let out = if private.contains(t.dst) {
                    Side::Private
                } else {
                    Side::Public
                };
                self.forward(out, frame, t.dst, now);
            }
            Err(TranslateError::TtlExceeded) => {
                // The packet would have been forwarded: say so to its sender
                // from this side's address, so traceroute sees the NAT.
                self.drop(side, TranslateError::TtlExceeded.reason());
                self.send_icmp_error(side, frame, ErrorKind::TimeExceeded, now);
            }
            Err(e) => self.drop(side, e.reason()),
        }
    }

    /// Sends the ICMP error `kind` about the IPv4 packet in `frame` back to
    /// its sender on `side`, from the router's address there, within the
    /// rate limit and RFC 1812's rules.
    fn send_icmp_error(&mut self, side: Side, frame: &[u8], kind: ErrorKind, now: Instant) {
        let engine_now = self.clock(now);
        if self.icmp_errors.is_none() {
            return;
        }
        let (Some(packet), Some(prev_hop)) = (
            frame.get(ETH_HEADER_LEN..),
            frame.get(6..12).and_then(|m| <[u8; 6]>::try_from(m).ok()),
        ) else {
            return;
        };
        let (addr, mac) = (self.link(side).cidr.addr, self.link(side).mac);
        let mut buf = [0u8; ETH_HEADER_LEN + icmp_out::MAX_ERROR_LEN];
        let (eth, ip) = buf.split_at_mut(ETH_HEADER_LEN);
        let n = match icmp_out::error_about(packet, addr, kind, ip) {
            Ok(n) => n,
            Err(e) => {
                debug!(?side, reason = e.reason(), "no ICMP error");
                return;
            }
        };
        let to = Ipv4Packet::new_quoted(packet).map(|p| p.src()).ok();
        let allowed = match (self.icmp_errors.as_mut(), to) {
            (Some(l), Some(to)) => l.allow(to, engine_now),
            _ => false,
        };
        if !allowed {
            self.stats.inc("icmp_errors_rate_limited");
            return;
        }
        if let Some(d) = eth.get_mut(0..6) {
            d.copy_from_slice(&prev_hop);
        }
        if let Some(d) = eth.get_mut(6..12) {
            d.copy_from_slice(&mac);
        }
        if let Some(d) = eth.get_mut(12..14) {
            d.copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        }
        if let Some(out) = buf.get(..ETH_HEADER_LEN + n) {
            self.send(side, out, "icmp_errors_sent");
        }
    }

    /// The engine's time for `now`.
    fn clock(&self, now: Instant) -> unat::Instant {
        let ms = now.saturating_duration_since(self.epoch).as_millis();
        unat::Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// Whether the device said the frame it just gave has a partial
    /// checksum (the sender left it to an offload engine).
    fn device_partial_checksum(&self, side: Side) -> bool {
        self.link(side).dev.last_rx_partial_checksum()
    }

    fn count_translated(&mut self, from: Side) {
        self.stats.inc(match from {
            Side::Private => "translated_outbound",
            Side::Public => "translated_inbound",
        });
    }

    /// Sends the translated packet in `frame` out of `side` toward `dst`.
    fn forward(&mut self, side: Side, frame: &mut [u8], dst: Ipv4Addr, now: Instant) {
        let ip_len = usize::from(be16(frame, ETH_HEADER_LEN + 2).unwrap_or(0));
        let link = self.link(side);
        let next_hop = if link.cidr.contains(dst) {
            dst
        } else if let (Side::Public, Some(gw)) = (side, self.public_gateway) {
            gw
        } else {
            return self.drop(side, "no_route");
        };
        let mac = link.mac;
        let Some(frame) = frame.get_mut(..ETH_HEADER_LEN + ip_len) else {
            return self.drop(side, "bad_frame");
        };
        if side == Side::Public && self.leaks_private_source(frame) {
            return self.drop(side, "private_source_leak");
        }
        if let Some(s) = frame.get_mut(6..12) {
            s.copy_from_slice(&mac);
        }
        if ip_len > self.link(side).mtu {
            return self.forward_fragmented(side, frame, next_hop, now);
        }
        self.send_to_next_hop(side, frame, next_hop, now);
    }

    /// Splits the too-big packet in `frame` (DF clear) into fragments that
    /// fit `side`'s MTU and sends each to `next_hop`. Datagrams leaving on
    /// the public side get a fresh IP identification first (RFC 7857 §10,
    /// RFC 6864): inside hosts' identifications could collide there.
    fn forward_fragmented(
        &mut self,
        side: Side,
        frame: &mut [u8],
        next_hop: Ipv4Addr,
        now: Instant,
    ) {
        if side == Side::Public {
            let id = self.next_ip_id;
            self.next_ip_id = self.next_ip_id.wrapping_add(1);
            if let Some(packet) = frame.get_mut(ETH_HEADER_LEN..) {
                set_ip_id(packet, id);
            }
        }
        for mut piece in self.fragments_of(side, frame) {
            self.send_to_next_hop(side, &mut piece, next_hop, now);
        }
    }

    /// The packet in `frame` split into frames that fit `side`'s MTU, each
    /// with `frame`'s Ethernet header; none (counted) if it cannot be split.
    fn fragments_of(&mut self, side: Side, frame: &[u8]) -> Vec<Vec<u8>> {
        let (head, packet) = frame.split_at(ETH_HEADER_LEN.min(frame.len()));
        let mut pieces: Vec<Vec<u8>> = Vec::new();
        let result = fragment::fragment(packet, self.link(side).mtu, &mut |piece| {
            let mut f = Vec::with_capacity(ETH_HEADER_LEN + piece.len());
            f.extend_from_slice(head);
            f.extend_from_slice(piece);
            pieces.push(f);
        });
        match result {
            Ok(n) => self.stats.add("fragments_sent", n as u64),
            Err(e) => {
                self.drop(side, e.reason());
                pieces.clear();
            }
        }
        pieces
    }

    /// Sends `frame` (source MAC set) to `next_hop`, resolving its MAC.
    fn send_to_next_hop(&mut self, side: Side, frame: &mut [u8], next_hop: Ipv4Addr, now: Instant) {
        match self
            .link_mut(side)
            .arp
            .resolve_or_queue(next_hop, frame, now)
        {
            Resolution::Known(dst_mac) => {
                if let Some(d) = frame.get_mut(0..6) {
                    d.copy_from_slice(&dst_mac);
                }
                self.send(side, frame, "forwarded");
            }
            Resolution::Queued(request) => {
                self.stats.inc("arp_queued");
                if let Some(r) = request {
                    self.send(side, &r, "arp_requests_sent");
                }
            }
            Resolution::QueueFull => self.drop(side, "arp_queue_full"),
        }
    }

    /// Holds a fragment until its datagram is whole, then handles the whole
    /// datagram as if it had arrived in one frame.
    fn reassemble(&mut self, side: Side, frame: &[u8], now: Instant) {
        let engine_now = self.clock(now);
        let (Some(head), Some(packet)) = (frame.get(..ETH_HEADER_LEN), frame.get(ETH_HEADER_LEN..))
        else {
            return self.drop(side, "bad_frame");
        };
        match self.link_mut(side).fragments.push(packet, engine_now) {
            Ok(None) => self.stats.inc("fragments_held"),
            Ok(Some(datagram)) => {
                self.stats.inc("datagrams_reassembled");
                let mut whole = Vec::with_capacity(ETH_HEADER_LEN + datagram.len());
                whole.extend_from_slice(head);
                whole.extend_from_slice(&datagram);
                self.handle_ipv4(side, &mut whole, now);
            }
            Err(e) => self.drop(side, e.reason()),
        }
    }

    /// Whether the packet in `frame` would carry a private source address
    /// out of the public side. The engine gives every translated packet,
    /// ICMP errors from private routers included (RFC 5508 REQ-5c), the
    /// public address; this is the last check that nothing else slips out.
    fn leaks_private_source(&self, frame: &[u8]) -> bool {
        frame
            .get(ETH_HEADER_LEN..)
            .and_then(|p| Ipv4Packet::new_checked(p).ok())
            .is_none_or(|ip| self.private.cidr.contains(ip.src()))
    }

    /// Answers an echo request addressed to the router; `false` if the
    /// packet is not one (the caller goes on with it).
    fn answer_ping(&mut self, side: Side, frame: &[u8]) -> bool {
        let Some(packet) = frame.get(ETH_HEADER_LEN..) else {
            return false;
        };
        let Ok(ip) = Ipv4Packet::new_checked(packet) else {
            return false;
        };
        let Ok(msg) = IcmpMessage::new_checked(ip.payload()) else {
            return false;
        };
        if msg.msg_type() != icmp::types::ECHO_REQUEST {
            return false;
        }
        if ip.is_fragment() {
            self.drop(side, PacketError::Fragment.reason());
            return true;
        }
        if !checksum::verify(ip.payload(), 0) {
            self.drop(side, WireError::BadIcmpChecksum.reason());
            return true;
        }
        let (Some(peer), Some(id), Some(seq)) = (
            frame.get(6..12).and_then(|m| <[u8; 6]>::try_from(m).ok()),
            be16(ip.payload(), 4),
            be16(ip.payload(), 6),
        ) else {
            return false;
        };
        let mut reply = Vec::with_capacity(frame.len());
        let built = PacketBuilder::ethernet2(self.link(side).mac, peer)
            .ipv4(ip.dst().octets(), ip.src().octets(), OWN_TTL)
            .icmpv4_echo_reply(id, seq)
            .write(&mut reply, msg.body());
        if built.is_err() {
            self.drop(side, "bad_ping");
            return true;
        }
        // The builder sets DF; the router's own answers may be fragmented.
        if let Some(packet) = reply.get_mut(ETH_HEADER_LEN..) {
            if let Ok(mut ip) = Ipv4Packet::new_checked(packet) {
                ip.set_dont_fragment(false);
                ip.fill_checksum();
            }
        }
        if reply.len() <= ETH_HEADER_LEN + self.link(side).mtu {
            self.send(side, &reply, "echo_replies_sent");
        } else {
            // The answer to a reassembled ping goes back in fragments, to
            // the hop the request came from (its MAC is already in place).
            let pieces = self.fragments_of(side, &reply);
            if !pieces.is_empty() {
                self.stats.inc("echo_replies_sent");
            }
            for piece in pieces {
                self.send(side, &piece, "fragments_to_peer");
            }
        }
        true
    }
}

/// The big-endian `u16` at `off`, if the buffer reaches that far.
fn be16(buf: &[u8], off: usize) -> Option<u16> {
    let b = buf.get(off..off.checked_add(2)?)?;
    <[u8; 2]>::try_from(b).ok().map(u16::from_be_bytes)
}

/// Fills in the TCP or UDP checksum of the IPv4 packet in `frame` from
/// scratch. A sender with checksum offload leaves only the pseudo-header
/// sum there, which incremental updates would carry along.
fn complete_transport_checksum(frame: &mut [u8]) {
    let Some(packet) = frame.get_mut(ETH_HEADER_LEN..) else {
        return;
    };
    let Ok(mut ip) = Ipv4Packet::new_checked(packet) else {
        return;
    };
    if ip.is_fragment() {
        return;
    }
    let (src, dst, proto) = (ip.src(), ip.dst(), ip.protocol());
    let offset = match proto {
        PROTO_TCP => 16,
        PROTO_UDP => 6,
        _ => return,
    };
    let l4 = ip.payload_mut();
    let Ok(len) = u16::try_from(l4.len()) else {
        return;
    };
    let Some(field) = l4.get_mut(offset..offset + 2) else {
        return;
    };
    field.copy_from_slice(&[0, 0]);
    let sum = checksum::pseudo_header_sum(src, dst, proto, len);
    let c = !checksum::fold(checksum::sum(l4, sum));
    let c = if proto == PROTO_UDP && c == 0 {
        0xffff
    } else {
        c
    };
    if let Some(field) = l4.get_mut(offset..offset + 2) {
        field.copy_from_slice(&c.to_be_bytes());
    }
}

/// Sets the IP identification of an IPv4 packet, updating its checksum.
fn set_ip_id(packet: &mut [u8], id: u16) {
    let (Some(old), Some(c)) = (be16(packet, 4), be16(packet, 10)) else {
        return;
    };
    let mut d = checksum::Delta::default();
    d.word(old, id);
    if let Some(f) = packet.get_mut(4..6) {
        f.copy_from_slice(&id.to_be_bytes());
    }
    if let Some(f) = packet.get_mut(10..12) {
        f.copy_from_slice(&d.apply(c).to_be_bytes());
    }
}
