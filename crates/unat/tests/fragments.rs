//! Fragments: mirage-nat's scenarios 9 (fragmentation at MTU 1500) and 10
//! (reassembly), RFC 4787 REQ-13a/14/14a behaviour (order, duplicates,
//! overlaps, expiry, floods), and properties: fragmenting then reassembling
//! gives the packet back, and no input makes either side panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use etherparse::{
    defrag::IpDefragPool, IpHeaders, IpNumber, Ipv4Header, Ipv4Options, PacketBuilder, SlicedPacket,
};
use proptest::prelude::*;
use unat::fragment::{fragment, FragmentError, Limits, Reassembler, ReassemblyError};
use unat::wire::ipv4::Ipv4Packet;
use unat::Instant;

const T0: Instant = Instant::from_secs(1000);
const CLIENT: [u8; 4] = [192, 168, 1, 5];
const SERVER: [u8; 4] = [8, 8, 8, 8];

/// An IPv4 header for etherparse's builder, Don't Fragment as given
/// (etherparse sets it by default).
fn ipv4(src: [u8; 4], dst: [u8; 4], id: u16, df: bool, options: &[u8]) -> IpHeaders {
    IpHeaders::Ipv4(
        Ipv4Header {
            source: src,
            destination: dst,
            time_to_live: 64,
            identification: id,
            dont_fragment: df,
            options: Ipv4Options::try_from(options).unwrap(),
            ..Default::default()
        },
        Default::default(),
    )
}

/// Echo request 192.168.1.5 -> 8.8.8.8 (id 5, seq 9) with `len` data bytes.
fn echo_request(len: usize, df: bool) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut buf = Vec::new();
    PacketBuilder::ip(ipv4(CLIENT, SERVER, 0x4242, df, &[]))
        .icmpv4_echo_request(5, 9)
        .write(&mut buf, &data)
        .unwrap();
    buf
}

/// A UDP datagram 192.168.1.5:5000 -> 8.8.8.8:53 with `len` payload bytes.
fn udp(id: u16, len: usize, options: &[u8]) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i * 13 % 256) as u8).collect();
    let mut buf = Vec::new();
    PacketBuilder::ip(ipv4(CLIENT, SERVER, id, false, options))
        .udp(5000, 53)
        .write(&mut buf, &data)
        .unwrap();
    buf
}

fn split(packet: &[u8], mtu: usize) -> Result<Vec<Vec<u8>>, FragmentError> {
    let mut out = Vec::new();
    let n = fragment(packet, mtu, &mut |f| out.push(f.to_vec()))?;
    assert_eq!(n, out.len());
    Ok(out)
}

/// (length, more fragments, offset in 8-byte units), checking the header checksum.
fn shape(f: &[u8]) -> (usize, bool, u16) {
    let ip = Ipv4Packet::new_checked(f).unwrap();
    assert!(ip.verify_checksum());
    (f.len(), ip.more_fragments(), ip.frag_offset())
}

/// A hand-made UDP fragment 10.9.9.9 -> 10.0.0.1 of datagram `id`.
fn raw_fragment(src: [u8; 4], id: u16, offset: usize, more: bool, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[4..6].copy_from_slice(&id.to_be_bytes());
    let word = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    p[6..8].copy_from_slice(&word.to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&[10, 0, 0, 1]);
    p[20..].copy_from_slice(payload);
    let c = unat::wire::checksum::checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

/// A tiny deterministic generator for the flood.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

// --- Scenario 9: fragmentation on output, MTU 1500 ---

#[test]
fn scenario_9_1472_bytes_fit_in_one_packet() {
    let p = echo_request(1472, false);
    let frags = split(&p, 1500).unwrap();
    assert_eq!(frags.len(), 1);
    assert_eq!(shape(&frags[0]), (1500, false, 0));
    assert_eq!(frags[0], p);
}

#[test]
fn scenario_9_1500_bytes_make_two_fragments() {
    let p = echo_request(1500, false);
    let frags = split(&p, 1500).unwrap();
    let shapes: Vec<_> = frags.iter().map(|f| shape(f)).collect();
    assert_eq!(shapes, vec![(1500, true, 0), (48, false, 185)]);
}

#[test]
fn scenario_9_4432_bytes_make_three_full_fragments() {
    let p = echo_request(4432, false);
    let frags = split(&p, 1500).unwrap();
    let shapes: Vec<_> = frags.iter().map(|f| shape(f)).collect();
    assert_eq!(
        shapes,
        vec![(1500, true, 0), (1500, true, 185), (1500, false, 370)]
    );
}

#[test]
fn scenario_9_dont_fragment_with_1473_bytes_is_refused() {
    let p = echo_request(1473, true);
    let mut emitted = 0;
    assert_eq!(
        fragment(&p, 1500, &mut |_| emitted += 1),
        Err(FragmentError::DontFragment { mtu: 1500 })
    );
    assert_eq!(emitted, 0);
    // It fits with 1472 bytes, DF or not.
    assert_eq!(split(&echo_request(1472, true), 1500).unwrap().len(), 1);
}

// --- Scenario 10: reassembly ---

#[test]
fn scenario_10_two_fragments_in_order_give_back_the_packet() {
    let p = echo_request(1473, false);
    let frags = split(&p, 1500).unwrap();
    assert_eq!(frags.len(), 2);
    let mut r = Reassembler::default();
    assert_eq!(r.push(&frags[0], T0), Ok(None));
    assert_eq!(r.push(&frags[1], T0), Ok(Some(p)));
    assert_eq!((r.datagrams_in_flight(), r.bytes_in_flight()), (0, 0));
}

// --- RFC 4787 REQ-14: order and duplicates ---

#[test]
fn three_fragments_fed_last_first() {
    let p = udp(0x77, 3000, &[]);
    let frags = split(&p, 1100).unwrap();
    assert_eq!(frags.len(), 3);
    let mut r = Reassembler::default();
    assert_eq!(r.push(&frags[2], T0), Ok(None));
    assert_eq!(r.push(&frags[1], T0), Ok(None));
    assert_eq!(r.push(&frags[0], T0), Ok(Some(p.clone())));
    // The reassembled UDP datagram checks out end to end.
    let sliced = SlicedPacket::from_ip(&p).unwrap();
    assert!(sliced.transport.is_some());
}

#[test]
fn duplicates_are_ignored() {
    let p = udp(0x78, 3000, &[]);
    let frags = split(&p, 1100).unwrap();
    let mut r = Reassembler::default();
    for i in [1, 1, 2, 1, 2] {
        assert_eq!(r.push(&frags[i], T0), Ok(None));
    }
    assert_eq!(r.push(&frags[0], T0), Ok(Some(p)));
    // A late duplicate starts a new datagram that never completes.
    assert_eq!(r.push(&frags[2], T0), Ok(None));
    assert_eq!(r.datagrams_in_flight(), 1);
}

#[test]
fn options_stay_on_the_first_fragment_and_come_back() {
    // Record Route (not copied) and a copied experimental option (0x9e).
    let opts = [7, 7, 4, 0, 0, 0, 0, 0x9e, 4, 0xab, 0xcd, 0, 0, 0, 0, 0];
    let p = udp(0x79, 2000, &opts);
    let frags = split(&p, 576).unwrap();
    assert_eq!(frags[0][0] & 0x0f, 9);
    for f in &frags[1..] {
        assert_eq!(f[0] & 0x0f, 6);
        assert_eq!(&f[20..24], &[0x9e, 4, 0xab, 0xcd]);
    }
    let mut r = Reassembler::default();
    let mut whole = None;
    for f in frags.iter().rev() {
        whole = r.push(f, T0).unwrap();
    }
    assert_eq!(whole, Some(p));
}

// --- RFC 1858 / 3128: overlaps and tiny fragments ---

#[test]
fn teardrop_overlaps_drop_the_datagram() {
    let src = [10, 9, 9, 9];
    let first: Vec<u8> = (0..48).collect();
    // The classic teardrop: the second fragment starts inside the first
    // and ends inside it too, with other bytes.
    let mut r = Reassembler::default();
    r.push(&raw_fragment(src, 1, 0, true, &first), T0).unwrap();
    assert_eq!(
        r.push(&raw_fragment(src, 1, 24, true, &[0xee; 8]), T0),
        Err(ReassemblyError::Overlap)
    );
    assert_eq!((r.datagrams_in_flight(), r.bytes_in_flight()), (0, 0));
    // Its original form is a last fragment ending inside the first: the
    // datagram would end before bytes already held.
    r.push(&raw_fragment(src, 1, 0, true, &first), T0).unwrap();
    assert_eq!(
        r.push(&raw_fragment(src, 1, 24, false, &[0xee; 4]), T0),
        Err(ReassemblyError::PastEnd)
    );
    assert_eq!((r.datagrams_in_flight(), r.bytes_in_flight()), (0, 0));

    // RFC 3128: a later fragment at offset 8 rewrites the UDP header bytes.
    r.push(&raw_fragment(src, 2, 0, true, &first), T0).unwrap();
    let mut rewrite = first[8..24].to_vec();
    rewrite[0] ^= 0x55;
    assert_eq!(
        r.push(&raw_fragment(src, 2, 8, true, &rewrite), T0),
        Err(ReassemblyError::Overlap)
    );
    assert_eq!(r.datagrams_in_flight(), 0);

    // The same overlap with the same bytes is harmless.
    r.push(&raw_fragment(src, 3, 0, true, &first), T0).unwrap();
    r.push(&raw_fragment(src, 3, 8, true, &first[8..24]), T0)
        .unwrap();
    let whole = r
        .push(&raw_fragment(src, 3, 48, false, &[1, 2, 3]), T0)
        .unwrap()
        .unwrap();
    assert_eq!(whole.len(), 20 + 48 + 3);
}

#[test]
fn tiny_tcp_first_fragment_is_refused() {
    let mut f = raw_fragment([10, 9, 9, 9], 4, 0, true, &[0; 8]);
    f[9] = 6;
    f[10..12].fill(0);
    let c = unat::wire::checksum::checksum(&f[..20]);
    f[10..12].copy_from_slice(&c.to_be_bytes());
    let mut r = Reassembler::default();
    assert_eq!(r.push(&f, T0), Err(ReassemblyError::TinyFirstFragment));
}

// --- RFC 4787 REQ-14a: expiry and floods ---

#[test]
fn chains_never_completed_expire_after_the_timeout() {
    let limits = Limits::default();
    assert_eq!(limits.timeout, Duration::from_secs(30));
    let mut r = Reassembler::new(limits);
    let frags = split(&udp(0x80, 3000, &[]), 1100).unwrap();
    r.push(&frags[0], T0).unwrap();
    r.push(&frags[1], T0 + Duration::from_secs(10)).unwrap();
    assert_eq!(r.expire(T0 + Duration::from_millis(29_999)), 0);
    assert_eq!(r.datagrams_in_flight(), 1);
    assert_eq!(r.expire(T0 + Duration::from_secs(30)), 1);
    assert_eq!((r.datagrams_in_flight(), r.bytes_in_flight()), (0, 0));
    assert_eq!(r.stats().expired, 1);
    // The missing fragment, too late, does not complete anything.
    assert_eq!(r.push(&frags[2], T0 + Duration::from_secs(31)), Ok(None));
}

#[test]
fn a_flood_of_incomplete_chains_stays_within_the_caps() {
    let limits = Limits {
        max_datagrams: 512,
        max_bytes: 256 * 1024,
        ..Limits::default()
    };
    let mut r = Reassembler::new(limits);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let real = split(&udp(0x99, 2000, &[]), 1500).unwrap();
    let mut completed = 0;
    let mut now = T0;
    for i in 0..100_000u32 {
        let x = rng.next();
        let src = [198, 18, (x >> 8) as u8, (x >> 16) as u8];
        let id = (x >> 24) as u16;
        // Never completed: a middle fragment of random size and place.
        let len = 8 * (1 + (x >> 40) as usize % 180);
        let offset = 8 * (1 + (x >> 48) as usize % 4000);
        let f = raw_fragment(src, id, offset, true, &vec![0xaa; len]);
        match r.push(&f, now) {
            Ok(None) | Err(ReassemblyError::SourceLimit) => {}
            other => panic!("flood fragment {i}: {other:?}"),
        }
        assert!(r.bytes_in_flight() <= limits.max_bytes);
        assert!(r.datagrams_in_flight() <= limits.max_datagrams);
        // Alongside, a real datagram now and then, its two fragments close together.
        if i % 100 == 0 {
            assert_eq!(r.push(&real[0], now), Ok(None));
            if r.push(&real[1], now).unwrap().is_some() {
                completed += 1;
            }
        }
        now = now + Duration::from_micros(100);
    }
    assert_eq!(completed, 1000, "in-order datagrams got through the flood");
    assert!(r.stats().evicted > 90_000);
    // Stale chains are freed at the timeout.
    r.expire(now + limits.timeout);
    assert_eq!((r.datagrams_in_flight(), r.bytes_in_flight()), (0, 0));
}

#[test]
fn a_flood_from_one_source_leaves_room_for_others() {
    let limits = Limits {
        max_datagrams: 64,
        max_datagrams_per_source: 16,
        ..Limits::default()
    };
    let mut r = Reassembler::new(limits);
    let victim = split(&udp(0x55, 3000, &[]), 1100).unwrap();
    r.push(&victim[2], T0).unwrap();
    for id in 0..10_000u16 {
        let f = raw_fragment([203, 0, 113, 7], id, 8, true, &[0; 8]);
        let _ = r.push(&f, T0);
    }
    assert_eq!(r.push(&victim[1], T0), Ok(None));
    assert!(r.push(&victim[0], T0).unwrap().is_some());
    assert_eq!(r.stats().evicted, 0);
}

// --- Properties ---

/// Options for the generated headers: none, or some copied and not.
fn options() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![1, 1, 1, 0]),
        Just(vec![0x94, 4, 0, 0]),          // Router Alert (copied)
        Just(vec![7, 7, 4, 0, 0, 0, 0, 0]), // Record Route
        Just(vec![0x83, 7, 4, 1, 2, 3, 4, 1, 7, 3, 4, 0]), // LSRR, NOP, RR
        any::<[u8; 2]>().prop_map(|v| vec![0x88, 4, v[0], v[1]]), // Stream ID (copied)
    ]
}

/// A shuffled order of `n` items from a seed.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = XorShift(seed | 1);
    for i in (1..n).rev() {
        order.swap(i, rng.next() as usize % (i + 1));
    }
    order
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fragmenting_then_reassembling_gives_the_packet_back(
        len in 0usize..9000,
        mtu in 68usize..2000,
        id in any::<u16>(),
        opts in options(),
        seed in any::<u64>(),
    ) {
        let p = udp(id, len, &opts);
        let frags = split(&p, mtu).unwrap();
        let mut offsets = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            let (flen, mf, off) = shape(f);
            prop_assert!(flen <= mtu);
            prop_assert_eq!(mf, i + 1 < frags.len());
            offsets.push(off);
        }
        prop_assert!(offsets.windows(2).all(|w| w[0] < w[1]));
        if frags.len() == 1 {
            prop_assert_eq!(&frags[0], &p);
            return Ok(());
        }
        // Our reassembler, in any order, gives back the exact bytes.
        let mut r = Reassembler::default();
        let order = shuffled(frags.len(), seed);
        let mut out = None;
        for (k, &i) in order.iter().enumerate() {
            let got = r.push(&frags[i], T0).unwrap();
            prop_assert_eq!(got.is_some(), k + 1 == order.len());
            out = out.or(got);
        }
        prop_assert_eq!(out.as_ref(), Some(&p));
        prop_assert_eq!(r.bytes_in_flight(), 0);
        // An independent reassembler (etherparse's) agrees on the payload.
        let mut pool = IpDefragPool::<(), ()>::new();
        let mut payload = None;
        for f in &frags {
            let sliced = SlicedPacket::from_ip(f).unwrap();
            if let Some(done) = pool.process_sliced_packet(&sliced, (), ()).unwrap() {
                prop_assert_eq!(done.ip_number, IpNumber::UDP);
                payload = Some(done.payload);
            }
        }
        let hl = usize::from(p[0] & 0x0f) * 4;
        prop_assert_eq!(payload.as_deref(), Some(&p[hl..]));
    }

    #[test]
    fn refragmenting_fragments_still_reassembles(
        len in 200usize..6000,
        mtu1 in 300usize..1500,
        shrink in 0usize..200,
        opts in options(),
        seed in any::<u64>(),
    ) {
        let p = udp(0x1234, len, &opts);
        let mtu2 = (mtu1 - shrink).max(68);
        let mut frags = Vec::new();
        for f in split(&p, mtu1).unwrap() {
            frags.extend(split(&f, mtu2).unwrap());
        }
        if frags.len() == 1 {
            prop_assert_eq!(&frags[0], &p);
            return Ok(());
        }
        let mut r = Reassembler::default();
        let mut out = None;
        for i in shuffled(frags.len(), seed) {
            out = out.or(r.push(&frags[i], T0).unwrap());
        }
        prop_assert_eq!(out, Some(p));
    }

    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        mtu in 0usize..300,
    ) {
        let _ = fragment(&bytes, mtu, &mut |_| ());
        let mut r = Reassembler::default();
        let _ = r.push(&bytes, T0);
    }

    #[test]
    fn random_fragment_headers_never_panic_nor_break_the_caps(
        frags in proptest::collection::vec(
            (any::<u8>(), any::<u16>(), any::<u16>(), 0usize..100, any::<u8>(), any::<bool>()),
            1..60,
        ),
        mtu in 0usize..300,
    ) {
        let limits = Limits { max_datagrams: 8, max_bytes: 2048, max_datagrams_per_source: 4, ..Limits::default() };
        let mut r = Reassembler::new(limits);
        let mut now = T0;
        for (src, id, word, len, fill, tcp) in frags {
            let payload = vec![fill; len];
            let mut f = raw_fragment([10, 0, 0, src % 4], id % 4, 0, false, &payload);
            f[6..8].copy_from_slice(&word.to_be_bytes());
            f[9] = if tcp { 6 } else { 17 };
            f[10..12].fill(0);
            let c = unat::wire::checksum::checksum(&f[..20]);
            f[10..12].copy_from_slice(&c.to_be_bytes());
            let _ = fragment(&f, mtu, &mut |piece| assert!(piece.len() <= mtu.max(f.len())));
            if let Ok(Some(whole)) = r.push(&f, now) {
                let ip = Ipv4Packet::new_checked(&whole[..]).unwrap();
                prop_assert!(ip.verify_checksum());
                prop_assert!(!ip.is_fragment());
            }
            prop_assert!(r.bytes_in_flight() <= limits.max_bytes);
            prop_assert!(r.datagrams_in_flight() <= limits.max_datagrams);
            now = now + Duration::from_secs(1);
        }
    }
}
