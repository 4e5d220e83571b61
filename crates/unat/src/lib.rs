//! # unat: IPv4 network address translation, sans-IO
//!
//! `unat` rewrites IPv4 packets in the caller's buffer so that hosts behind
//! one address can talk to the world (source NAT) and the world can reach
//! chosen services behind it (destination NAT, port forwards). It carries
//! forward [mirage-nat](https://github.com/mirage/mirage-nat), the NAT of
//! the MirageOS unikernels.
//!
//! It is `#![no_std]` (with `alloc`), does no I/O and reads no clock or
//! random number generator: the caller receives packets, hands them to the
//! engine with the time and a source of randomness, and sends what comes
//! back.
//!
//! Two ways to use it:
//! - [`Nat::process`]: the NAT behaviour of RFC 4787, 5382, 5508 and 7857.
//!   Endpoint-independent mapping, filtering, hairpinning, idle timeouts
//!   with TCP state tracking, per-host limits and random port choice are
//!   all set in a [`Config`].
//! - [`Nat::add`] and [`Nat::translate`]: mirage-nat's explicit NAT and
//!   Redirect rules, where the caller picks the translated address and
//!   ports.
//!
//! ## Layout
//! - [`wire`]: views over packets in a buffer, and Internet checksums
//!   (full RFC 1071 and incremental RFC 1624).
//! - [`flow`]: protocols, endpoints and flow keys.
//! - [`session`]: one flow both ways, with its TCP phase and idle timer.
//! - [`store`]: the [`Store`] trait (one table per protocol, sessions found
//!   by either direction's key) and [`LruStore`].
//! - [`policy`]: the configurable behaviour ([`Config`]).
//! - [`time`]: the caller's clock ([`Instant`]).
//! - [`engine`]: [`Nat`], which translates TCP, UDP, ICMP queries and
//!   ICMP errors in place.
//!
//! ## A flow, its reply, and a stranger
//! ```
//! use std::net::Ipv4Addr;
//! use std::time::Duration;
//! use unat::{Config, Direction, Instant, LruStore, Nat, TranslateError};
//! # use etherparse::{PacketBuilder, SlicedPacket, NetSlice, TransportSlice};
//! # fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
//! #     let mut buf = Vec::new();
//! #     PacketBuilder::ipv4(src, dst, 64).udp(sport, dport).write(&mut buf, b"hello").unwrap();
//! #     buf
//! # }
//! # fn udp_ports(p: &[u8]) -> (u16, u16) {
//! #     let Some(TransportSlice::Udp(u)) = SlicedPacket::from_ip(p).unwrap().transport else { panic!() };
//! #     (u.source_port(), u.destination_port())
//! # }
//! let public = Ipv4Addr::new(198, 18, 0, 2);
//! let mut nat = Nat::with_config(LruStore::new(1024, 1024, 64)?, Config::new(public))?;
//! let mut rng = { let mut x = 0x2545_f491u32; move || { x ^= x << 13; x ^= x >> 17; x ^= x << 5; x } };
//! let t0 = Instant::from_secs(1000);
//!
//! // A private host sends a datagram out: 10.0.0.2:5000 -> 198.18.1.2:53.
//! let mut out = udp([10, 0, 0, 2], 5000, [198, 18, 1, 2], 53);
//! let t = nat.process(&mut out, Direction::Outbound, t0, &mut rng)?;
//! assert_eq!((t.src, t.new_session), (public, true));
//! let (port, _) = udp_ports(&out); // the random public port it got
//!
//! // The reply comes back to the public endpoint and reaches the host.
//! let mut back = udp([198, 18, 1, 2], 53, [198, 18, 0, 2], port);
//! let t = nat.process(&mut back, Direction::Inbound, t0, &mut rng)?;
//! assert_eq!(t.dst, Ipv4Addr::new(10, 0, 0, 2));
//! assert_eq!(udp_ports(&back), (53, 5000));
//!
//! // A host it never talked to is filtered (address-dependent filtering).
//! let mut stranger = udp([198, 18, 9, 9], 53, [198, 18, 0, 2], port);
//! assert_eq!(nat.process(&mut stranger, Direction::Inbound, t0, &mut rng), Err(TranslateError::Filtered));
//!
//! // After five idle minutes the mapping is gone.
//! let later = t0 + Duration::from_secs(301);
//! let mut late = udp([198, 18, 1, 2], 53, [198, 18, 0, 2], port);
//! assert_eq!(nat.process(&mut late, Direction::Inbound, later, &mut rng), Err(TranslateError::NoEntry));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## mirage-nat's rules
//! ```
//! use std::net::Ipv4Addr;
//! use unat::{Instant, LruStore, Mode, Nat};
//! # use etherparse::PacketBuilder;
//! # let mut out = Vec::new();
//! # PacketBuilder::ipv4([10, 0, 0, 2], [198, 18, 1, 2], 64).udp(5000, 53).write(&mut out, b"q").unwrap();
//! let mut nat = Nat::new(LruStore::new(1024, 1024, 20)?);
//! let now = Instant::ZERO; // nothing expires in mirage-nat's mode
//! // `out`: 10.0.0.2:5000 -> 198.18.1.2:53. The caller picks the port.
//! let xl = nat.add(&out, Ipv4Addr::new(198, 18, 0, 2), || Some(40000), Mode::Nat, now)?;
//! assert_eq!(xl.to_string(), "198.18.0.2:40000");
//! nat.translate(&mut out, now)?; // now 198.18.0.2:40000 -> 198.18.1.2:53
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

extern crate alloc;

pub mod engine;
pub mod flow;
pub mod fragment;
pub mod icmp_out;
pub mod policy;
pub mod session;
pub mod store;
pub mod time;
pub mod wire;

pub use engine::{
    is_translatable, AddError, CannotNat, Direction, Mode, Nat, PacketError, RandomSource,
    TranslateError, Translation,
};
pub use flow::{Endpoint, FlowKey, Protocol};
pub use policy::{Config, ConfigError, Filtering, Mapping, PerProtocol, Timeouts, WhenFull};
pub use store::{FreedPorts, Hit, InsertError, LruStore, Store};
pub use time::Instant;
pub use wire::WireError;
