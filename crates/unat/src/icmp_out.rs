//! ICMP errors the NAT sends itself (RFC 792, RFC 1812 §4.3.2, RFC 5508
//! §7): Time Exceeded when a packet's TTL runs out, Destination
//! Unreachable / Fragmentation Needed (with the next-hop MTU) when a packet
//! with DF set is too big, and other Destination Unreachable codes. They
//! are built as packets in the caller's buffer, for the caller to send.
//!
//! RFC 1812 §4.3.2.7: no error is made about an ICMP error, a fragment
//! other than the first, a packet to a broadcast or multicast address, or a
//! packet whose source is not a unique host. [`RateLimiter`] is the token
//! bucket that keeps the rate bounded (§4.3.2.8, RFC 5508 REQ-10f), and
//! [`PeerRateLimiter`] keeps one per destination as well, so that no host
//! can use up everyone's errors (a path-MTU black hole).

use core::fmt;
use core::net::Ipv4Addr;
use core::time::Duration;

use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::icmp::{self, types};
use crate::wire::ipv4::{Ipv4Packet, PROTO_ICMP};

/// The largest error packet: RFC 1812 §4.3.2.3 quotes as much of the
/// original as fits in 576 bytes.
pub const MAX_ERROR_LEN: usize = 576;
/// The TTL of packets the NAT makes.
const TTL: u8 = 64;

/// Which error to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Time Exceeded in transit (type 11, code 0).
    TimeExceeded,
    /// Destination Unreachable, Fragmentation Needed and DF set (type 3,
    /// code 4), with the MTU of the next hop (RFC 1191).
    FragmentationNeeded {
        /// The largest packet the next hop takes.
        mtu: u16,
    },
    /// Destination Unreachable with another code: 1 host unreachable, 3
    /// port unreachable, 13 administratively prohibited, ...
    Unreachable {
        /// The code.
        code: u8,
    },
}

/// Why no error is sent about a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotSent {
    /// The packet is not a well-formed IPv4 packet.
    Malformed,
    /// It is an ICMP error itself (or an ICMP message of unknown type).
    AboutIcmpError,
    /// It is a fragment other than the first.
    LaterFragment,
    /// It went to a broadcast or multicast address.
    Broadcast,
    /// Its source is not a unique host (0.0.0.0/8, loopback, multicast,
    /// 240.0.0.0/4).
    BadSource,
    /// The buffer cannot hold the error.
    BufferTooSmall,
}

impl NotSent {
    /// A short, stable, snake_case name, for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            NotSent::Malformed => "malformed",
            NotSent::AboutIcmpError => "about_icmp_error",
            NotSent::LaterFragment => "later_fragment",
            NotSent::Broadcast => "broadcast",
            NotSent::BadSource => "bad_source",
            NotSent::BufferTooSmall => "buffer_too_small",
        }
    }
}

impl fmt::Display for NotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotSent::Malformed => "no ICMP error about a malformed packet",
            NotSent::AboutIcmpError => "no ICMP error about an ICMP error",
            NotSent::LaterFragment => "no ICMP error about a later fragment",
            NotSent::Broadcast => "no ICMP error about a broadcast or multicast packet",
            NotSent::BadSource => "no ICMP error to an invalid source",
            NotSent::BufferTooSmall => "buffer too small for the ICMP error",
        })
    }
}

impl core::error::Error for NotSent {}

/// Builds, in `out`, the ICMP error `kind` about `original` (an IPv4
/// packet, starting at its header), sent from `from` to the original's
/// source. It quotes as much of the original as fits in 576 bytes and
/// copies its DSCP (RFC 5508 REQ-10d). Returns the error's length.
///
/// ```
/// use std::net::Ipv4Addr;
/// use unat::icmp_out::{error_about, ErrorKind};
/// # let mut original = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 1, 17, 0, 0, 10, 0, 0, 2, 198, 18, 1, 2,
/// #     0x13, 0x88, 0x82, 0x9a, 0, 8, 0, 0];
/// # let c = unat::wire::checksum::checksum(&original[..20]);
/// # original[10..12].copy_from_slice(&c.to_be_bytes());
/// // `original`: a UDP datagram from 10.0.0.2 whose TTL ran out here.
/// let mut buf = [0u8; 576];
/// let n = error_about(&original, Ipv4Addr::new(10, 0, 0, 1), ErrorKind::TimeExceeded, &mut buf)?;
/// assert_eq!(n, 20 + 8 + 28);
/// assert_eq!(&buf[16..20], &[10, 0, 0, 2]); // back to the sender
/// assert_eq!(buf[20], 11); // Time Exceeded
/// # Ok::<(), unat::icmp_out::NotSent>(())
/// ```
pub fn error_about(
    original: &[u8],
    from: Ipv4Addr,
    kind: ErrorKind,
    out: &mut [u8],
) -> Result<usize, NotSent> {
    let ip = Ipv4Packet::new_quoted(original).map_err(|_| NotSent::Malformed)?;
    if ip.frag_offset() != 0 {
        return Err(NotSent::LaterFragment);
    }
    let (src, dst) = (ip.src(), ip.dst());
    if dst.is_broadcast() || dst.is_multicast() {
        return Err(NotSent::Broadcast);
    }
    let [first, ..] = src.octets();
    if first == 0 || first >= 240 || src.is_loopback() || src.is_multicast() {
        return Err(NotSent::BadSource);
    }
    if ip.protocol() == PROTO_ICMP {
        let ty = ip.payload().first().copied();
        let is_query = ty.is_some_and(|t| {
            matches!(
                icmp::kind(t),
                icmp::Kind::QueryRequest | icmp::Kind::QueryReply
            )
        });
        if !is_query {
            return Err(NotSent::AboutIcmpError);
        }
    }
    let quote = ip.packet();
    let quote_len = quote.len().min(MAX_ERROR_LEN - 28);
    let total = 28 + quote_len;
    let (Some(quote), Some(buf)) = (quote.get(..quote_len), out.get_mut(..total)) else {
        return Err(NotSent::BufferTooSmall);
    };
    let (ty, code, rest) = match kind {
        ErrorKind::TimeExceeded => (types::TIME_EXCEEDED, 0, [0; 4]),
        ErrorKind::FragmentationNeeded { mtu } => {
            let [hi, lo] = mtu.to_be_bytes();
            (types::DEST_UNREACHABLE, 4, [0, 0, hi, lo])
        }
        ErrorKind::Unreachable { code } => (types::DEST_UNREACHABLE, code, [0; 4]),
    };
    let dscp = ip.header().and_then(|h| h.get(1)).copied().unwrap_or(0) & 0xfc;
    let [len_hi, len_lo] = u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes();
    let [s0, s1, s2, s3] = from.octets();
    let [d0, d1, d2, d3] = src.octets();
    let header = [
        0x45, dscp, len_hi, len_lo, 0, 0, 0, 0, TTL, PROTO_ICMP, 0, 0, s0, s1, s2, s3, d0, d1, d2,
        d3,
    ];
    let (h, rest_of_buf) = buf.split_at_mut(20);
    h.copy_from_slice(&header);
    let hc = checksum::checksum(h);
    if let Some(c) = h.get_mut(10..12) {
        c.copy_from_slice(&hc.to_be_bytes());
    }
    let (icmp_header, body) = rest_of_buf.split_at_mut(8);
    let [r0, r1, r2, r3] = rest;
    icmp_header.copy_from_slice(&[ty, code, 0, 0, r0, r1, r2, r3]);
    body.copy_from_slice(quote);
    let ic = !checksum::fold(checksum::sum(body, checksum::sum(icmp_header, 0)));
    if let Some(c) = icmp_header.get_mut(2..4) {
        c.copy_from_slice(&ic.to_be_bytes());
    }
    Ok(total)
}

/// A token bucket: at most `per_second` on average, in bursts of at most
/// `burst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimiter {
    per_second: u32,
    burst: u32,
    /// Tokens, in thousandths.
    milli_tokens: u64,
    last: Instant,
}

impl RateLimiter {
    /// A full bucket. `per_second` 0 lets nothing through.
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimiter {
            per_second,
            burst,
            milli_tokens: u64::from(burst) * 1000,
            last: Instant::ZERO,
        }
    }

    /// Whether one more may go at `now` (and takes its token if so).
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed: Duration = now.saturating_since(self.last);
        self.last = self.last.max(now);
        let earned = u64::try_from(elapsed.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(u64::from(self.per_second));
        let cap = u64::from(self.burst) * 1000;
        self.milli_tokens = self.milli_tokens.saturating_add(earned).min(cap);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// Buckets of a [`PeerRateLimiter`]: destinations share one only when
/// their keyed hashes collide.
const PEER_BUCKETS: usize = 256;

/// ICMP error rate limits per destination, under a global one.
///
/// Each destination address draws from its own bucket (one of 256,
/// chosen by a hash keyed with a caller-supplied random value, so that an
/// attacker cannot aim at another host's bucket), and all together from the
/// global bucket. A host that provokes errors as fast as it can exhausts
/// its own bucket, not the others'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRateLimiter {
    global: RateLimiter,
    peers: [RateLimiter; PEER_BUCKETS],
    key: u64,
}

impl PeerRateLimiter {
    /// At most `per_peer` errors per second to one destination and
    /// `global` in all (each in bursts of as many); `key` should be random.
    pub fn new(per_peer: u32, global: u32, key: u64) -> Self {
        PeerRateLimiter {
            global: RateLimiter::new(global, global),
            peers: [RateLimiter::new(per_peer, per_peer); PEER_BUCKETS],
            key,
        }
    }

    /// Whether one more error may go to `dst` at `now` (taking its tokens).
    pub fn allow(&mut self, dst: Ipv4Addr, now: Instant) -> bool {
        let h = (u64::from(u32::from(dst)) ^ self.key).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let i = usize::try_from(h >> 56).unwrap_or(0) % PEER_BUCKETS;
        let Some(peer) = self.peers.get_mut(i) else {
            return false;
        };
        // Check the peer first: a refused peer does not spend global tokens.
        peer.allow(now) && self.global.allow(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn udp(src: [u8; 4], dst: [u8; 4], ttl: u8, tos: u8, payload: usize) -> Vec<u8> {
        let total = 28 + payload;
        let mut p = vec![0u8; total];
        p[..20].copy_from_slice(&[
            0x45,
            tos,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0,
            0,
            ttl,
            17,
            0,
            0,
            src[0],
            src[1],
            src[2],
            src[3],
            dst[0],
            dst[1],
            dst[2],
            dst[3],
        ]);
        let c = checksum::checksum(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p[20..28].copy_from_slice(&[0x13, 0x88, 0x82, 0x9a, 0, (8 + payload) as u8, 0, 0]);
        p
    }

    #[test]
    fn frag_needed_carries_the_mtu_dscp_and_a_576_byte_cap() {
        let original = udp([10, 0, 0, 2], [198, 18, 1, 2], 64, 46 << 2, 1400);
        let mut buf = [0u8; 1500];
        let n = error_about(
            &original,
            Ipv4Addr::new(10, 0, 0, 1),
            ErrorKind::FragmentationNeeded { mtu: 1280 },
            &mut buf,
        )
        .unwrap();
        assert_eq!(n, 576);
        let e = &buf[..n];
        assert!(checksum::verify(&e[..20], 0));
        assert!(checksum::verify(&e[20..], 0));
        assert_eq!(e[1], 46 << 2, "DSCP copied");
        assert_eq!((e[20], e[21]), (3, 4));
        assert_eq!(&e[26..28], &1280u16.to_be_bytes());
        assert_eq!(
            &e[28..48],
            &original[..20],
            "the original header, as received"
        );
    }

    #[test]
    fn rfc1812_rules_say_when_not_to_send() {
        let from = Ipv4Addr::new(10, 0, 0, 1);
        let mut buf = [0u8; 576];
        let te = ErrorKind::TimeExceeded;
        let mut later = udp([10, 0, 0, 2], [198, 18, 1, 2], 1, 0, 8);
        later[7] = 10; // fragment offset 10
        assert_eq!(
            error_about(&later, from, te, &mut buf),
            Err(NotSent::LaterFragment)
        );
        let bcast = udp([10, 0, 0, 2], [255, 255, 255, 255], 1, 0, 8);
        assert_eq!(
            error_about(&bcast, from, te, &mut buf),
            Err(NotSent::Broadcast)
        );
        let mcast = udp([10, 0, 0, 2], [224, 0, 0, 9], 1, 0, 8);
        assert_eq!(
            error_about(&mcast, from, te, &mut buf),
            Err(NotSent::Broadcast)
        );
        let zero = udp([0, 0, 0, 0], [198, 18, 1, 2], 1, 0, 8);
        assert_eq!(
            error_about(&zero, from, te, &mut buf),
            Err(NotSent::BadSource)
        );
        let mut err = udp([10, 0, 0, 2], [198, 18, 1, 2], 1, 0, 8);
        err[9] = 1;
        err[20] = 3; // an ICMP error
        assert_eq!(
            error_about(&err, from, te, &mut buf),
            Err(NotSent::AboutIcmpError)
        );
        err[20] = 8; // an echo request is fine
        assert!(error_about(&err, from, te, &mut buf).is_ok());
        assert_eq!(
            error_about(&[1, 2, 3], from, te, &mut buf),
            Err(NotSent::Malformed)
        );
        let ok = udp([10, 0, 0, 2], [198, 18, 1, 2], 1, 0, 8);
        assert_eq!(
            error_about(&ok, from, te, &mut [0u8; 40]),
            Err(NotSent::BufferTooSmall)
        );
    }

    #[test]
    fn one_noisy_destination_does_not_silence_the_others() {
        let mut r = PeerRateLimiter::new(10, 1000, 0x1234_5678_9abc_def0);
        let t = Instant::from_secs(50);
        let noisy = Ipv4Addr::new(198, 18, 0, 77);
        let sent = (0..3000).filter(|_| r.allow(noisy, t)).count();
        assert_eq!(sent, 10, "the noisy host gets its own burst only");
        let quiet = Ipv4Addr::new(198, 18, 0, 1);
        assert!(r.allow(quiet, t), "another host still gets its error");
    }

    #[test]
    fn rate_limiter_allows_a_burst_then_the_rate() {
        let mut r = RateLimiter::new(10, 5);
        let t0 = Instant::from_secs(100);
        assert_eq!((0..20).filter(|_| r.allow(t0)).count(), 5);
        // One second later: ten more.
        let t1 = Instant::from_secs(101);
        assert_eq!(
            (0..20).filter(|_| r.allow(t1)).count(),
            5,
            "capped at the burst"
        );
        let mut r = RateLimiter::new(10, 100);
        let mut sent = 0;
        for ms in 0..10_000u64 {
            // 10k attempts over 10 s: at most 100 (burst) + 10/s * 10 s.
            if r.allow(Instant::from_millis(100_000 + ms)) {
                sent += 1;
            }
        }
        assert!(sent <= 200, "{sent}");
        assert!(!RateLimiter::new(0, 0).allow(t0));
    }
}
