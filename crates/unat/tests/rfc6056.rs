//! RFC 6056 (BCP 156, port randomization) as it applies to a NAPT's
//! external ports (with RFC 7857 §9 and RFC 6888 REQ-15); tests are named
//! `rfc6056_s<section>_...`. The random source is the caller's (here a
//! deterministic SplitMix64), so these tests check how the library turns
//! random numbers into ports, and every run gives the same numbers.
//!
//! Not tested here, and why:
//! - §3.2, excluding the ports of local services: `Config` has no
//!   exclusion list (not implemented). A port forward does hold its port:
//!   rfc6056_s3_2_forwarded_ports_never_handed_out.
//! - §3.3.5 (the step of Algorithm 5), §3.4 (the secret of the hash-based
//!   Algorithms 3 and 4): the library draws each port afresh from the
//!   caller's random source (Algorithm 2 style); there is no step and no
//!   key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::rfc::*;
use unat::{Endpoint, PerProtocol, Protocol};

/// No per-host limits, so that one host can hold many mappings.
fn unlimited() -> unat::Config {
    let mut c = cfg();
    c.per_host_limit = PerProtocol::all(None);
    c
}

/// `n` external ports chosen for new mappings of A (inside ports of 1024
/// and up) toward R:53, in order. The NAT is reset every 1000 mappings so
/// the table never gets crowded.
fn allocations(c: unat::Config, n: usize, inside: impl Fn(usize) -> u16) -> Vec<u16> {
    let mut b = Bench::with_tables(c, 16, 1024, 16);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if i % 1000 == 0 {
            b.nat.reset();
        }
        let x = inside(i);
        out.push(b.out_port(udp_pkt(A, x, R, 53)));
    }
    out
}

/// A 64-bucket histogram of ports in 1024..=65535 (1008 ports a bucket).
fn histogram(ports: &[u16]) -> Vec<u64> {
    let mut h = vec![0u64; 64];
    for &p in ports {
        h[usize::from(p - 1024) / 1008] += 1;
    }
    h
}

#[test]
fn rfc6056_s3_2_whole_range_used_100k_allocations() {
    let ports = allocations(unlimited(), 100_000, |i| 1024 + (i % 1000) as u16);
    let (min, max) = (*ports.iter().min().unwrap(), *ports.iter().max().unwrap());
    assert!(min >= 1024, "min {min}");
    assert!(min < 1100, "the bottom of the range is used: min {min}");
    assert!(max > 65_400, "the top of the range is used: max {max}");
    // (max <= 65535 by type.)
    let below_49152 = ports.iter().filter(|&&p| p < 49_152).count();
    assert!(
        below_49152 > 70_000,
        "not only the dynamic range: {below_49152}"
    );
    let h = histogram(&ports);
    let chi2 = chi_square(&h);
    assert!(
        chi2 < CHI2_63_P001,
        "chi-square {chi2:.1} over 64 buckets: {h:?}"
    );
}

#[test]
fn rfc6056_s3_3_consecutive_allocations_not_sequential() {
    let ports = allocations(unlimited(), 100_000, |i| 1024 + (i % 1000) as u16);
    let steps = ports
        .windows(2)
        .filter(|w| w[1].abs_diff(w[0]) <= 2)
        .count();
    // A uniform choice gives about 100k * 5/64512, eight such steps.
    assert!(
        steps < 40,
        "{steps} consecutive allocations within 2 of each other"
    );
    let xs: Vec<f64> = ports.iter().map(|&p| f64::from(p)).collect();
    let r = lag1_autocorrelation(&xs);
    assert!(r.abs() < 0.02, "lag-1 autocorrelation {r}");
    // And the first few, to the same destination, by eye in a failure.
    let first: Vec<u16> = ports[..8].to_vec();
    for w in first.windows(2) {
        assert!(w[1].abs_diff(w[0]) > 2, "{first:?}");
    }
}

#[test]
fn rfc6056_s4_without_preservation_every_port_is_randomized() {
    // Even an inside port that is free is not kept (preservation is off by
    // default): over 2000 mappings, hardly any keeps its inside port.
    let ports = allocations(unlimited(), 2000, |i| 20_000 + i as u16);
    let kept = ports
        .iter()
        .enumerate()
        .filter(|(i, &p)| p == 20_000 + *i as u16)
        .count();
    assert!(kept <= 2, "{kept} kept their inside port");
}

#[test]
fn rfc6056_s4_preservation_randomizes_only_on_clash() {
    let mut c = unlimited();
    c.ports.preserve = true;
    let mut b = Bench::new(c);
    assert_eq!(b.out_port(udp_pkt(A, 40_000, R, 53)), 40_000);
    assert_eq!(b.out_port(udp_pkt(A, 123, R, 123)), 123);
    // The same inside port on other hosts: random ports of the same class.
    let mut taken = vec![40_000u16];
    for h in 0..50u8 {
        let p = b.out_port(udp_pkt([10, 0, 2, h], 40_000, R, 53));
        assert!(p >= 1024);
        assert!(!taken.contains(&p));
        taken.push(p);
    }
    let near = taken
        .windows(2)
        .filter(|w| w[1].abs_diff(w[0]) <= 2)
        .count();
    assert_eq!(near, 0, "not sequential: {taken:?}");
    let p = b.out_port(udp_pkt(B, 123, R, 123));
    assert!((1..1024).contains(&p) && p != 123);
}

#[test]
fn rfc6056_s4_parity_randomizes_then_forces_low_bit() {
    let mut c = unlimited();
    c.ports.parity = true;
    let mut rng = SplitMix(6056);
    let inside: Vec<u16> = (0..10_000).map(|_| rng.range(1024, 65535) as u16).collect();
    // Distinct inside ports within each batch of 1000.
    let ports = allocations(c, 10_000, |i| {
        let x = inside[i];
        // Keep batch members distinct: the low 10 bits are i % 1000.
        (x & !0x3ff).max(1024) | (i % 1000) as u16
    });
    for (i, &p) in ports.iter().enumerate() {
        let x = (inside[i] & !0x3ff).max(1024) | (i % 1000) as u16;
        assert_eq!((p ^ x) & 1, 0, "A:{x} left as {p}");
    }
    // The upper 15 bits: 512..=32767, 504 values a bucket.
    let mut h = vec![0u64; 64];
    for &p in &ports {
        h[usize::from((p >> 1) - 512) / 504] += 1;
    }
    let chi2 = chi_square(&h);
    assert!(chi2 < CHI2_63_P001, "chi-square {chi2:.1}: {h:?}");
}

#[test]
fn rfc6056_s3_2_forwarded_ports_never_handed_out() {
    // The router's services, held as port forwards: tcp/22, udp/53. Fill
    // the privileged class: every port but those is handed out, then none.
    let mut b = Bench::new(unlimited());
    assert!(b
        .nat
        .add_forward(Protocol::Tcp, 22, Endpoint::new(v4(N), 22)));
    assert!(b
        .nat
        .add_forward(Protocol::Udp, 53, Endpoint::new(v4(N), 53)));
    let mut udp = Vec::new();
    for x in 1..=1022u16 {
        udp.push(b.out_port(udp_pkt([10, 0, 3, 1], x, R, 53)));
    }
    assert!(!udp.contains(&53));
    assert!(udp.contains(&22), "tcp/22 does not hold udp/22");
    // The privileged class is full: a high port rather than no mapping.
    assert!(b.out_port(udp_pkt(A, 1, R, 53)) >= 1024);
    for x in 1..=100u16 {
        let syn = b.out(tcp_pkt([10, 0, 3, 1], x, R, 80, "S", b"")).unwrap();
        assert_ne!(flow(&syn).1, 22);
    }
}

#[test]
fn rfc6056_s5_no_port_favoured_when_most_are_taken() {
    // §5: a random start followed by a linear probe (Algorithm 1) favours
    // the free port after a long taken run. Here ports 1 to `fill` of the
    // privileged class are taken (preservation makes that easy); each
    // round, a new mapping is made for A and removed again. No free port
    // may come up more than twice as often as the mean.
    for fill in [900u16, 1013] {
        let mut c = unlimited();
        c.ports.preserve = true;
        let mut b = Bench::new(c);
        for x in 1..=fill {
            assert_eq!(b.out_port(udp_pkt([10, 0, 4, 1], x, R, 53)), x);
        }
        let rounds = 10_000u32;
        let mut counts = vec![0u32; 1024];
        for i in 0..rounds {
            // A's inside port is taken, so a port is drawn.
            let p = b.out_port(udp_pkt(A, 1 + (i % u32::from(fill)) as u16, R, 53));
            assert!(p > fill, "{p} is taken");
            counts[usize::from(p)] += 1;
            b.nat.remove_connections(v4(A));
        }
        let mean = f64::from(rounds) / f64::from(1023 - fill);
        let (worst, n) = counts.iter().enumerate().max_by_key(|(_, n)| **n).unwrap();
        assert!(
            f64::from(*n) <= 2.0 * mean,
            "{fill} taken: port {worst} came {n} times, the mean is {mean:.0}"
        );
    }
}
