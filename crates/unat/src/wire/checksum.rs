//! Internet checksums: the full one's-complement sum of RFC 1071 and the
//! incremental update of RFC 1624.
//!
//! The incremental form used everywhere is RFC 1624 equation 3,
//! `HC' = ~(~HC + ~m + m')`, generalised to any number of changed 16-bit
//! words through [`Delta`]. Unlike the older RFC 1141 form it never turns a
//! checksum that a full recomputation gives as `0x0000` into `0xFFFF`.

use core::net::Ipv4Addr;

/// Adds `data` to a running one's-complement sum, as big-endian 16-bit
/// words; an odd trailing byte is padded with a zero byte (RFC 1071).
pub fn sum(data: &[u8], mut acc: u32) -> u32 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        if let [hi, lo] = *w {
            acc += u32::from(u16::from_be_bytes([hi, lo]));
        }
        // Fold early so that even a 64 KiB packet cannot overflow.
        acc = (acc & 0xffff) + (acc >> 16);
    }
    if let [last] = *words.remainder() {
        acc += u32::from(u16::from_be_bytes([last, 0]));
    }
    acc
}

/// Folds a 32-bit running sum into 16 bits with end-around carry.
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves acc <= 0xffff.
    acc as u16
}

/// The Internet checksum of `data`: the complement of its one's-complement sum.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data, 0))
}

/// The sum of the TCP/UDP pseudo-header (RFC 793, RFC 768).
pub fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    let mut acc = sum(&src.octets(), 0);
    acc = sum(&dst.octets(), acc);
    acc + u32::from(protocol) + u32::from(length)
}

/// Whether `data`, checksum field included, sums to `0xFFFF` (RFC 1071
/// verification; it accepts both representations of zero, RFC 1624 §5).
pub fn verify(data: &[u8], initial: u32) -> bool {
    fold(sum(data, initial)) == 0xffff
}

/// The accumulated effect of changing some 16-bit words of a checksummed
/// region, to be applied to one or more checksums covering them.
///
/// ```
/// use unat::wire::checksum::Delta;
/// // RFC 1624 §4: HC = 0xDD2F, m = 0x5555 becomes m' = 0x3285.
/// let mut d = Delta::default();
/// d.word(0x5555, 0x3285);
/// assert_eq!(d.apply(0xDD2F), 0x0000);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delta(u32);

impl Delta {
    /// Records that a 16-bit word changed from `old` to `new`.
    pub fn word(&mut self, old: u16, new: u16) {
        self.0 = u32::from(fold(self.0 + u32::from(!old) + u32::from(new)));
    }

    /// Records that a 32-bit field (two words) changed from `old` to `new`.
    pub fn addr(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        let (o, n) = (old.octets(), new.octets());
        let [o0, o1, o2, o3] = o;
        let [n0, n1, n2, n3] = n;
        self.word(u16::from_be_bytes([o0, o1]), u16::from_be_bytes([n0, n1]));
        self.word(u16::from_be_bytes([o2, o3]), u16::from_be_bytes([n2, n3]));
    }

    /// Merges another delta into this one.
    pub fn merge(&mut self, other: Delta) {
        self.0 = u32::from(fold(self.0 + other.0));
    }

    /// Whether nothing changed (or the changes cancel out).
    pub fn is_empty(&self) -> bool {
        self.0 == 0 || self.0 == 0xffff
    }

    /// The checksum `hc` updated for the recorded changes (RFC 1624 eqn. 3).
    pub fn apply(&self, hc: u16) -> u16 {
        !fold(u32::from(!hc) + self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1624_vector_eqn3_gives_zero_not_ffff() {
        let mut d = Delta::default();
        d.word(0x5555, 0x3285);
        assert_eq!(d.apply(0xdd2f), 0x0000);
        // RFC 1624 eqn. 2 (the RFC 1141 form, HC + m + ~m') gives -0 here.
        let eqn2 = fold(0xdd2f + 0x5555 + u32::from(!0x3285u16));
        assert_eq!(eqn2, 0xffff);
    }

    #[test]
    fn rfc1624_eqn4_agrees() {
        // HC' = HC - ~m - m' with end-around borrow, computed as
        // HC + ~(~m) + ~m' in one's-complement arithmetic.
        let hc: u32 = 0xdd2f;
        let eqn4 = fold(hc + 0x5555 + u32::from(!0x3285u16));
        // Equation 4 yields -0 as well in one's complement; both are zero.
        assert!(eqn4 == 0xffff || eqn4 == 0);
    }

    #[test]
    fn verify_accepts_both_zeros() {
        // Words summing to 0xffff with a checksum of 0x0000 or 0xffff.
        assert!(verify(&[0xff, 0x00, 0x00, 0xff, 0x00, 0x00], 0));
        assert!(verify(&[0xff, 0x00, 0x00, 0xff, 0xff, 0xff], 0));
    }

    #[test]
    fn odd_length_is_padded() {
        assert_eq!(sum(&[0x12, 0x34, 0x56], 0), 0x1234 + 0x5600);
    }

    #[test]
    fn incremental_equals_full_on_a_header() {
        let mut hdr = [
            0x45u8, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 192, 168, 1, 5, 8, 8, 8, 8,
        ];
        let c = checksum(&hdr);
        hdr[10..12].copy_from_slice(&c.to_be_bytes());
        let mut d = Delta::default();
        d.addr(Ipv4Addr::new(192, 168, 1, 5), Ipv4Addr::new(82, 1, 1, 8));
        d.word(u16::from_be_bytes([64, 1]), u16::from_be_bytes([63, 1]));
        let inc = d.apply(c);
        hdr[12..16].copy_from_slice(&[82, 1, 1, 8]);
        hdr[8] = 63;
        hdr[10..12].copy_from_slice(&[0, 0]);
        assert_eq!(inc, checksum(&hdr));
    }
}
