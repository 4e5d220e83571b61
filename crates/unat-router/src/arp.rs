//! ARP for one interface (RFC 826): answering for the router's own address,
//! resolving next hops through a cache, and holding a bounded queue of
//! packets while a resolution is under way.
//!
//! Sans-IO: every call takes the current time and returns the frames to
//! send; nothing here touches a device or a clock.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use etherparse::{ArpEthIpv4Packet, ArpOperation, ArpPacketSlice, EtherType, Ethernet2Header};

use crate::device::MacAddr;

/// The Ethernet broadcast address.
pub const BROADCAST: MacAddr = [0xff; 6];
/// Length of an Ethernet II header.
pub const ETH_HEADER_LEN: usize = 14;

/// How long a learned neighbour is trusted.
const CACHE_LIFETIME: Duration = Duration::from_secs(60);
/// Time between two requests for the same address.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Requests sent before a resolution fails and its queue is dropped.
const MAX_ATTEMPTS: u8 = 3;
/// Packets held per address being resolved.
const QUEUE_PER_ADDRESS: usize = 16;
/// Packets held in all, per interface.
const QUEUE_TOTAL: usize = 256;
/// Neighbours remembered at most (a cap against address sweeps).
const CACHE_CAPACITY: usize = 4096;

struct Neighbour {
    mac: MacAddr,
    expires: Instant,
}

struct Pending {
    frames: VecDeque<Vec<u8>>,
    last_request: Instant,
    attempts: u8,
}

/// What happened to a packet handed to [`Arp::resolve_or_queue`].
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The neighbour is known: send to this MAC now.
    Known(MacAddr),
    /// Queued; send this ARP request (if any) now.
    Queued(Option<Vec<u8>>),
    /// The queue is full: the packet was dropped.
    QueueFull,
}

/// What an incoming ARP frame produced.
#[derive(Debug, Default)]
pub struct ArpOutput {
    /// A reply to send, if the frame asked for our address.
    pub reply: Option<Vec<u8>>,
    /// Queued frames (Ethernet header to fill) now resolved, with the MAC.
    pub released: Vec<(Vec<u8>, MacAddr)>,
}

/// ARP state for one interface.
pub struct Arp {
    ip: Ipv4Addr,
    mac: MacAddr,
    cache: HashMap<Ipv4Addr, Neighbour>,
    pending: HashMap<Ipv4Addr, Pending>,
    queued: usize,
}

impl Arp {
    /// ARP for an interface with this address and MAC.
    pub fn new(ip: Ipv4Addr, mac: MacAddr) -> Self {
        Arp {
            ip,
            mac,
            cache: HashMap::new(),
            pending: HashMap::new(),
            queued: 0,
        }
    }

    /// Handles an ARP packet (the Ethernet payload). Learns the sender if it
    /// is asking for us or answering us (RFC 826 merge), and answers
    /// requests for our address. `None` if the packet is not Ethernet/IPv4
    /// ARP, or claims a multicast, zero or our own MAC.
    pub fn handle(&mut self, payload: &[u8], now: Instant) -> Option<ArpOutput> {
        let arp = ArpPacketSlice::from_slice(payload)
            .ok()?
            .to_packet()
            .try_eth_ipv4()
            .ok()?;
        let sender = arp.sender_ipv4_addr();
        // A neighbour's MAC is unicast, not zero, and not ours: anything else
        // would send traffic to everyone, nowhere, or back to ourselves.
        let mac = arp.sender_mac;
        if mac.first().is_some_and(|b| b & 1 == 1) || mac == [0; 6] || mac == self.mac {
            return None;
        }
        let for_us = arp.target_ipv4_addr() == self.ip;
        let mut out = ArpOutput::default();
        let known = self.cache.contains_key(&sender) || self.pending.contains_key(&sender);
        if (for_us || known) && !sender.is_unspecified() {
            out.released = self.learn(sender, arp.sender_mac, now);
        }
        if for_us && arp.operation == ArpOperation::REQUEST {
            let reply = ArpEthIpv4Packet {
                operation: ArpOperation::REPLY,
                sender_mac: self.mac,
                sender_ipv4: self.ip.octets(),
                target_mac: arp.sender_mac,
                target_ipv4: arp.sender_ipv4,
            };
            out.reply = Some(frame(
                self.mac,
                arp.sender_mac,
                EtherType::ARP,
                &reply.to_bytes(),
            ));
        }
        Some(out)
    }

    fn learn(&mut self, ip: Ipv4Addr, mac: MacAddr, now: Instant) -> Vec<(Vec<u8>, MacAddr)> {
        if self.cache.len() >= CACHE_CAPACITY && !self.cache.contains_key(&ip) {
            self.cache.retain(|_, n| n.expires > now);
        }
        if self.cache.len() < CACHE_CAPACITY || self.cache.contains_key(&ip) {
            self.cache.insert(
                ip,
                Neighbour {
                    mac,
                    expires: now + CACHE_LIFETIME,
                },
            );
        }
        match self.pending.remove(&ip) {
            Some(p) => {
                self.queued -= p.frames.len();
                p.frames.into_iter().map(|f| (f, mac)).collect()
            }
            None => Vec::new(),
        }
    }

    /// The MAC of `ip` if known and fresh.
    pub fn lookup(&self, ip: Ipv4Addr, now: Instant) -> Option<MacAddr> {
        self.cache
            .get(&ip)
            .filter(|n| n.expires > now)
            .map(|n| n.mac)
    }

    /// Resolves `ip`, or queues `frame` (a copy of a whole Ethernet frame
    /// whose destination MAC is still to be filled) until it is resolved.
    pub fn resolve_or_queue(&mut self, ip: Ipv4Addr, frame: &[u8], now: Instant) -> Resolution {
        if let Some(mac) = self.lookup(ip, now) {
            return Resolution::Known(mac);
        }
        if self.queued >= QUEUE_TOTAL {
            return Resolution::QueueFull;
        }
        let request = self.request(ip);
        let p = self.pending.entry(ip).or_insert_with(|| Pending {
            frames: VecDeque::new(),
            last_request: now,
            attempts: 0,
        });
        if p.frames.len() >= QUEUE_PER_ADDRESS {
            return Resolution::QueueFull;
        }
        p.frames.push_back(frame.to_vec());
        self.queued += 1;
        if p.attempts == 0 {
            p.attempts = 1;
            p.last_request = now;
            Resolution::Queued(Some(request))
        } else {
            Resolution::Queued(None)
        }
    }

    /// Timers: returns the requests to send again, and how many queued
    /// packets were dropped because their resolution failed.
    pub fn poll(&mut self, now: Instant) -> (Vec<Vec<u8>>, usize) {
        let mut requests = Vec::new();
        let mut dropped = 0;
        let mut failed = Vec::new();
        for (ip, p) in &mut self.pending {
            if now.duration_since(p.last_request) < RETRY_INTERVAL {
                continue;
            }
            if p.attempts >= MAX_ATTEMPTS {
                failed.push(*ip);
            } else {
                p.attempts += 1;
                p.last_request = now;
                requests.push(*ip);
            }
        }
        for ip in failed {
            if let Some(p) = self.pending.remove(&ip) {
                dropped += p.frames.len();
                self.queued -= p.frames.len();
            }
        }
        let requests = requests.into_iter().map(|ip| self.request(ip)).collect();
        (requests, dropped)
    }

    /// A broadcast request for `ip`.
    fn request(&self, ip: Ipv4Addr) -> Vec<u8> {
        let req = ArpEthIpv4Packet {
            operation: ArpOperation::REQUEST,
            sender_mac: self.mac,
            sender_ipv4: self.ip.octets(),
            target_mac: [0; 6],
            target_ipv4: ip.octets(),
        };
        frame(self.mac, BROADCAST, EtherType::ARP, &req.to_bytes())
    }
}

/// An Ethernet frame from `src` to `dst` carrying `payload`.
pub fn frame(src: MacAddr, dst: MacAddr, ether_type: EtherType, payload: &[u8]) -> Vec<u8> {
    let header = Ethernet2Header {
        source: src,
        destination: dst,
        ether_type,
    };
    let mut f = Vec::with_capacity(ETH_HEADER_LEN + payload.len());
    f.extend_from_slice(&header.to_bytes());
    f.extend_from_slice(payload);
    f
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const US: MacAddr = [2, 0, 0, 0, 0, 1];
    const PEER: MacAddr = [2, 0, 0, 0, 0, 2];

    fn request_from_peer(target: Ipv4Addr) -> Vec<u8> {
        ArpEthIpv4Packet {
            operation: ArpOperation::REQUEST,
            sender_mac: PEER,
            sender_ipv4: [10, 0, 0, 2],
            target_mac: [0; 6],
            target_ipv4: target.octets(),
        }
        .to_bytes()
        .to_vec()
    }

    #[test]
    fn answers_for_its_own_address_only() {
        let now = Instant::now();
        let mut arp = Arp::new(Ipv4Addr::new(10, 0, 0, 1), US);
        let out = arp
            .handle(&request_from_peer(Ipv4Addr::new(10, 0, 0, 1)), now)
            .unwrap();
        let reply = out.reply.unwrap();
        assert_eq!(&reply[0..6], &PEER);
        let parsed = ArpPacketSlice::from_slice(&reply[14..])
            .unwrap()
            .to_packet()
            .try_eth_ipv4()
            .unwrap();
        assert_eq!(parsed.operation, ArpOperation::REPLY);
        assert_eq!(parsed.sender_mac, US);
        assert_eq!(arp.lookup(Ipv4Addr::new(10, 0, 0, 2), now), Some(PEER));
        let out = arp
            .handle(&request_from_peer(Ipv4Addr::new(10, 0, 0, 9)), now)
            .unwrap();
        assert!(out.reply.is_none());
        assert!(arp.handle(&[1, 2, 3], now).is_none());
    }

    #[test]
    fn refuses_multicast_zero_and_own_macs() {
        let now = Instant::now();
        let mut arp = Arp::new(Ipv4Addr::new(10, 0, 0, 1), US);
        for bad in [[1, 0, 0x5e, 0, 0, 1], [0; 6], US, BROADCAST] {
            let mut req = request_from_peer(Ipv4Addr::new(10, 0, 0, 1));
            req[8..14].copy_from_slice(&bad);
            assert!(arp.handle(&req, now).is_none(), "{bad:?}");
        }
        assert_eq!(arp.lookup(Ipv4Addr::new(10, 0, 0, 2), now), None);
    }

    #[test]
    fn queues_until_resolved_then_releases() {
        let now = Instant::now();
        let mut arp = Arp::new(Ipv4Addr::new(10, 0, 0, 1), US);
        let peer = Ipv4Addr::new(10, 0, 0, 2);
        let Resolution::Queued(Some(req)) = arp.resolve_or_queue(peer, b"one", now) else {
            panic!("expected a request");
        };
        assert_eq!(&req[0..6], &BROADCAST);
        assert_eq!(
            arp.resolve_or_queue(peer, b"two", now),
            Resolution::Queued(None)
        );
        // The peer asks for us: that teaches us its MAC and releases both.
        let out = arp
            .handle(&request_from_peer(Ipv4Addr::new(10, 0, 0, 1)), now)
            .unwrap();
        assert_eq!(out.released.len(), 2);
        assert_eq!(out.released[0], (b"one".to_vec(), PEER));
        assert_eq!(
            arp.resolve_or_queue(peer, b"x", now),
            Resolution::Known(PEER)
        );
    }

    #[test]
    fn gives_up_after_three_requests_and_bounds_the_queue() {
        let t0 = Instant::now();
        let mut arp = Arp::new(Ipv4Addr::new(10, 0, 0, 1), US);
        let ghost = Ipv4Addr::new(10, 0, 0, 77);
        for _ in 0..QUEUE_PER_ADDRESS {
            assert!(matches!(
                arp.resolve_or_queue(ghost, b"p", t0),
                Resolution::Queued(_)
            ));
        }
        assert_eq!(arp.resolve_or_queue(ghost, b"p", t0), Resolution::QueueFull);
        let (r, d) = arp.poll(t0 + Duration::from_millis(1500));
        assert_eq!((r.len(), d), (1, 0));
        let (r, d) = arp.poll(t0 + Duration::from_millis(3000));
        assert_eq!((r.len(), d), (1, 0));
        let (r, d) = arp.poll(t0 + Duration::from_millis(4500));
        assert_eq!((r.len(), d), (0, QUEUE_PER_ADDRESS));
        assert_eq!(arp.queued, 0);
    }
}
