//! Helpers for the RFC conformance suite (`tests/rfc*.rs`), with the
//! conventions of `shared/reference/rfc-requirements.md`: inside hosts A
//! and B, the NAT's inside address N, its external address P1, outside
//! hosts R and S, an outside router Rt and an inside router Ri.
//!
//! [`Bench`] holds a [`Nat`] with a virtual clock and a deterministic
//! random source. Its [`Bench::out`] and [`Bench::inb`] inject a packet on
//! the inside or the outside; every packet the NAT emits is checked (all
//! checksums recomputed from scratch, TTL one less, TCP/UDP payload
//! untouched), and every packet it refuses must be left unchanged.

use std::net::Ipv4Addr;
use std::time::Duration;

use etherparse::PacketBuilder;
use unat::{Config, Direction, Instant, LruStore, Nat, RandomSource, TranslateError, Translation};

use super::{addrs, assert_checksums, inet_checksum, payload, u16_at};

/// Inside host A.
pub const A: [u8; 4] = [10, 0, 0, 10];
/// Inside host B.
pub const B: [u8; 4] = [10, 0, 0, 11];
/// A third inside host.
pub const C: [u8; 4] = [10, 0, 0, 12];
/// The NAT's inside address.
pub const N: [u8; 4] = [10, 0, 0, 1];
/// An inside router.
pub const RI: [u8; 4] = [10, 0, 0, 254];
/// The NAT's external address (`Config::external`).
pub const P1: [u8; 4] = [203, 0, 113, 1];
/// Outside host R.
pub const R: [u8; 4] = [198, 51, 100, 7];
/// Outside host S.
pub const S: [u8; 4] = [198, 51, 100, 8];
/// An outside router on the path.
pub const RT: [u8; 4] = [192, 0, 2, 254];

/// `a` as an address.
pub fn v4(a: [u8; 4]) -> Ipv4Addr {
    Ipv4Addr::from(a)
}

/// The RFC-grade defaults with P1 as the external address.
pub fn cfg() -> Config {
    Config::new(v4(P1))
}

/// A deterministic random source (SplitMix64), good enough for the
/// statistical tests of port choice.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }
}

impl RandomSource for SplitMix {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

/// A NAT on a virtual clock.
pub struct Bench {
    pub nat: Nat<LruStore>,
    /// The current time.
    pub now: Instant,
    pub rng: SplitMix,
    /// What the last successful call did.
    pub last: Option<Translation>,
}

/// Where the virtual clock starts.
pub const T0: u64 = 1_000;

impl Bench {
    /// A NAT with `config` and roomy tables.
    pub fn new(config: Config) -> Bench {
        Bench::with_tables(config, 8192, 8192, 1024)
    }

    /// A NAT with `config` and the given table capacities.
    pub fn with_tables(config: Config, tcp: usize, udp: usize, icmp: usize) -> Bench {
        let store = LruStore::new(tcp, udp, icmp).unwrap();
        Bench {
            nat: Nat::with_config(store, config).expect("valid config"),
            now: Instant::from_secs(T0),
            rng: SplitMix(0x5eed_4787),
            last: None,
        }
    }

    /// The RFC defaults.
    pub fn default_config() -> Bench {
        Bench::new(cfg())
    }

    /// `t += secs`, then expire what has timed out.
    pub fn advance(&mut self, secs: u64) {
        self.advance_ms(secs * 1000);
    }

    /// `t += ms` milliseconds, then expire what has timed out.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now = self.now + Duration::from_millis(ms);
        self.nat.expire(self.now, usize::MAX);
    }

    /// Seconds since the bench started.
    pub fn elapsed(&self) -> u64 {
        self.now.millis() / 1000 - T0
    }

    /// Injects `pkt` on the inside.
    pub fn out(&mut self, pkt: Vec<u8>) -> Result<Vec<u8>, TranslateError> {
        self.process(pkt, Direction::Outbound)
    }

    /// Injects `pkt` on the outside.
    pub fn inb(&mut self, pkt: Vec<u8>) -> Result<Vec<u8>, TranslateError> {
        self.process(pkt, Direction::Inbound)
    }

    /// Injects `pkt` and checks what comes out (or that a refused packet is
    /// unchanged).
    pub fn process(
        &mut self,
        mut pkt: Vec<u8>,
        from: Direction,
    ) -> Result<Vec<u8>, TranslateError> {
        let before = pkt.clone();
        match self.nat.process(&mut pkt, from, self.now, &mut self.rng) {
            Ok(t) => {
                check_emitted(&before, &pkt);
                let (src, dst, _) = addrs(&pkt);
                assert_eq!(
                    (t.src, t.dst),
                    (src, dst),
                    "Translation names the emitted addresses"
                );
                self.last = Some(t);
                Ok(pkt)
            }
            Err(e) => {
                assert_eq!(pkt, before, "a refused packet is left unchanged ({e})");
                Err(e)
            }
        }
    }

    /// Whether the last translated packet started a new session.
    pub fn last_was_new(&self) -> bool {
        self.last.expect("a packet was translated").new_session
    }

    /// Injects `pkt` on the inside; it must belong to an existing session.
    pub fn out_existing(&mut self, pkt: Vec<u8>) -> Result<Vec<u8>, TranslateError> {
        let r = self.out(pkt);
        if r.is_ok() {
            assert!(!self.last_was_new(), "an existing session, not a new one");
        }
        r
    }

    /// Sends `pkt` from inside and returns the external source port it
    /// left with.
    pub fn out_port(&mut self, pkt: Vec<u8>) -> u16 {
        let p = self.out(pkt).expect("outbound packet translated");
        assert_eq!(addrs(&p).0, v4(P1), "leaves from P1");
        flow(&p).1
    }
}

/// The invariants of every emitted packet: checksums equal a recomputation,
/// TTL one less, TCP/UDP payload unchanged (no ALG), ICMP type and code
/// unchanged.
pub fn check_emitted(before: &[u8], after: &[u8]) {
    assert_checksums(after);
    assert_eq!(after[8], before[8] - 1, "TTL decremented once");
    assert_eq!(after.len(), before.len(), "length unchanged");
    let hl = usize::from(after[0] & 0xf) * 4;
    match after[9] {
        6 => {
            assert_eq!(payload(after), payload(before), "payload untouched");
            assert_eq!(
                after[hl + 4..hl + 16],
                before[hl + 4..hl + 16],
                "sequence, acknowledgment, flags and window untouched"
            );
        }
        17 => {
            assert_eq!(payload(after), payload(before), "payload untouched");
            assert_eq!(
                after[hl + 4..hl + 6],
                before[hl + 4..hl + 6],
                "UDP length untouched"
            );
        }
        1 => {
            assert_eq!(
                after[hl..hl + 2],
                before[hl..hl + 2],
                "ICMP type and code kept"
            );
        }
        _ => {}
    }
}

/// (src, sport, dst, dport) of a TCP/UDP packet; for an ICMP query the
/// identifier stands for both ports.
pub fn flow(pkt: &[u8]) -> (Ipv4Addr, u16, Ipv4Addr, u16) {
    let (s, d, _) = addrs(pkt);
    let (sp, dp) = super::ports(pkt);
    (s, sp, d, dp)
}

/// An expected flow tuple.
pub fn fl(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16) -> (Ipv4Addr, u16, Ipv4Addr, u16) {
    (v4(src), sp, v4(dst), dp)
}

/// The ICMP type and code of a packet.
pub fn icmp_type_code(pkt: &[u8]) -> (u8, u8) {
    let hl = usize::from(pkt[0] & 0xf) * 4;
    (pkt[hl], pkt[hl + 1])
}

/// The packet quoted by an ICMP error (from its IP header on).
pub fn quoted(pkt: &[u8]) -> &[u8] {
    let hl = usize::from(pkt[0] & 0xf) * 4;
    &pkt[hl + 8..]
}

/// The flow of the packet quoted by an ICMP error.
pub fn quoted_flow(pkt: &[u8]) -> (Ipv4Addr, u16, Ipv4Addr, u16) {
    let q = quoted(pkt);
    let qhl = usize::from(q[0] & 0xf) * 4;
    let (s, d) = (
        Ipv4Addr::new(q[12], q[13], q[14], q[15]),
        Ipv4Addr::new(q[16], q[17], q[18], q[19]),
    );
    let l4 = &q[qhl..];
    match q[9] {
        1 => (s, u16_at(l4, 4), d, u16_at(l4, 4)),
        _ => (s, u16_at(l4, 0), d, u16_at(l4, 2)),
    }
}

/// Checks the TCP or UDP checksum of a segment or datagram quoted whole by
/// an ICMP error: it must follow the translation of the quoted header.
pub fn assert_quoted_l4_checksum(pkt: &[u8]) {
    let q = quoted(pkt);
    let qhl = usize::from(q[0] & 0xf) * 4;
    let total = usize::from(u16_at(q, 2));
    assert!(q.len() >= total, "the quote holds the whole packet");
    let l4 = &q[qhl..total];
    let (proto, at) = match q[9] {
        6 => (6u8, 16),
        17 => (17, 6),
        p => panic!("quoted protocol {p}"),
    };
    let mut d = l4.to_vec();
    d[at] = 0;
    d[at + 1] = 0;
    let len = (l4.len() as u16).to_be_bytes();
    let c = match inet_checksum(&[&q[12..16], &q[16..20], &[0, proto], &len, &d]) {
        0 if proto == 17 => 0xffff,
        c => c,
    };
    assert_eq!(
        u16_at(l4, at),
        c,
        "quoted transport checksum follows the translation"
    );
}

// ---------------------------------------------------------------------------
// Packets
// ---------------------------------------------------------------------------

/// A UDP datagram with a small payload, TTL 64.
pub fn udp_pkt(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16) -> Vec<u8> {
    super::udp(src, sp, dst, dp, 64, b"rfc-4787")
}

/// A TCP segment, TTL 64. `flags` holds any of `S`, `A`, `F`, `R`, `P`.
pub fn tcp_pkt(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, flags: &str, data: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::ipv4(src, dst, 64).tcp(sp, dp, 0x1000_0000, 64_000);
    for f in flags.chars() {
        b = match f {
            'S' => b.syn(),
            'A' => b.ack(0x2000_0000),
            'F' => b.fin(),
            'R' => b.rst(),
            'P' => b.psh(),
            _ => panic!("unknown TCP flag {f}"),
        };
    }
    let mut buf = Vec::new();
    b.write(&mut buf, data).unwrap();
    buf
}

/// An echo request, TTL 64.
pub fn ping(src: [u8; 4], dst: [u8; 4], id: u16) -> Vec<u8> {
    super::echo(src, dst, id, 1, 64, false, b"ping")
}

/// An echo reply, TTL 64.
pub fn pong(src: [u8; 4], dst: [u8; 4], id: u16) -> Vec<u8> {
    super::echo(src, dst, id, 1, 64, true, b"ping")
}

/// An ICMP error `src -> dst`, TTL 64, with the 4 "rest of header" bytes.
pub fn icmp_err(
    src: [u8; 4],
    dst: [u8; 4],
    ty: u8,
    code: u8,
    rest: [u8; 4],
    quote: &[u8],
) -> Vec<u8> {
    let mut buf = Vec::new();
    PacketBuilder::ipv4(src, dst, 64)
        .icmpv4_raw(ty, code, rest)
        .write(&mut buf, quote)
        .unwrap();
    buf
}

/// An ICMP error quoting the first 8 bytes after the IP header of `pkt`
/// (the RFC 792 minimum).
pub fn err_about(src: [u8; 4], dst: [u8; 4], ty: u8, code: u8, pkt: &[u8]) -> Vec<u8> {
    icmp_err(src, dst, ty, code, [0; 4], &super::quote(pkt, 8))
}

/// Recomputes the IPv4 header checksum of `pkt` (at offset `at`).
pub fn fix_ip_checksum(pkt: &mut [u8], at: usize) {
    let hl = usize::from(pkt[at] & 0xf) * 4;
    pkt[at + 10] = 0;
    pkt[at + 11] = 0;
    let c = inet_checksum(&[&pkt[at..at + hl]]);
    pkt[at + 10..at + 12].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes the ICMP checksum of an ICMP packet.
pub fn fix_icmp_checksum(pkt: &mut [u8]) {
    let hl = usize::from(pkt[0] & 0xf) * 4;
    pkt[hl + 2] = 0;
    pkt[hl + 3] = 0;
    let c = inet_checksum(&[&pkt[hl..]]);
    pkt[hl + 2..hl + 4].copy_from_slice(&c.to_be_bytes());
}

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

/// Pearson's chi-square statistic of `counts` against a uniform spread.
pub fn chi_square(counts: &[u64]) -> f64 {
    let n: u64 = counts.iter().sum();
    let e = n as f64 / counts.len() as f64;
    counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum()
}

/// The chi-square critical value for 63 degrees of freedom at p = 0.001:
/// a uniform source exceeds it once in a thousand runs (and the runs here
/// are deterministic).
pub const CHI2_63_P001: f64 = 103.44;

/// Lag-1 autocorrelation of a series.
pub fn lag1_autocorrelation(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
    let cov: f64 = xs.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
    cov / var
}
