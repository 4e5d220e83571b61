//! # unat: IPv4 network address translation, sans-IO
//!
//! `unat` rewrites IPv4 packets in the caller's buffer so that hosts behind
//! one address can talk to the world (source NAT) and the world can reach
//! chosen services behind it (destination NAT, port forwards). It carries
//! forward [mirage-nat](https://github.com/mirage/mirage-nat), the NAT of
//! the MirageOS unikernels.
//!
//! It is `#![no_std]` (with `alloc`), does no I/O and reads no clock or
//! random number generator: the caller receives packets, hands them to
//! [`Nat::translate`], and sends what comes back; when a new flow needs a
//! rule, the caller decides its translated address and supplies candidate
//! ports to [`Nat::add`].
//!
//! ## Layout
//! - [`wire`]: views over packets in a buffer, and Internet checksums
//!   (full RFC 1071 and incremental RFC 1624).
//! - [`flow`]: protocols, endpoints and flow keys.
//! - [`store`]: the [`Store`] trait (one table per protocol, rules inserted
//!   as request/reply pairs) and [`LruStore`].
//! - [`engine`]: [`Nat`], which adds rules and translates TCP, UDP, ICMP
//!   queries and ICMP errors in place.
//!
//! ## A packet and its reply
//! ```
//! use std::net::Ipv4Addr;
//! use unat::{LruStore, Mode, Nat};
//! # use etherparse::{PacketBuilder, SlicedPacket, NetSlice, TransportSlice};
//! # fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, ttl: u8) -> Vec<u8> {
//! #     let mut buf = Vec::new();
//! #     PacketBuilder::ipv4(src, dst, ttl).udp(sport, dport).write(&mut buf, b"hello").unwrap();
//! #     buf
//! # }
//! let public = Ipv4Addr::new(198, 18, 0, 2);
//! let mut nat = Nat::new(LruStore::new(1024, 1024, 64)?);
//!
//! // A private host sends a datagram out: 10.0.0.2:5000 -> 198.18.1.2:53.
//! let mut out = udp([10, 0, 0, 2], 5000, [198, 18, 1, 2], 53, 64);
//! // No rule yet: add one, with the caller's choice of port, then translate.
//! assert!(nat.translate(&mut out).is_err());
//! let mapped = nat.add(&out, public, || Some(40000), Mode::Nat)?;
//! assert_eq!(mapped.to_string(), "198.18.0.2:40000");
//! let t = nat.translate(&mut out)?;
//! assert_eq!(t.dst, Ipv4Addr::new(198, 18, 1, 2));
//! // `out` now reads 198.18.0.2:40000 -> 198.18.1.2:53, TTL 63, checksums right.
//! # let p = SlicedPacket::from_ip(&out).unwrap();
//! # let Some(NetSlice::Ipv4(ip)) = p.net else { panic!() };
//! # assert_eq!(ip.header().source(), [198, 18, 0, 2]);
//! # assert_eq!(ip.header().ttl(), 63);
//!
//! // The reply comes back to the public endpoint...
//! let mut back = udp([198, 18, 1, 2], 53, [198, 18, 0, 2], 40000, 60);
//! let t = nat.translate(&mut back)?;
//! // ...and goes to the private host, as 198.18.1.2:53 -> 10.0.0.2:5000.
//! assert_eq!(t.dst, Ipv4Addr::new(10, 0, 0, 2));
//! # let p = SlicedPacket::from_ip(&back).unwrap();
//! # let Some(TransportSlice::Udp(u)) = p.transport else { panic!() };
//! # assert_eq!(u.destination_port(), 5000);
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
pub mod store;
pub mod wire;

pub use engine::{
    is_translatable, AddError, CannotNat, Mode, Nat, PacketError, TranslateError, Translation,
};
pub use flow::{Endpoint, FlowKey, Protocol};
pub use store::{FreedPorts, LruStore, Overlap, Store};
pub use wire::WireError;
