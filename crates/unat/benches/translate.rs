//! Per-packet cost of `Nat::translate` on established flows, and of
//! `Nat::add` into a store that already holds 10,000 rules.
//!
//! Translation rewrites the buffer in place, so a buffer cannot simply be
//! translated over and over (and its TTL would run out). Each iteration
//! gets a fresh copy of a template packet through `iter_batched_ref`:
//! criterion makes the copies *outside* the timed section, so the numbers
//! are the translation alone, without the memcpy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use etherparse::PacketBuilder;
use unat::{LruStore, Mode, Nat, Protocol, Store};

/// mirage-nat's mode: nothing expires, so one instant will do.
const NOW: unat::Instant = unat::Instant::ZERO;

const CLIENT: [u8; 4] = [10, 0, 0, 2];
const SERVER: [u8; 4] = [198, 18, 1, 2];
const PUBLIC: [u8; 4] = [198, 18, 0, 2];
const ROUTER: [u8; 4] = [198, 18, 7, 1];

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    PacketBuilder::ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut buf, payload)
        .unwrap();
    buf
}

fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    PacketBuilder::ipv4(src, dst, 64)
        .tcp(sport, dport, 1, 1000)
        .ack(1)
        .write(&mut buf, payload)
        .unwrap();
    buf
}

fn echo(src: [u8; 4], dst: [u8; 4], id: u16, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    PacketBuilder::ipv4(src, dst, 64)
        .icmpv4_echo_request(id, 1)
        .write(&mut buf, payload)
        .unwrap();
    buf
}

/// An ICMP destination unreachable (port) about `packet`, quoting its IPv4
/// header and 8 bytes of transport, as routers do.
fn unreachable(src: [u8; 4], dst: [u8; 4], packet: &[u8]) -> Vec<u8> {
    let hl = usize::from(packet[0] & 0x0f) * 4;
    let quote = &packet[..(hl + 8).min(packet.len())];
    let mut buf = Vec::new();
    PacketBuilder::ipv4(src, dst, 64)
        .icmpv4_raw(3, 3, [0; 4])
        .write(&mut buf, quote)
        .unwrap();
    buf
}

/// Adds the rule `packet` starts (to `PUBLIC:port`) and returns the packet
/// as it leaves the NAT.
fn establish(nat: &mut Nat<LruStore>, packet: &[u8], port: u16) -> Vec<u8> {
    nat.add(
        packet,
        Ipv4Addr::from(PUBLIC),
        || Some(port),
        Mode::Nat,
        NOW,
    )
    .unwrap();
    let mut out = packet.to_vec();
    nat.translate(&mut out, NOW).unwrap();
    out
}

/// Times `translate` on fresh copies of `template`.
fn bench_translate(c: &mut Criterion, name: &str, nat: &mut Nat<LruStore>, template: &[u8]) {
    // Check once that the template translates at all.
    nat.translate(&mut template.to_vec(), NOW).unwrap();
    let mut g = c.benchmark_group("translate");
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| {
        b.iter_batched_ref(
            || template.to_vec(),
            |buf| black_box(nat.translate(black_box(buf.as_mut_slice()), NOW)),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

fn translate(c: &mut Criterion) {
    let mut nat = Nat::new(LruStore::new(1024, 1024, 64).unwrap());

    let udp64 = udp(CLIENT, 5000, SERVER, 53, &[0x5a; 64]);
    let udp64_out = establish(&mut nat, &udp64, 40000);
    bench_translate(c, "udp_64_outbound", &mut nat, &udp64);
    let reply = udp(SERVER, 53, PUBLIC, 40000, &[0xa5; 64]);
    bench_translate(c, "udp_64_reply", &mut nat, &reply);

    let udp1400 = udp(CLIENT, 5001, SERVER, 443, &[0x5a; 1400]);
    establish(&mut nat, &udp1400, 40001);
    bench_translate(c, "udp_1400_outbound", &mut nat, &udp1400);

    let tcp_seg = tcp(CLIENT, 5002, SERVER, 80, &[0x5a; 512]);
    establish(&mut nat, &tcp_seg, 40002);
    bench_translate(c, "tcp_512_outbound", &mut nat, &tcp_seg);

    let ping = echo(CLIENT, SERVER, 7, &[0x5a; 56]);
    establish(&mut nat, &ping, 40003);
    bench_translate(c, "icmp_echo_request", &mut nat, &ping);

    let err = unreachable(ROUTER, PUBLIC, &udp64_out);
    bench_translate(c, "icmp_error_about_udp", &mut nat, &err);
}

/// `add` of new UDP rules into a store holding 10,000 others. New rules
/// are added by batches of `BATCH` (only the adds are timed), then deleted
/// again (untimed), so the store stays between 10,000 and 10,000 + `BATCH` rules.
fn add(c: &mut Criterion) {
    const BASE: u32 = 10_000;
    const BATCH: u16 = 256;
    let mut nat = Nat::new(LruStore::new(1 << 15, 1 << 15, 64).unwrap());
    let base_xl = Ipv4Addr::new(198, 18, 0, 3);
    for i in 0..BASE {
        let [a, b] = ((i / 60_000) as u16).to_be_bytes();
        let src = [10, 1, a, b];
        let sport = 1024 + (i % 60_000) as u16;
        let p = udp(src, sport, SERVER, 53, b"");
        let port = 1024 + i as u16;
        nat.add(&p, base_xl, || Some(port), Mode::Nat, NOW).unwrap();
    }
    assert_eq!(nat.store().len(Protocol::Udp), BASE as usize);

    let fresh_src = [10, 2, 0, 1];
    let fresh: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| udp(fresh_src, 2000 + i, SERVER, 53, b""))
        .collect();
    let xl = Ipv4Addr::from(PUBLIC);

    c.bench_function("add/udp_rule_into_10000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(u64::from(BATCH));
                let start = Instant::now();
                for (i, p) in fresh.iter().take(n as usize).enumerate() {
                    let port = 30_000 + i as u16;
                    black_box(
                        nat.add(black_box(p), xl, || Some(port), Mode::Nat, NOW)
                            .unwrap(),
                    );
                }
                total += start.elapsed();
                nat.remove_connections(Ipv4Addr::from(fresh_src));
                left -= n;
            }
            assert_eq!(nat.store().len(Protocol::Udp), BASE as usize);
            total
        });
    });
}

/// The RFC path: `process` on an established UDP flow (outbound), with
/// session refresh and the per-packet expiry sweep included.
fn process(c: &mut Criterion) {
    let config = unat::Config::new(Ipv4Addr::from(PUBLIC));
    let mut nat = Nat::with_config(LruStore::new(1024, 1024, 64).unwrap(), config).unwrap();
    let mut seed = 0x9e37_79b9u32;
    let mut rng = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let template = udp(CLIENT, 5000, SERVER, 53, &[0x5a; 64]);
    let now = unat::Instant::from_secs(1);
    nat.process(
        &mut template.clone(),
        unat::Direction::Outbound,
        now,
        &mut rng,
    )
    .unwrap();
    c.bench_function("process/udp_64_established_outbound", |b| {
        b.iter_batched_ref(
            || template.clone(),
            |buf| {
                black_box(nat.process(
                    black_box(buf.as_mut_slice()),
                    unat::Direction::Outbound,
                    now,
                    &mut rng,
                ))
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, translate, add, process);
criterion_main!(benches);
