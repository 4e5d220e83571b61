//! Fuzzes the RFC path and the fragment code with a stream of packets.
//!
//! The input is cut into packets (a length byte, a flags byte, then the
//! bytes). Each goes to `Nat::process` in the direction the flags say, at
//! a clock that moves forward by the flags' amount, after an optional
//! trip through a `Reassembler` and `fragment`. Checked: nothing panics,
//! a refused packet is left byte-for-byte unchanged, and every translated
//! packet has a valid IPv4 header checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use unat::fragment::{fragment, Reassembler};
use unat::{Config, Direction, Instant, LruStore, Nat};

fuzz_target!(|data: &[u8]| {
    let mut config = Config::new(Ipv4Addr::new(198, 18, 0, 2));
    config.per_host_limit = unat::PerProtocol::all(Some(8));
    config.per_mapping_sessions = Some(8);
    let Ok(store) = LruStore::new(16, 16, 16) else { return };
    let Ok(mut nat) = Nat::with_config(store, config) else { return };
    nat.add_forward(unat::Protocol::Udp, 5353, unat::Endpoint::new(Ipv4Addr::new(10, 0, 0, 2), 53));
    let mut reassembler = Reassembler::default();
    let mut seed = 0x9e37_79b9u32;
    let mut rng = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let mut now = Instant::from_secs(1);
    let mut rest = data;
    while let [len, flags, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (packet, next) = tail.split_at(n);
        rest = next;
        now = now + std::time::Duration::from_secs(u64::from(flags >> 4) * 30);
        let direction = if flags & 1 == 0 { Direction::Outbound } else { Direction::Inbound };
        let mut buf = packet.to_vec();
        if flags & 2 != 0 {
            // Through the reassembler: only whole datagrams go on.
            match reassembler.push(&buf, now) {
                Ok(Some(whole)) => buf = whole,
                _ => continue,
            }
        }
        let before = buf.clone();
        match nat.process(&mut buf, direction, now, &mut rng) {
            Ok(_) => {
                let hl = usize::from(buf[0] & 0x0f) * 4;
                assert!(unat::wire::checksum::verify(&buf[..hl], 0), "bad header checksum");
                if flags & 4 != 0 {
                    let mut pieces = 0usize;
                    let _ = fragment(&buf, 68 + usize::from(flags & 0x08) * 64, &mut |_| pieces += 1);
                }
            }
            Err(_) => assert_eq!(buf, before, "a refused packet was changed"),
        }
    }
});
