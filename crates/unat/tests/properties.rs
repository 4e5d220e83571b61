//! Property tests: random packets built with etherparse (an implementation
//! independent of ours) go through the NAT, and what comes out is compared,
//! byte for byte, with the packet etherparse builds for the translated flow;
//! every checksum is also recomputed from scratch (`assert_checksums`).
//! Then RFC 768 and RFC 1624 corner cases, and robustness: no input makes
//! the engine panic, and a refused packet is left exactly as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

// `common::tcp_syn` takes 8 arguments.
mod common;

/// The clock: these tests use the original's behaviour, where nothing expires.
const NOW: unat::Instant = unat::Instant::ZERO;

use std::net::Ipv4Addr;

use common::*;
use etherparse::{IpHeaders, IpNumber, Ipv4Header, Ipv4Options, PacketBuilder, TcpHeader};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use unat::wire::checksum::Delta;
use unat::{
    AddError, Endpoint, LruStore, Mode, Nat, PacketError, Protocol, Store, TranslateError,
    WireError,
};

// ---------------------------------------------------------------------------
// Packets
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
    /// UDP sent without a checksum (field 0).
    UdpNoChecksum,
    /// ICMP echo request (or reply, see [`Flow::reply`]).
    Echo,
}

impl Kind {
    fn protocol(self) -> Protocol {
        match self {
            Kind::Tcp => Protocol::Tcp,
            Kind::Udp | Kind::UdpNoChecksum => Protocol::Udp,
            Kind::Echo => Protocol::Icmp,
        }
    }
}

/// TCP fields that the NAT must leave alone.
#[derive(Clone, Debug)]
struct TcpExtra {
    seq: u32,
    ack: u32,
    window: u16,
    flags: u8,
    options: Vec<u8>,
}

/// Everything needed to build one packet. For echo messages, `sport` and
/// `dport` both hold the identifier (as `common::ports` reports them).
#[derive(Clone, Debug)]
struct Flow {
    kind: Kind,
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    ttl: u8,
    ident: u16,
    ip_options: Vec<u8>,
    tcp: TcpExtra,
    echo_seq: u16,
    reply: bool,
    payload: Vec<u8>,
}

impl Flow {
    /// The same packet on another flow: the payload and every other field
    /// kept, the TTL one less.
    fn moved(&self, src: Endpoint, dst: Endpoint) -> Flow {
        let mut f = self.clone();
        f.src = src.addr.octets();
        f.dst = dst.addr.octets();
        f.sport = src.port;
        f.dport = if f.kind == Kind::Echo {
            src.port
        } else {
            dst.port
        };
        f.ttl -= 1;
        f
    }

    fn src_ep(&self) -> Endpoint {
        Endpoint::new(ip(self.src), self.sport)
    }

    fn dst_ep(&self) -> Endpoint {
        Endpoint::new(ip(self.dst), self.dport)
    }
}

/// Builds `f` with etherparse.
fn build(f: &Flow) -> Vec<u8> {
    let mut h = Ipv4Header::new(0, f.ttl, IpNumber::UDP, f.src, f.dst).unwrap();
    h.identification = f.ident;
    h.options = Ipv4Options::try_from(&f.ip_options[..]).unwrap();
    let b = PacketBuilder::ip(IpHeaders::Ipv4(h, Default::default()));
    let mut buf = Vec::new();
    match f.kind {
        Kind::Tcp => {
            let t = &f.tcp;
            let mut th = TcpHeader::new(f.sport, f.dport, t.seq, t.window);
            th.acknowledgment_number = t.ack;
            th.fin = t.flags & 0x01 != 0;
            th.syn = t.flags & 0x02 != 0;
            th.rst = t.flags & 0x04 != 0;
            th.psh = t.flags & 0x08 != 0;
            th.ack = t.flags & 0x10 != 0;
            th.ece = t.flags & 0x40 != 0;
            th.cwr = t.flags & 0x80 != 0;
            th.set_options_raw(&t.options).unwrap();
            b.tcp_header(th).write(&mut buf, &f.payload).unwrap();
        }
        Kind::Udp | Kind::UdpNoChecksum => {
            b.udp(f.sport, f.dport).write(&mut buf, &f.payload).unwrap();
            if f.kind == Kind::UdpNoChecksum {
                let hl = header_len(&buf);
                buf[hl + 6] = 0;
                buf[hl + 7] = 0;
            }
        }
        Kind::Echo if f.reply => b
            .icmpv4_echo_reply(f.sport, f.echo_seq)
            .write(&mut buf, &f.payload)
            .unwrap(),
        Kind::Echo => b
            .icmpv4_echo_request(f.sport, f.echo_seq)
            .write(&mut buf, &f.payload)
            .unwrap(),
    }
    buf
}

/// Parameters of an ICMP error message about some packet.
#[derive(Clone, Debug)]
struct ErrorMsg {
    ty: u8,
    code: u8,
    rest: [u8; 4],
    ttl: u8,
    ip_options: Vec<u8>,
}

/// Builds an ICMP error `src -> dst` quoting `quote`, with etherparse.
fn build_error(src: [u8; 4], dst: [u8; 4], e: &ErrorMsg, quote: &[u8]) -> Vec<u8> {
    let mut h = Ipv4Header::new(0, e.ttl, IpNumber::ICMP, src, dst).unwrap();
    h.options = Ipv4Options::try_from(&e.ip_options[..]).unwrap();
    let mut buf = Vec::new();
    PacketBuilder::ip(IpHeaders::Ipv4(h, Default::default()))
        .icmpv4_raw(e.ty, e.code, e.rest)
        .write(&mut buf, quote)
        .unwrap();
    buf
}

fn header_len(p: &[u8]) -> usize {
    usize::from(p[0] & 0x0f) * 4
}

/// Offset of the transport checksum within the transport header.
fn l4_checksum_offset(kind: Kind) -> usize {
    match kind {
        Kind::Tcp => 16,
        Kind::Udp | Kind::UdpNoChecksum => 6,
        Kind::Echo => 2,
    }
}

fn nat() -> Nat<LruStore> {
    Nat::new(LruStore::new(64, 64, 64).unwrap())
}

fn table_sizes(n: &Nat<LruStore>) -> [usize; 3] {
    Protocol::ALL.map(|p| n.store().len(p))
}

/// Translates a copy of `p`, checking that a refusal leaves it unchanged.
fn translate_checked(
    n: &mut Nat<LruStore>,
    p: &[u8],
) -> (Result<unat::Translation, TranslateError>, Vec<u8>) {
    let mut buf = p.to_vec();
    let r = n.translate(&mut buf, NOW);
    if r.is_err() {
        assert_eq!(buf, p, "a refused packet was modified ({r:?})");
    }
    (r, buf)
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn addr() -> impl Strategy<Value = [u8; 4]> {
    any::<u32>()
        .prop_filter("translatable", |a| {
            unat::is_translatable(Ipv4Addr::from(*a))
        })
        .prop_map(u32::to_be_bytes)
}

/// Options of 0 to 40 bytes: none, NOP-filled, or arbitrary bytes (with
/// the source-route types 131 and 137 made NOPs: the NAT refuses those).
fn options() -> impl Strategy<Value = Vec<u8>> {
    let no_source_route = |b: u8| if matches!(b, 131 | 137) { 1 } else { b };
    prop_oneof![
        2 => Just(Vec::new()),
        1 => (1usize..=10).prop_map(|n| vec![1u8; 4 * n]),
        1 => (1usize..=10).prop_flat_map(move |n| {
            vec(any::<u8>().prop_map(no_source_route), 4 * n)
        }),
    ]
}

fn payload_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..64), vec(any::<u8>(), 0..1500)]
}

fn any_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Tcp),
        Just(Kind::Udp),
        Just(Kind::UdpNoChecksum),
        Just(Kind::Echo),
    ]
}

fn port_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Tcp), Just(Kind::Udp), Just(Kind::UdpNoChecksum)]
}

fn tcp_extra() -> impl Strategy<Value = TcpExtra> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u16>(),
        any::<u8>(),
        options(),
    )
        .prop_map(|(seq, ack, window, flags, options)| TcpExtra {
            seq,
            ack,
            window,
            flags,
            options,
        })
}

/// A request (echo messages are requests) of `kind`, TTL 2..=255.
fn flow(kind: impl Strategy<Value = Kind>) -> impl Strategy<Value = Flow> {
    (
        (kind, addr(), any::<u16>(), addr(), any::<u16>()),
        (
            2u8..=255,
            any::<u16>(),
            options(),
            tcp_extra(),
            any::<u16>(),
        ),
        payload_bytes(),
    )
        .prop_map(
            |((kind, src, sport, dst, dport), (ttl, ident, ip_options, tcp, echo_seq), payload)| {
                Flow {
                    kind,
                    src,
                    sport,
                    dst,
                    dport: if kind == Kind::Echo { sport } else { dport },
                    ttl,
                    ident,
                    ip_options,
                    tcp,
                    echo_seq,
                    reply: false,
                    payload,
                }
            },
        )
}

/// A translated port for `kind`: never 0 for TCP and UDP.
fn xl_port(kind: Kind, raw: u16) -> u16 {
    if kind == Kind::Echo || raw != 0 {
        raw
    } else {
        1
    }
}

fn error_msg() -> impl Strategy<Value = ErrorMsg> {
    (
        prop::sample::select(vec![3u8, 11, 12, 4]),
        0u8..16,
        any::<[u8; 4]>(),
        1u8..=255,
        options(),
    )
        .prop_map(|(ty, code, rest, ttl, ip_options)| ErrorMsg {
            ty,
            code,
            rest,
            ttl,
            ip_options,
        })
}

/// How much transport data an ICMP error quotes: `usize::MAX` for all of it.
fn quote_len() -> impl Strategy<Value = usize> {
    prop_oneof![Just(usize::MAX), 4usize..=40, 4usize..=1600]
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failures are reported with their minimal input; no regression
        // file is written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A rule for `f` as `mode` says, checked; returns the translated endpoint.
fn add_rule(n: &mut Nat<LruStore>, f: &Flow, xl: [u8; 4], port: u16, mode: Mode) -> Endpoint {
    let p = build(f);
    let got = n.add(&p, ip(xl), ports_from(&[port]), mode, NOW).unwrap();
    assert_eq!(got, Endpoint::new(ip(xl), port));
    got
}

/// The flow `f` leaves as, under a rule to `xl` with `mode`.
fn expected_out(f: &Flow, xl: Endpoint, mode: Mode) -> Flow {
    match mode {
        Mode::Nat if f.kind == Kind::Echo => f.moved(xl, Endpoint::new(ip(f.dst), xl.port)),
        Mode::Nat => f.moved(xl, f.dst_ep()),
        Mode::Redirect { target } => f.moved(xl, target),
    }
}

fn mode_for(kind: Kind, redirect: Option<([u8; 4], u16)>) -> Mode {
    match redirect {
        Some((a, p)) if kind != Kind::Echo => Mode::Redirect {
            target: Endpoint::new(ip(a), p),
        },
        _ => Mode::Nat,
    }
}

// ---------------------------------------------------------------------------
// Translation
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(512))]

    /// A packet comes out as etherparse builds the translated packet: the
    /// endpoints the rule says, TTL one less, payload and every other field
    /// untouched, every checksum equal to a full recomputation.
    #[test]
    fn translation_rewrites_endpoints_and_ttl_only(
        f in flow(any_kind()),
        xl in addr(),
        raw_port in any::<u16>(),
    ) {
        let mut n = nat();
        let port = xl_port(f.kind, raw_port);
        let xl = add_rule(&mut n, &f, xl, port, Mode::Nat);
        let (r, out) = translate_checked(&mut n, &build(&f));
        let t = r.unwrap();
        let exp = expected_out(&f, xl, Mode::Nat);
        prop_assert_eq!((t.protocol, t.src, t.dst, t.is_icmp_error),
            (f.kind.protocol(), xl.addr, ip(f.dst), false));
        assert_checksums(&out);
        prop_assert_eq!(addrs(&out), (xl.addr, ip(f.dst), f.ttl - 1));
        prop_assert_eq!(ports(&out), (exp.sport, exp.dport));
        prop_assert_eq!(payload(&out), f.payload.clone());
        if f.kind == Kind::UdpNoChecksum {
            prop_assert_eq!(u16_at(&out, header_len(&out) + 6), 0);
        }
        prop_assert_eq!(out, build(&exp));
    }

    /// A reply built from the translated packet (swapped endpoints, its own
    /// payload, TTL and options) comes back to the original source.
    #[test]
    fn reply_to_translated_packet_restores_original_endpoints(
        f in flow(any_kind()),
        xl in addr(),
        raw_port in any::<u16>(),
        reply_kind in any_kind(),
        reply_ttl in 2u8..=255,
        reply_options in options(),
        reply_payload in payload_bytes(),
    ) {
        round_trip(&f, xl, raw_port, None, (reply_kind, reply_ttl, reply_options, reply_payload))?;
    }

    /// The same through a Redirect rule (TCP and UDP only).
    #[test]
    fn redirect_round_trip_restores_original_endpoints(
        f in flow(port_kind()),
        xl in addr(),
        raw_port in any::<u16>(),
        target in (addr(), any::<u16>()),
        reply_kind in port_kind(),
        reply_ttl in 2u8..=255,
        reply_options in options(),
        reply_payload in payload_bytes(),
    ) {
        round_trip(&f, xl, raw_port, Some(target), (reply_kind, reply_ttl, reply_options, reply_payload))?;
    }
}

fn round_trip(
    f: &Flow,
    xl: [u8; 4],
    raw_port: u16,
    redirect: Option<([u8; 4], u16)>,
    (reply_kind, reply_ttl, reply_options, reply_payload): (Kind, u8, Vec<u8>, Vec<u8>),
) -> Result<(), TestCaseError> {
    let mut n = nat();
    let mode = mode_for(f.kind, redirect);
    let xl = add_rule(&mut n, f, xl, xl_port(f.kind, raw_port), mode);
    let (r, out) = translate_checked(&mut n, &build(f));
    r.unwrap();
    let sent = expected_out(f, xl, mode);
    prop_assert_eq!(&out, &build(&sent));

    // The reply, as the far end would send it.
    let mut reply = sent.clone();
    // Same protocol; a UDP reply has a checksum or not, independently.
    reply.kind = match (f.kind, reply_kind) {
        (Kind::Udp | Kind::UdpNoChecksum, Kind::UdpNoChecksum) => Kind::UdpNoChecksum,
        (Kind::Udp | Kind::UdpNoChecksum, _) => Kind::Udp,
        (k, _) => k,
    };
    reply.reply = true;
    reply.src = sent.dst;
    reply.dst = sent.src;
    reply.sport = sent.dport;
    reply.dport = sent.sport;
    reply.ttl = reply_ttl;
    reply.ip_options = reply_options;
    reply.payload = reply_payload;
    let (r, back) = translate_checked(&mut n, &build(&reply));
    let t = r.unwrap();
    prop_assert_eq!((t.src, t.dst), (ip(f.dst), ip(f.src)));
    assert_checksums(&back);
    prop_assert_eq!(addrs(&back), (ip(f.dst), ip(f.src), reply_ttl - 1));
    prop_assert_eq!(ports(&back), (f.dport, f.sport));
    prop_assert_eq!(back, build(&reply.moved(f.dst_ep(), f.src_ep())));
    Ok(())
}

// ---------------------------------------------------------------------------
// ICMP errors
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(768))]

    /// An ICMP error about a translated packet, from a router or from the
    /// far end itself, quoting any length from 4 transport bytes to the whole
    /// datagram, comes back quoting the packet as the client sent it (TTL one
    /// less): endpoints, quoted IPv4 header checksum and, when quoted, the
    /// transport checksum of the original (UDP 0 stays 0).
    #[test]
    fn icmp_error_quotes_the_original_packet(
        f in flow(any_kind()),
        xl in addr(),
        raw_port in any::<u16>(),
        redirect in prop::option::of((addr(), any::<u16>())),
        router in prop::option::of(addr()),
        e in error_msg(),
        n_quote in quote_len(),
    ) {
        let mut n = nat();
        let mode = mode_for(f.kind, redirect);
        let xl = add_rule(&mut n, &f, xl, xl_port(f.kind, raw_port), mode);
        let original = build(&f);
        let (r, sent) = translate_checked(&mut n, &original);
        r.unwrap();

        // `None`: the far end reports the error itself.
        let sent_dst = addrs(&sent).1;
        let router = router.unwrap_or(sent_dst.octets());
        let hl = header_len(&sent);
        let l4_len = sent.len() - hl;
        let q = n_quote.min(l4_len);
        let err = build_error(router, xl.addr.octets(), &e, &quote(&sent, q));
        let (r, got) = translate_checked(&mut n, &err);

        if f.kind == Kind::Echo && q < 6 {
            // The identifier is not in the quote.
            prop_assert_eq!(r, Err(TranslateError::Packet(PacketError::Malformed(
                WireError::QuoteTruncated))));
            return Ok(());
        }
        if e.ttl <= 1 {
            prop_assert_eq!(r, Err(TranslateError::TtlExceeded));
            return Ok(());
        }
        let t = r.unwrap();
        let outer_src = if ip(router) == sent_dst { ip(f.dst) } else { ip(router) };
        prop_assert_eq!((t.protocol, t.src, t.dst, t.is_icmp_error),
            (Protocol::Icmp, outer_src, ip(f.src), true));
        assert_checksums(&got);
        prop_assert_eq!(addrs(&got), (outer_src, ip(f.src), e.ttl - 1));

        let ohl = header_len(&got);
        let quoted = &got[ohl + 8..];
        prop_assert_eq!(quoted.len(), hl + q);
        prop_assert_eq!(addrs(quoted), (ip(f.src), ip(f.dst), f.ttl - 1));
        prop_assert_eq!(ports(quoted), (f.sport, f.dport));
        let ck = hl + l4_checksum_offset(f.kind);
        if ck + 2 <= quoted.len() {
            prop_assert_eq!(u16_at(quoted, ck), u16_at(&original, ck),
                "quoted transport checksum is the original's");
        }
        // Byte for byte: the original at TTL - 1, cut where the quote was.
        let mut before = f.clone();
        before.ttl -= 1;
        let mut expected_quote = quote(&build(&before), q);
        if ck + 1 == quoted.len() {
            // Half a checksum cannot be updated: it is left as it was sent.
            expected_quote[ck] = sent[ck];
        }
        prop_assert_eq!(quoted, &expected_quote[..]);
        if q == l4_len {
            assert_checksums(quoted);
        }
        let mut outer = e.clone();
        outer.ttl -= 1;
        prop_assert_eq!(got, build_error(outer_src.octets(), f.src, &outer, &expected_quote));
    }
}

// ---------------------------------------------------------------------------
// RFC 768: UDP checksums of 0
// ---------------------------------------------------------------------------

/// Sets the payload word at `pos` so that the datagram, once translated by
/// `n`, has a checksum that computes to 0x0000.
fn craft_zero_after_translation(n: &mut Nat<LruStore>, f: &mut Flow, pos: usize) {
    f.payload[pos] = 0;
    f.payload[pos + 1] = 0;
    let (r, t) = translate_checked(n, &build(f));
    r.unwrap();
    let hl = header_len(&t);
    let mut d = t[hl..].to_vec();
    d[6] = 0;
    d[7] = 0;
    let len = (d.len() as u16).to_be_bytes();
    // The missing word is the checksum of everything else.
    let w = inet_checksum(&[&t[12..16], &t[16..20], &[0, 17], &len, &d]);
    f.payload[pos..pos + 2].copy_from_slice(&w.to_be_bytes());
    let mut t2 = t;
    t2[hl + 8 + pos..hl + 8 + pos + 2].copy_from_slice(&w.to_be_bytes());
    let mut d = t2[hl..].to_vec();
    d[6] = 0;
    d[7] = 0;
    assert_eq!(
        inet_checksum(&[&t2[12..16], &t2[16..20], &[0, 17], &len, &d]),
        0,
        "crafted"
    );
}

proptest! {
    #![proptest_config(config(256))]

    /// RFC 768: a translated UDP checksum that computes to 0x0000 is sent
    /// as 0xFFFF.
    #[test]
    fn udp_checksum_computing_to_zero_is_sent_as_ffff(
        f in flow(Just(Kind::Udp)).prop_filter("2 payload bytes", |f| f.payload.len() >= 2),
        xl in addr(),
        raw_port in any::<u16>(),
        at in any::<Index>(),
        redirect in prop::option::of((addr(), any::<u16>())),
    ) {
        let mut f = f;
        let mut n = nat();
        let mode = mode_for(f.kind, redirect);
        let xl = add_rule(&mut n, &f, xl, xl_port(f.kind, raw_port), mode);
        let pos = at.index(f.payload.len() / 2) * 2;
        craft_zero_after_translation(&mut n, &mut f, pos);
        let (r, out) = translate_checked(&mut n, &build(&f));
        r.unwrap();
        prop_assert_eq!(u16_at(&out, header_len(&out) + 6), 0xffff);
        assert_checksums(&out);
        prop_assert_eq!(out, build(&expected_out(&f, xl, mode)));
    }

    /// RFC 768: a UDP checksum of 0 means none was sent and stays 0, even
    /// when the translated datagram's checksum would compute to 0.
    #[test]
    fn udp_checksum_zero_stays_zero(
        f in flow(Just(Kind::UdpNoChecksum)).prop_filter("2 payload bytes", |f| f.payload.len() >= 2),
        xl in addr(),
        raw_port in any::<u16>(),
        at in any::<Index>(),
        craft in any::<bool>(),
    ) {
        let mut f = f;
        let mut n = nat();
        add_rule(&mut n, &f, xl, xl_port(f.kind, raw_port), Mode::Nat);
        if craft {
            let pos = at.index(f.payload.len() / 2) * 2;
            craft_zero_after_translation(&mut n, &mut f, pos);
        }
        let (r, out) = translate_checked(&mut n, &build(&f));
        r.unwrap();
        prop_assert_eq!(u16_at(&out, header_len(&out) + 6), 0);
    }
}

// ---------------------------------------------------------------------------
// RFC 1624: incremental checksum updates
// ---------------------------------------------------------------------------

/// xorshift64*: a small seeded generator for the plain loops.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 32) % n as u64) as usize
    }

    fn word(&mut self) -> u16 {
        (self.next() >> 48) as u16
    }
}

fn get_word(h: &[u8; 20], i: usize) -> u16 {
    u16::from_be_bytes([h[2 * i], h[2 * i + 1]])
}

fn set_word(h: &mut [u8; 20], i: usize, w: u16) {
    h[2 * i..2 * i + 2].copy_from_slice(&w.to_be_bytes());
}

/// The header's checksum, recomputed from scratch.
fn header_checksum(h: &[u8; 20]) -> u16 {
    let mut z = *h;
    set_word(&mut z, 5, 0);
    inet_checksum(&[&z])
}

/// The value of word `i` that makes the header's checksum compute to 0.
fn word_for_zero_checksum(h: &[u8; 20], i: usize) -> u16 {
    let mut z = *h;
    set_word(&mut z, 5, 0);
    set_word(&mut z, i, 0);
    inet_checksum(&[&z])
}

/// RFC 1624 equation 3, as `Delta` implements it, against a full
/// recomputation: random version-4 headers, 1 to 4 words edited (some as
/// whole addresses, some deltas merged), and a quarter of the cases crafted
/// so that the new checksum computes to 0x0000, where the RFC 1141 form
/// would give 0xFFFF. 0xFFFF never appears.
#[test]
fn incremental_header_checksum_equals_full_recomputation() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut zeros = 0;
    for case in 0..100_000 {
        let mut h = [0u8; 20];
        for i in 0..10 {
            set_word(&mut h, i, rng.word());
        }
        h[0] = 0x40 | (h[0] & 0x0f);
        if case % 16 == 0 {
            // An old checksum of 0x0000.
            let w = word_for_zero_checksum(&h, 2);
            set_word(&mut h, 2, w);
        }
        let old_ck = header_checksum(&h);
        set_word(&mut h, 5, old_ck);
        assert_eq!(inet_checksum(&[&h]), 0, "valid before");

        // Pick 1..=4 distinct words (not the checksum), edit them.
        let mut words: Vec<usize> = vec![0, 1, 2, 3, 4, 6, 7, 8, 9];
        let k = 1 + rng.below(4);
        let mut picked = Vec::new();
        for _ in 0..k {
            picked.push(words.remove(rng.below(words.len())));
        }
        let old = h;
        for (j, &i) in picked.iter().enumerate() {
            let mut w = rng.word();
            if i == 0 {
                w = 0x4000 | (w & 0x0fff);
            }
            if case % 4 == 1 && j == k - 1 && i != 0 {
                w = word_for_zero_checksum(&h, i);
            }
            set_word(&mut h, i, w);
        }
        let mut d = Delta::default();
        let mut second = Delta::default();
        for (j, &i) in picked.iter().enumerate() {
            let target = if j % 2 == 0 { &mut d } else { &mut second };
            target.word(get_word(&old, i), get_word(&h, i));
        }
        d.merge(second);
        // Addresses also through `Delta::addr`, the way the engine records them.
        let mut by_addr = Delta::default();
        for i in 0..5 {
            by_addr.word(get_word(&old, i), get_word(&h, i));
        }
        let a = |b: &[u8; 20], at: usize| Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
        by_addr.addr(a(&old, 12), a(&h, 12));
        by_addr.addr(a(&old, 16), a(&h, 16));

        let full = header_checksum(&h);
        let inc = d.apply(old_ck);
        assert_eq!(
            inc, full,
            "case {case}: old {old:02x?} new {h:02x?} words {picked:?}"
        );
        assert_eq!(by_addr.apply(old_ck), full, "case {case}: Delta::addr");
        assert_ne!(inc, 0xffff, "case {case}: 0xFFFF in an IPv4 header");
        if full == 0 {
            zeros += 1;
        }
    }
    assert!(zeros > 10_000, "the crafted 0x0000 cases ran ({zeros})");
}

// ---------------------------------------------------------------------------
// Robustness: no panic, and a refused packet is unchanged
// ---------------------------------------------------------------------------

/// A NAT with rules for a few fixed flows.
fn nat_with_rules() -> Nat<LruStore> {
    let mut n = nat();
    let c = [10, 0, 0, 2];
    let s = [198, 18, 1, 2];
    let xl = ip([198, 18, 0, 2]);
    for p in [
        tcp(c, 5000, s, 80, 64, b""),
        udp(c, 5000, s, 53, 64, b""),
        echo(c, s, 7, 1, 64, false, b""),
    ] {
        n.add(&p, xl, ports_from(&[40000]), Mode::Nat, NOW).unwrap();
    }
    let fwd = udp(s, 1234, [198, 18, 0, 2], 8080, 64, b"");
    let target = Endpoint::new(ip([10, 0, 0, 9]), 80);
    n.add(
        &fwd,
        xl,
        ports_from(&[8080]),
        Mode::Redirect { target },
        NOW,
    )
    .unwrap();
    n
}

/// Runs `translate` and `add` on `p`: neither may panic, a refused packet
/// must be unchanged, a refused rule must leave the store as it was, and
/// a translated packet has a right IPv4 header checksum.
fn exercise(n: &mut Nat<LruStore>, p: &[u8]) {
    let (r, out) = translate_checked(n, p);
    if r.is_ok() && out.len() >= 20 {
        assert_ip_checksum(&out[..header_len(&out).max(20)]);
    }
    let target = Endpoint::new(ip([10, 0, 0, 9]), 22);
    for mode in [Mode::Nat, Mode::Redirect { target }] {
        let before = table_sizes(n);
        let r = n.add(p, ip([198, 18, 0, 3]), ports_from(&[0, 1, 2]), mode, NOW);
        if let Err(e) = r {
            assert_eq!(
                table_sizes(n),
                before,
                "a refused add changed the store ({e:?})"
            );
            let _ = e.reason();
            assert!(!e.to_string().is_empty());
        }
    }
    if let Err(e) = r {
        let _ = e.reason();
        assert!(!e.to_string().is_empty());
    }
}

/// Recomputes the outer IPv4 header checksum, if the IHL allows it.
fn refix_header(p: &mut [u8], at: usize) {
    let Some(&vihl) = p.get(at) else { return };
    let hl = usize::from(vihl & 0x0f) * 4;
    if hl < 20 || at + hl > p.len() {
        return;
    }
    p[at + 10] = 0;
    p[at + 11] = 0;
    let c = inet_checksum(&[&p[at..at + hl]]);
    p[at + 10..at + 12].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes the ICMP checksum of the message after the outer header, up
/// to the total length (or the buffer's end), if there is one.
fn refix_icmp(p: &mut [u8]) {
    if p.len() < 20 || p[9] != 1 {
        return;
    }
    let hl = header_len(p);
    let end = usize::from(u16_at(p, 2)).min(p.len());
    if hl < 20 || hl + 8 > end {
        return;
    }
    p[hl + 2] = 0;
    p[hl + 3] = 0;
    let c = inet_checksum(&[&p[hl..end]]);
    p[hl + 2..hl + 4].copy_from_slice(&c.to_be_bytes());
}

#[derive(Clone, Debug)]
enum Mutation {
    /// XOR one byte with a nonzero value.
    Flip(Index, u8),
    /// Cut the buffer short.
    Truncate(Index),
    /// Cut it short and set the total length to match.
    TruncateConsistently(Index),
    /// Set the outer IHL.
    Ihl(u8),
    /// Set the outer total length.
    TotalLen(u16),
    /// Set the data offset of a TCP header after the outer header.
    TcpDataOffset(u8),
    /// Set the quoted IHL or total length (ICMP errors).
    QuotedIhl(u8),
    QuotedTotalLen(u16),
    /// Set the TTL.
    Ttl(u8),
    /// Set the flags/fragment offset word.
    Frag(u16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => any::<Index>().prop_map(Mutation::TruncateConsistently),
        1 => (0u8..16).prop_map(Mutation::Ihl),
        1 => any::<u16>().prop_map(Mutation::TotalLen),
        1 => (0u8..16).prop_map(Mutation::TcpDataOffset),
        1 => (0u8..16).prop_map(Mutation::QuotedIhl),
        1 => any::<u16>().prop_map(Mutation::QuotedTotalLen),
        1 => (0u8..=2).prop_map(Mutation::Ttl),
        1 => any::<u16>().prop_map(Mutation::Frag),
    ]
}

fn apply(p: &mut Vec<u8>, m: &Mutation) {
    let hl = p.first().map_or(20, |b| usize::from(b & 0x0f) * 4);
    match *m {
        Mutation::Flip(i, x) if !p.is_empty() => {
            let i = i.index(p.len());
            p[i] ^= x;
        }
        Mutation::Flip(..) => {}
        Mutation::Truncate(i) => p.truncate(i.index(p.len() + 1)),
        Mutation::TruncateConsistently(i) => {
            p.truncate(i.index(p.len() + 1));
            let len = p.len() as u16;
            if let Some(s) = p.get_mut(2..4) {
                s.copy_from_slice(&len.to_be_bytes());
            }
        }
        Mutation::Ihl(v) => {
            if let Some(b) = p.first_mut() {
                *b = (*b & 0xf0) | v;
            }
        }
        Mutation::TotalLen(v) => {
            if let Some(s) = p.get_mut(2..4) {
                s.copy_from_slice(&v.to_be_bytes());
            }
        }
        Mutation::TcpDataOffset(v) => {
            if let Some(b) = p.get_mut(hl + 12) {
                *b = (*b & 0x0f) | (v << 4);
            }
        }
        Mutation::QuotedIhl(v) => {
            if let Some(b) = p.get_mut(hl + 8) {
                *b = (*b & 0xf0) | v;
            }
        }
        Mutation::QuotedTotalLen(v) => {
            if let Some(s) = p.get_mut(hl + 10..hl + 12) {
                s.copy_from_slice(&v.to_be_bytes());
            }
        }
        Mutation::Ttl(v) => {
            if let Some(b) = p.get_mut(8) {
                *b = v;
            }
        }
        Mutation::Frag(v) => {
            if let Some(s) = p.get_mut(6..8) {
                s.copy_from_slice(&v.to_be_bytes());
            }
        }
    }
}

/// A valid packet the NAT knows (an outbound packet, a reply, or an ICMP
/// error about one), and the NAT that knows it.
fn known_packet(
    f: &Flow,
    xl: [u8; 4],
    raw_port: u16,
    which: u8,
    e: &ErrorMsg,
    q: usize,
) -> (Nat<LruStore>, Vec<u8>) {
    let mut n = nat();
    let xl = add_rule(&mut n, f, xl, xl_port(f.kind, raw_port), Mode::Nat);
    let original = build(f);
    let (r, sent) = translate_checked(&mut n, &original);
    r.unwrap();
    let p = match which {
        0 => original,
        1 => {
            let mut reply = expected_out(f, xl, Mode::Nat);
            std::mem::swap(&mut reply.src, &mut reply.dst);
            std::mem::swap(&mut reply.sport, &mut reply.dport);
            reply.reply = true;
            build(&reply)
        }
        _ => {
            let hl = header_len(&sent);
            let q = q.min(sent.len() - hl);
            build_error(f.dst, xl.addr.octets(), e, &quote(&sent, q))
        }
    };
    (n, p)
}

proptest! {
    #![proptest_config(config(2000))]

    /// Arbitrary bytes, sometimes behind a plausible IPv4 header (version
    /// 4, a valid IHL, a matching total length, a right checksum, a known
    /// protocol) so that the transport parsers see them too.
    #[test]
    fn arbitrary_bytes_never_panic_and_are_left_unchanged_when_refused(
        mut bytes in vec(any::<u8>(), 0..2000),
        plausible in any::<bool>(),
        ihl in 5u8..=15,
        proto in prop::sample::select(vec![1u8, 6, 17]),
        icmp_type in prop::sample::select(vec![0u8, 3, 4, 5, 8, 11, 12, 13, 14, 15, 16]),
    ) {
        if plausible && bytes.len() >= 90 {
            bytes[0] = 0x40 | ihl;
            let len = bytes.len() as u16;
            bytes[2..4].copy_from_slice(&len.to_be_bytes());
            bytes[6] &= 0x40;
            bytes[7] = 0;
            bytes[9] = proto;
            if proto == 1 {
                let hl = usize::from(ihl) * 4;
                bytes[hl] = icmp_type;
                bytes[hl + 8] = 0x40 | (bytes[hl + 8] & 0x0f);
                refix_header(&mut bytes, hl + 8);
                refix_icmp(&mut bytes);
            }
            refix_header(&mut bytes, 0);
        }
        let mut n = nat_with_rules();
        exercise(&mut n, &bytes);
    }

    /// Valid packets of every kind (with options, replies, ICMP errors with
    /// any quote length), mutated: bytes flipped, truncated, IHL, total
    /// length, TCP data offset, quoted header fields, TTL and fragment
    /// fields set at random; checksums then refixed or not.
    #[test]
    fn mutated_packets_never_panic_and_are_left_unchanged_when_refused(
        f in flow(any_kind()),
        xl in addr(),
        raw_port in any::<u16>(),
        which in 0u8..4,
        e in error_msg(),
        q in quote_len(),
        mutations in vec(mutation(), 0..4),
        refix in any::<[bool; 3]>(),
    ) {
        let (mut n, mut p) = known_packet(&f, xl, raw_port, which, &e, q);
        for m in &mutations {
            apply(&mut p, m);
        }
        let hl = p.first().map_or(20, |b| usize::from(b & 0x0f) * 4);
        if refix[0] && p.get(9) == Some(&1) {
            refix_header(&mut p, hl + 8);
        }
        if refix[1] {
            refix_icmp(&mut p);
        }
        if refix[2] {
            refix_header(&mut p, 0);
        }
        exercise(&mut n, &p);
    }
}

/// The refusals an unchanged buffer must come with, one by one.
#[test]
fn refusals_leave_the_buffer_unchanged() {
    let mut n = nat_with_rules();
    let c = [10, 0, 0, 2];
    let s = [198, 18, 1, 2];
    let cases: Vec<(Vec<u8>, TranslateError)> = vec![
        (udp(c, 5000, s, 53, 1, b"x"), TranslateError::TtlExceeded),
        (udp(c, 5000, s, 53, 0, b"x"), TranslateError::TtlExceeded),
        (udp(c, 5001, s, 53, 64, b"x"), TranslateError::NoEntry),
        (
            tcp(c, 5000, s, 80, 64, b"")[..30].to_vec(),
            TranslateError::Packet(PacketError::Malformed(WireError::BadTotalLength)),
        ),
    ];
    for (p, want) in cases {
        let (r, _) = translate_checked(&mut n, &p);
        assert_eq!(r, Err(want));
    }
    // An add that fails leaves the store alone.
    let before = table_sizes(&n);
    let p = udp(c, 5000, s, 53, 64, b"");
    assert_eq!(
        n.add(&p, ip([198, 18, 0, 2]), || None, Mode::Nat, NOW),
        Err(AddError::Overlap)
    );
    assert_eq!(table_sizes(&n), before);
}
