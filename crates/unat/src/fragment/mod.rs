//! IPv4 fragments: splitting a datagram that is too big for the next link
//! ([`fragment()`], RFC 791 §3.2 and RFC 4787 REQ-13/13a) and putting
//! fragments back together under memory limits ([`Reassembler`], RFC 4787
//! REQ-14/14a, RFC 1858 and RFC 3128).
//!
//! Both are the slow path: they copy, and they allocate scratch space.
//! Neither reads a clock; the reassembler is told the time by its caller.
//!
//! ```
//! use unat::fragment::{fragment, Limits, Reassembler};
//! use unat::Instant;
//! # let mut packet = vec![0u8; 2000];
//! # packet[..20].copy_from_slice(&[0x45, 0, 0x07, 0xd0, 0, 7, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
//! # let c = unat::wire::checksum::checksum(&packet[..20]);
//! # packet[10..12].copy_from_slice(&c.to_be_bytes());
//! // A 2000-byte datagram (DF clear) through a 1500-byte link...
//! let mut pieces = Vec::new();
//! let n = fragment(&packet, 1500, &mut |f| pieces.push(f.to_vec()))?;
//! assert_eq!(n, 2);
//! // ...and back together at the other end.
//! let mut r = Reassembler::new(Limits::default());
//! assert_eq!(r.push(&pieces[0], Instant::ZERO)?, None);
//! assert_eq!(r.push(&pieces[1], Instant::ZERO)?, Some(packet));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod fragmentation;
pub mod reassembly;

pub use fragmentation::{fragment, FragmentError, MIN_MTU};
pub use reassembly::{Limits, Reassembler, ReassemblyError, ReassemblyStats, PIECE_OVERHEAD};
