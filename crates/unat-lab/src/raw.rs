//! Raw Ethernet frames: builders for the malformed and unexpected frames the
//! checks throw at the router, and sending a frame from inside a namespace
//! with an `AF_PACKET` socket.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;

use crate::error::LabError;

/// An Ethernet MAC address.
pub type Mac = [u8; 6];

/// The Ethernet broadcast address.
pub const BROADCAST: Mac = [0xff; 6];

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// The Internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        if let [a, b] = c {
            sum = sum.wrapping_add(u32::from(u16::from_be_bytes([*a, *b])));
        }
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([*last, 0])));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet header.
fn ethernet(dst: Mac, src: Mac, ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// A 20-byte IPv4 header (no options) with a valid checksum.
pub fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ttl: u8,
    payload_len: usize,
) -> [u8; 20] {
    let total = u16::try_from(20 + payload_len).unwrap_or(u16::MAX);
    let mut h = [0u8; 20];
    let fields: [(usize, &[u8]); 6] = [
        (0, &[0x45, 0]), // version 4, IHL 5; DSCP/ECN 0
        (2, &total.to_be_bytes()),
        (4, &[0x12, 0x34, 0x40, 0]), // identification; flags DF, offset 0
        (8, &[ttl, protocol]),       // then the checksum at 10..12, set below
        (12, &src.octets()),
        (16, &dst.octets()),
    ];
    for (at, bytes) in fields {
        if let Some(slot) = h.get_mut(at..at + bytes.len()) {
            slot.copy_from_slice(bytes);
        }
    }
    let sum = checksum(&h).to_be_bytes();
    if let Some(slot) = h.get_mut(10..12) {
        slot.copy_from_slice(&sum);
    }
    h
}

/// An Ethernet frame of 60 bytes addressed to `dst` from `src` whose other
/// 48 bytes (EtherType included) are pseudo-random from `seed`. The
/// EtherType is never IPv4 or ARP, so the frame is always something the
/// router must drop as unsupported rather than try to parse as a packet.
pub fn random_frame(dst: Mac, src: Mac, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut next = || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    while f.len() < 60 {
        f.extend_from_slice(&next().to_le_bytes());
    }
    f.truncate(60);
    let ethertype = u16::from_be_bytes([
        f.get(12).copied().unwrap_or(0),
        f.get(13).copied().unwrap_or(0),
    ]);
    if ethertype == ETHERTYPE_IPV4 || ethertype == ETHERTYPE_ARP {
        if let Some(b) = f.get_mut(12) {
            *b ^= 0x80;
        }
    }
    f
}

/// An Ethernet frame with EtherType IPv4 that carries only the first 12
/// bytes of an IPv4 header (26 bytes in all, not padded): it ends before
/// the addresses.
pub fn truncated_ipv4_frame(dst: Mac, src: Mac) -> Vec<u8> {
    let mut f = ethernet(dst, src, ETHERTYPE_IPV4);
    let header = ipv4_header(
        Ipv4Addr::new(198, 18, 1, 2),
        Ipv4Addr::new(198, 18, 0, 2),
        17,
        64,
        8,
    );
    f.extend_from_slice(header.get(..12).unwrap_or(&header));
    f
}

/// An ICMP Destination Unreachable (port unreachable) from `icmp_src` to
/// `icmp_dst`, quoting a UDP packet `quoted_src:quoted_sport →
/// quoted_dst:quoted_dport`, in an Ethernet frame. All checksums are valid.
pub fn icmp_port_unreachable_frame(
    dst: Mac,
    src: Mac,
    icmp_src: Ipv4Addr,
    icmp_dst: Ipv4Addr,
    (quoted_src, quoted_sport): (Ipv4Addr, u16),
    (quoted_dst, quoted_dport): (Ipv4Addr, u16),
) -> Vec<u8> {
    // The quoted datagram: IPv4 header + 8-byte UDP header + 4 bytes data.
    let udp_payload = *b"unat";
    let udp_len = 8 + udp_payload.len();
    let quoted_ip = ipv4_header(quoted_src, quoted_dst, 17, 64, udp_len);
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&quoted_sport.to_be_bytes());
    udp.extend_from_slice(&quoted_dport.to_be_bytes());
    udp.extend_from_slice(&u16::try_from(udp_len).unwrap_or(0).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&udp_payload);
    let mut pseudo = Vec::with_capacity(12 + udp.len());
    pseudo.extend_from_slice(&quoted_src.octets());
    pseudo.extend_from_slice(&quoted_dst.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&u16::try_from(udp_len).unwrap_or(0).to_be_bytes());
    pseudo.extend_from_slice(&udp);
    let udp_sum = match checksum(&pseudo) {
        0 => 0xffff,
        s => s,
    };
    if let Some(slot) = udp.get_mut(6..8) {
        slot.copy_from_slice(&udp_sum.to_be_bytes());
    }

    // ICMP: type 3, code 3, checksum, 4 unused bytes, then the quote.
    let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&quoted_ip);
    icmp.extend_from_slice(&udp);
    let icmp_sum = checksum(&icmp).to_be_bytes();
    if let Some(slot) = icmp.get_mut(2..4) {
        slot.copy_from_slice(&icmp_sum);
    }

    let mut f = ethernet(dst, src, ETHERTYPE_IPV4);
    f.extend_from_slice(&ipv4_header(icmp_src, icmp_dst, 1, 64, icmp.len()));
    f.extend_from_slice(&icmp);
    f
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(text: &str) -> Option<Mac> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Sends one complete Ethernet `frame` out of interface `ifname` in network
/// namespace `netns` (a name under `/var/run/netns`).
///
/// Runs on a short-lived helper thread that enters the namespace with
/// `setns(CLONE_NEWNET)`, so the calling thread's namespace is untouched.
pub fn send_frame(netns: &str, ifname: &str, frame: &[u8]) -> Result<(), LabError> {
    let path = format!("/var/run/netns/{netns}");
    let ifname = std::ffi::CString::new(ifname)
        .map_err(|_| LabError::io("interface name", std::io::ErrorKind::InvalidInput.into()))?;
    let frame = frame.to_vec();
    let handle = std::thread::spawn(move || -> Result<(), LabError> {
        let ns = File::open(&path).map_err(|e| LabError::io(format!("opening {path}"), e))?;
        // SAFETY: setns(2) on an fd we own that stays open for the call;
        // CLONE_NEWNET only changes this helper thread's network namespace.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(LabError::io(
                format!("setns into {path}"),
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: if_nametoindex reads a valid NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(ifname.as_ptr()) };
        if index == 0 {
            return Err(LabError::io(
                format!("interface {ifname:?} in {path}"),
                std::io::Error::last_os_error(),
            ));
        }
        // Protocol 0: this socket only sends, it never receives.
        // SAFETY: plain socket(2) call; the result is checked below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(LabError::io(
                "AF_PACKET socket",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: fd is a freshly created socket that nothing else owns.
        let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as libc::c_ushort;
        addr.sll_ifindex = i32::try_from(index).unwrap_or(0);
        addr.sll_halen = 6;
        if let Some(dst) = frame.get(..6) {
            if let Some(slot) = addr.sll_addr.get_mut(..6) {
                slot.copy_from_slice(dst);
            }
        }
        // SAFETY: the buffer pointer/length come from a live Vec, and the
        // address pointer/length describe the sockaddr_ll above.
        let sent = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                std::ptr::addr_of!(addr).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(LabError::io(
                "sendto on AF_PACKET socket",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    });
    handle.join().unwrap_or_else(|_| {
        Err(LabError::io(
            "raw-frame thread panicked",
            std::io::ErrorKind::Other.into(),
        ))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    const A: Mac = [2, 0, 0, 0, 0, 1];
    const B: Mac = [2, 0, 0, 0, 0, 2];

    #[test]
    fn checksum_of_known_header() {
        // RFC 1071 example-like check: a header with its checksum sums to 0.
        let h = ipv4_header(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            6,
            64,
            0,
        );
        assert_eq!(checksum(&h), 0);
    }

    #[test]
    fn icmp_frame_parses_with_valid_checksums() {
        let f = icmp_port_unreachable_frame(
            A,
            B,
            Ipv4Addr::new(198, 18, 1, 2),
            Ipv4Addr::new(198, 18, 0, 2),
            (Ipv4Addr::new(198, 18, 0, 2), 40000),
            (Ipv4Addr::new(198, 18, 1, 2), 9),
        );
        let p = SlicedPacket::from_ethernet(&f).expect("parses");
        let Some(NetSlice::Ipv4(ip)) = p.net else {
            panic!("not ipv4")
        };
        assert_eq!(checksum(ip.header().slice()), 0);
        assert_eq!(ip.header().destination_addr(), Ipv4Addr::new(198, 18, 0, 2));
        let Some(TransportSlice::Icmpv4(icmp)) = p.transport else {
            panic!("not icmp")
        };
        assert_eq!(icmp.type_u8(), 3);
        assert_eq!(icmp.code_u8(), 3);
        assert_eq!(
            icmp.icmp_type().calc_checksum(icmp.payload()),
            icmp.checksum()
        );
        // The quote is a complete UDP datagram with a valid checksum.
        let quoted = etherparse::SlicedPacket::from_ip(icmp.payload()).expect("quote parses");
        let Some(NetSlice::Ipv4(qip)) = quoted.net else {
            panic!("quote not ipv4")
        };
        let Some(TransportSlice::Udp(udp)) = quoted.transport else {
            panic!("quote not udp")
        };
        assert_eq!(udp.source_port(), 40000);
        assert_eq!(udp.destination_port(), 9);
        let header = udp.to_header();
        let sum = header
            .calc_checksum_ipv4(&qip.header().to_header(), udp.payload())
            .expect("checksum");
        assert_eq!(sum, udp.checksum());
    }

    #[test]
    fn truncated_and_random_frames() {
        let t = truncated_ipv4_frame(A, B);
        assert_eq!(t.len(), 26);
        assert_eq!(t.get(12..14), Some(&[0x08, 0x00][..]));
        assert!(SlicedPacket::from_ethernet(&t).is_err());
        for seed in 0..1000 {
            let r = random_frame(A, B, seed);
            assert_eq!(r.len(), 60);
            assert_eq!(r.get(..6), Some(&A[..]));
            let et = r.get(12..14).map(|s| u16::from_be_bytes([s[0], s[1]]));
            assert_ne!(et, Some(ETHERTYPE_IPV4));
            assert_ne!(et, Some(ETHERTYPE_ARP));
        }
    }

    #[test]
    fn parses_macs() {
        assert_eq!(parse_mac("02:00:00:00:00:01"), Some(A));
        assert_eq!(parse_mac("02:00:00:00:00"), None);
        assert_eq!(parse_mac("02:00:00:00:00:01:02"), None);
    }
}
