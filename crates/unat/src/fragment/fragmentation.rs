//! Splitting an IPv4 datagram into fragments that fit a link's MTU
//! (RFC 791 §3.2 "Fragmentation", RFC 4787 REQ-13/13a, RFC 1812 §5.2.6).
//!
//! [`fragment()`] owns the whole job: the refusal when Don't Fragment is
//! set (the caller then answers with ICMP 3/4), the choice of piece sizes,
//! which options non-first fragments carry, and each fragment's header.

use alloc::vec::Vec;
use core::fmt;

use crate::wire::ipv4::{Ipv4Packet, MIN_HEADER_LEN};
use crate::wire::{checksum, get_u16, put_u16, WireError};

/// The smallest MTU every IPv4 link must carry (RFC 791: a 60-byte header
/// and an 8-byte fragment). [`fragment()`] refuses anything smaller.
pub const MIN_MTU: usize = 68;

const TOTAL_LEN: usize = 2;
const FLAGS_FRAG: usize = 6;
const CHECKSUM: usize = 10;
const FLAG_RESERVED: u16 = 0x8000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
/// The "copied" flag of an option type: carry it in every fragment.
const OPT_COPIED: u8 = 0x80;
/// Most option bytes a header can hold (60 - 20).
const MAX_OPTIONS: usize = 40;

/// Why a packet could not be fragmented. Nothing was emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FragmentError {
    /// The buffer is not a whole IPv4 packet.
    Malformed(WireError),
    /// The MTU is below [`MIN_MTU`] (68).
    MtuTooSmall {
        /// The MTU asked for.
        mtu: usize,
    },
    /// The packet is larger than the MTU and has Don't Fragment set: drop
    /// it and send ICMP 3/4 with this next-hop MTU (RFC 4787 REQ-13).
    DontFragment {
        /// The MTU the packet did not fit.
        mtu: usize,
    },
    /// The header options are malformed (an option length below 2 or
    /// past the header), so it is unknown which to copy into fragments.
    BadOptions,
    /// The packet is itself a fragment so far into its datagram that its
    /// pieces' offsets would not fit the 13-bit field.
    OffsetOverflow,
}

impl FragmentError {
    /// A short, stable, snake_case name, for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            FragmentError::Malformed(w) => w.reason(),
            FragmentError::MtuTooSmall { .. } => "mtu_too_small",
            FragmentError::DontFragment { .. } => "dont_fragment",
            FragmentError::BadOptions => "bad_ipv4_options",
            FragmentError::OffsetOverflow => "fragment_offset_overflow",
        }
    }
}

impl From<WireError> for FragmentError {
    fn from(e: WireError) -> Self {
        FragmentError::Malformed(e)
    }
}

impl fmt::Display for FragmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FragmentError::Malformed(w) => write!(f, "cannot fragment: {w}"),
            FragmentError::MtuTooSmall { mtu } => {
                write!(f, "MTU {mtu} is below the IPv4 minimum of {MIN_MTU}")
            }
            FragmentError::DontFragment { mtu } => {
                write!(
                    f,
                    "packet larger than the MTU {mtu} with Don't Fragment set"
                )
            }
            FragmentError::BadOptions => f.write_str("malformed IPv4 options"),
            FragmentError::OffsetOverflow => {
                f.write_str("fragment offsets would overflow the 13-bit field")
            }
        }
    }
}

impl core::error::Error for FragmentError {}

/// Splits the IPv4 packet in `packet` into fragments of at most `mtu`
/// bytes (IP header included) and hands them to `emit` in order, first
/// fragment first. Returns how many fragments were emitted.
///
/// - A packet that fits (total length ≤ `mtu`) is emitted as it is (up to
///   its total length: trailing link padding is left out), and the result
///   is 1. Its header is not looked at beyond [`Ipv4Packet::new_checked`].
/// - A packet that does not fit and has Don't Fragment set is refused with
///   [`FragmentError::DontFragment`]; so is any `mtu` below [`MIN_MTU`]
///   with [`FragmentError::MtuTooSmall`]. Nothing is emitted on an error.
/// - Otherwise every fragment but the last carries a multiple of 8 payload
///   bytes, as many as fit; offsets are in 8-byte units; More Fragments is
///   set on all but the last. The first fragment keeps the whole header,
///   options included; later ones keep the first 20 bytes and only the
///   options whose type has the copied flag (bit 7), padded with
///   End-of-Options to a multiple of 4 (RFC 791 §3.1).
/// - A fragment can be fragmented again: offsets then count from the
///   original's offset, and the last piece keeps the original's More
///   Fragments flag.
/// - The reserved flag, TOS, identification, TTL, protocol and addresses
///   are copied. Each fragment's header checksum is computed afresh; the
///   input's is not verified (validate packets where they enter).
///
/// One scratch buffer of at most `mtu` bytes is allocated per call when the
/// packet has to be split.
pub fn fragment(
    packet: &[u8],
    mtu: usize,
    emit: &mut dyn FnMut(&[u8]),
) -> Result<usize, FragmentError> {
    if mtu < MIN_MTU {
        return Err(FragmentError::MtuTooSmall { mtu });
    }
    let ip = Ipv4Packet::new_checked(packet)?;
    let whole = ip.packet();
    if whole.len() <= mtu {
        emit(whole);
        return Ok(1);
    }
    if ip.dont_fragment() {
        return Err(FragmentError::DontFragment { mtu });
    }
    let header = ip.header().ok_or(WireError::BadHeaderLength)?;
    let payload = ip.payload();
    let flags = get_u16(header, FLAGS_FRAG);
    let base = flags & OFFSET_MASK;
    let original_mf = flags & FLAG_MF != 0;

    // The options that travel in every fragment.
    let mut copied = [0u8; MAX_OPTIONS];
    let copied_len = copied_options(header.get(MIN_HEADER_LEN..).unwrap_or(&[]), &mut copied)?;
    let copied = copied.get(..copied_len).unwrap_or(&[]);
    let rest_header_len = MIN_HEADER_LEN + copied_len;

    let plan = Plan {
        payload_len: payload.len(),
        first_room: room(mtu, header.len()),
        rest_room: room(mtu, rest_header_len),
    };
    // Check every offset before emitting anything.
    for piece in plan.pieces() {
        if offset_field(base, piece.start).is_none() {
            return Err(FragmentError::OffsetOverflow);
        }
    }

    let mut scratch = Vec::with_capacity(mtu.min(header.len() + payload.len()));
    let mut count = 0;
    for piece in plan.pieces() {
        let data = payload
            .get(piece.start..piece.start + piece.len)
            .unwrap_or(&[]);
        scratch.clear();
        if piece.start == 0 {
            scratch.extend_from_slice(header);
        } else {
            scratch.extend_from_slice(header.get(..MIN_HEADER_LEN).unwrap_or(&[]));
            scratch.extend_from_slice(copied);
            if let Some(vihl) = scratch.first_mut() {
                // rest_header_len <= 60, so the IHL fits its 4 bits.
                *vihl = 0x40 | (rest_header_len / 4) as u8;
            }
        }
        let header_len = scratch.len();
        scratch.extend_from_slice(data);
        let more = if piece.last { original_mf } else { true };
        let offset = offset_field(base, piece.start).ok_or(FragmentError::OffsetOverflow)?;
        let word = (flags & FLAG_RESERVED) | if more { FLAG_MF } else { 0 } | offset;
        // scratch.len() <= mtu and <= the original's total length.
        let total = u16::try_from(scratch.len()).map_err(|_| WireError::BadTotalLength)?;
        put_u16(&mut scratch, TOTAL_LEN, total);
        put_u16(&mut scratch, FLAGS_FRAG, word);
        put_u16(&mut scratch, CHECKSUM, 0);
        let c = checksum::checksum(scratch.get(..header_len).unwrap_or(&[]));
        put_u16(&mut scratch, CHECKSUM, c);
        emit(&scratch);
        count += 1;
    }
    Ok(count)
}

/// Payload bytes a fragment with a `header_len`-byte header can carry:
/// what fits in the MTU, rounded down to 8. At least 8 when
/// `mtu >= MIN_MTU`, since headers are at most 60 bytes.
fn room(mtu: usize, header_len: usize) -> usize {
    mtu.saturating_sub(header_len) & !7
}

/// The offset field of a piece `start` bytes into a packet whose own
/// offset field is `base`; `None` if it does not fit 13 bits.
fn offset_field(base: u16, start: usize) -> Option<u16> {
    let units = u16::try_from(start / 8).ok()?;
    let field = base.checked_add(units)?;
    (field <= OFFSET_MASK).then_some(field)
}

/// Copies the options with the copied flag from `options` into `out`,
/// padded with End-of-Options to a multiple of 4; returns the length.
fn copied_options(options: &[u8], out: &mut [u8; MAX_OPTIONS]) -> Result<usize, FragmentError> {
    let mut len = 0;
    let mut i = 0;
    while let Some(&kind) = options.get(i) {
        match kind {
            OPT_END => break,
            OPT_NOP => i += 1,
            _ => {
                let opt_len = usize::from(*options.get(i + 1).ok_or(FragmentError::BadOptions)?);
                let opt = options
                    .get(i..i + opt_len)
                    .filter(|_| opt_len >= 2)
                    .ok_or(FragmentError::BadOptions)?;
                if kind & OPT_COPIED != 0 {
                    // The copied options are a subset of <= 40 bytes.
                    out.get_mut(len..len + opt_len)
                        .ok_or(FragmentError::BadOptions)?
                        .copy_from_slice(opt);
                    len += opt_len;
                }
                i += opt_len;
            }
        }
    }
    let padded = len.next_multiple_of(4);
    if let Some(pad) = out.get_mut(len..padded) {
        pad.fill(OPT_END);
    }
    Ok(padded)
}

/// How a payload is cut: the first piece can hold `first_room` bytes,
/// later ones `rest_room` (both multiples of 8, at least 8).
struct Plan {
    payload_len: usize,
    first_room: usize,
    rest_room: usize,
}

/// One piece of the payload.
struct Piece {
    start: usize,
    len: usize,
    last: bool,
}

impl Plan {
    fn pieces(&self) -> impl Iterator<Item = Piece> + '_ {
        let mut start = 0;
        let mut done = false;
        core::iter::from_fn(move || {
            if done {
                return None;
            }
            let room = if start == 0 {
                self.first_room
            } else {
                self.rest_room
            }
            .max(8);
            let left = self.payload_len.saturating_sub(start);
            let len = left.min(room);
            let piece = Piece {
                start,
                len,
                last: len == left,
            };
            done = piece.last;
            start += len;
            Some(piece)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// An IPv4 packet with `options` and `payload_len` bytes counting up.
    fn packet(options: &[u8], payload_len: usize, flags: u16) -> Vec<u8> {
        let hl = 20 + options.len();
        let total = hl + payload_len;
        let mut p = vec![0u8; total];
        p[0] = 0x40 | (hl / 4) as u8;
        p[1] = 0xb8;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        p[6..8].copy_from_slice(&flags.to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        p[20..hl].copy_from_slice(options);
        for (i, b) in p[hl..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let c = checksum::checksum(&p[..hl]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    fn split(p: &[u8], mtu: usize) -> Result<Vec<Vec<u8>>, FragmentError> {
        let mut out = Vec::new();
        let n = fragment(p, mtu, &mut |f| out.push(f.to_vec()))?;
        assert_eq!(n, out.len());
        Ok(out)
    }

    fn fields(f: &[u8]) -> (usize, bool, u16) {
        let ip = Ipv4Packet::new_checked(f).unwrap();
        assert!(ip.verify_checksum());
        (f.len(), ip.more_fragments(), ip.frag_offset())
    }

    #[test]
    fn a_packet_that_fits_is_emitted_unchanged() {
        let p = packet(&[], 1480, 0x4000);
        assert_eq!(split(&p, 1500).unwrap(), vec![p.clone()]);
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(split(&padded, 1500).unwrap(), vec![p]);
    }

    #[test]
    fn splits_on_eight_byte_boundaries() {
        let p = packet(&[], 1000, 0);
        let frags = split(&p, 100).unwrap();
        // 80 payload bytes per fragment: 12 full ones and 40 bytes.
        assert_eq!(frags.len(), 13);
        for (i, f) in frags.iter().enumerate() {
            let (len, mf, off) = fields(f);
            assert_eq!(off as usize, i * 10);
            assert_eq!(mf, i < 12);
            assert_eq!(len, if i < 12 { 100 } else { 60 });
            assert_eq!(&f[20..], &p[20 + i * 80..len - 20 + 20 + i * 80]);
        }
    }

    #[test]
    fn refuses_with_dont_fragment_or_a_tiny_mtu() {
        let p = packet(&[], 1000, 0x4000);
        let mut emitted = 0;
        assert_eq!(
            fragment(&p, 576, &mut |_| emitted += 1),
            Err(FragmentError::DontFragment { mtu: 576 })
        );
        assert_eq!(
            fragment(&p, 67, &mut |_| emitted += 1),
            Err(FragmentError::MtuTooSmall { mtu: 67 })
        );
        assert_eq!(emitted, 0);
        assert_eq!(
            fragment(&p[..10], 576, &mut |_| ()),
            Err(FragmentError::Malformed(WireError::Ipv4Truncated))
        );
    }

    #[test]
    fn only_copied_options_go_into_later_fragments() {
        // Record Route (7, not copied), then Loose Source Route (131, copied), then NOP, EOL.
        let opts = [7, 7, 4, 0, 0, 0, 0, 131, 7, 4, 1, 2, 3, 4, 1, 0];
        let p = packet(&opts, 200, 0);
        let frags = split(&p, 100).unwrap();
        assert_eq!(&frags[0][..36][20..], &opts);
        assert_eq!(frags[0].len(), 36 + 64);
        for f in &frags[1..] {
            assert_eq!(f[0], 0x47);
            assert_eq!(&f[20..28], &[131, 7, 4, 1, 2, 3, 4, 0]);
        }
        let payload: Vec<u8> = frags
            .iter()
            .flat_map(|f| f[(f[0] & 0xf) as usize * 4..].to_vec())
            .collect();
        assert_eq!(payload, &p[36..]);
    }

    #[test]
    fn malformed_options_are_refused() {
        let p = packet(&[7, 1, 0, 0], 200, 0);
        assert_eq!(split(&p, 100), Err(FragmentError::BadOptions));
        let p = packet(&[131, 9, 0, 0], 200, 0);
        assert_eq!(split(&p, 100), Err(FragmentError::BadOptions));
    }

    #[test]
    fn refragmenting_a_fragment_keeps_its_place_and_flag() {
        // A middle fragment at offset 100 (800 bytes) with MF set.
        let p = packet(&[], 420, 0x2000 | 100);
        let frags = split(&p, 220).unwrap();
        let got: Vec<_> = frags.iter().map(|f| fields(f)).collect();
        assert_eq!(
            got,
            vec![(220, true, 100), (220, true, 125), (40, true, 150)]
        );
        // The last fragment of a datagram keeps MF clear on its last piece.
        let p = packet(&[], 400, 100);
        let frags = split(&p, 220).unwrap();
        assert!(!fields(frags.last().unwrap()).1);
        // Too far into the datagram: offsets do not fit.
        let p = packet(&[], 400, 0x1ff0);
        assert_eq!(split(&p, 220), Err(FragmentError::OffsetOverflow));
    }

    #[test]
    fn the_reserved_flag_is_kept() {
        let p = packet(&[], 200, 0x8000);
        for f in split(&p, 100).unwrap() {
            assert_eq!(f[6] & 0x80, 0x80);
        }
    }
}
