//! A [`Device`] on an existing interface (a veth end, a NIC) through an
//! `AF_PACKET` raw socket, and the ethtool offload check the router prints
//! at start-up.
//!
//! The router uses the interface's own MAC. Frames the host itself sends out
//! on the interface are never returned by [`Device::recv`]: the socket asks
//! the kernel not to deliver them (`PACKET_IGNORE_OUTGOING`, Linux 4.20+) and
//! `recv` also drops any frame marked `PACKET_OUTGOING`.

use std::ffi::CString;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use super::sys::{
    check_ifname, control_socket, ifreq_for, ifreq_ioctl, ioctl_request, query_hwaddr, query_mtu,
    send_whole,
};
use super::{Device, DeviceError, MacAddr};

/// `ETH_P_ALL` in network byte order, as `sockaddr_ll.sll_protocol` wants it.
// ETH_P_ALL is 0x0003, so the narrowing cast is lossless.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

/// An interface reached through a bound `AF_PACKET`/`SOCK_RAW` socket.
///
/// Some errors from [`Device::recv`] and [`Device::send`] are transient: the
/// kernel reports `ENETDOWN` once when the interface goes down, and `send`
/// fails with `ENOBUFS` when the transmit queue is full. `send` fails with
/// `EMSGSIZE` for a frame longer than the MTU plus the Ethernet header.
#[derive(Debug)]
pub struct PacketDevice {
    fd: OwnedFd,
    name: String,
    ifindex: libc::c_int,
    mac: MacAddr,
    mtu: usize,
}

impl PacketDevice {
    /// Opens the existing interface `ifname` (in the caller's network
    /// namespace): binds a non-blocking raw socket to it and reads its MAC and
    /// MTU. Needs `CAP_NET_RAW`.
    ///
    /// The interface should be up; it is not brought up here.
    pub fn open(ifname: &str) -> Result<PacketDevice, DeviceError> {
        check_ifname(ifname)?;
        let cname = CString::new(ifname).map_err(|_| DeviceError::InvalidName {
            ifname: ifname.to_owned(),
            reason: "it contains a NUL byte",
        })?;
        // SAFETY: `cname` is a valid NUL-terminated string that outlives the call.
        let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if index == 0 {
            return Err(DeviceError::NoSuchInterface {
                ifname: ifname.to_owned(),
            });
        }
        let ifindex = libc::c_int::try_from(index).map_err(|_| DeviceError::NoSuchInterface {
            ifname: ifname.to_owned(),
        })?;

        // The socket is created with protocol 0, so it receives nothing until
        // `bind` below sets ETH_P_ALL together with the interface; created
        // with ETH_P_ALL it would queue frames from every interface in between.
        // SAFETY: plain system call with constant arguments.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(DeviceError::os(
                ifname,
                "opening an AF_PACKET socket",
                "check that the kernel supports AF_PACKET (CONFIG_PACKET)",
                io::Error::last_os_error(),
            ));
        }
        // SAFETY: `raw` is a freshly created descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let addr = libc::sockaddr_ll {
            // AF_PACKET is 17: lossless.
            sll_family: libc::AF_PACKET as libc::c_ushort,
            sll_protocol: ETH_P_ALL_BE,
            sll_ifindex: ifindex,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // SAFETY: `addr` is a valid sockaddr_ll and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                ptr::from_ref(&addr).cast::<libc::sockaddr>(),
                socklen_of::<libc::sockaddr_ll>(),
            )
        };
        if rc < 0 {
            return Err(DeviceError::os(
                ifname,
                "binding the AF_PACKET socket",
                "check that the interface still exists (`ip link`)",
                io::Error::last_os_error(),
            ));
        }

        let one: libc::c_int = 1;
        // SAFETY: `one` is a c_int that outlives the call and its size is passed.
        // The result is ignored on purpose: kernels before 4.20 do not know the
        // option, and `recv` filters outgoing frames anyway.
        let _ = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_IGNORE_OUTGOING,
                ptr::from_ref(&one).cast::<libc::c_void>(),
                socklen_of::<libc::c_int>(),
            )
        };

        let ctl = control_socket(ifname)?;
        let mac = query_hwaddr(ctl.as_fd(), ifname)?;
        let mtu = query_mtu(ctl.as_fd(), ifname)?;
        Ok(PacketDevice {
            fd,
            name: ifname.to_owned(),
            ifindex,
            mac,
            mtu,
        })
    }

    /// The kernel's index of the interface.
    pub fn ifindex(&self) -> u32 {
        self.ifindex.unsigned_abs()
    }
}

impl Device for PacketDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn mac(&self) -> MacAddr {
        self.mac
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            let mut from = zeroed_sockaddr_ll();
            let mut from_len = socklen_of::<libc::sockaddr_ll>();
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `from` is
            // a sockaddr_ll and `from_len` holds its size. With MSG_TRUNC the
            // kernel still writes at most `buf.len()` bytes.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                    ptr::from_mut(&mut from).cast::<libc::sockaddr>(),
                    &mut from_len,
                )
            };
            let Ok(len) = usize::try_from(n) else {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::WouldBlock => return Ok(None),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(err),
                }
            };
            if from.sll_pkttype == libc::PACKET_OUTGOING || from.sll_ifindex != self.ifindex {
                continue;
            }
            return Ok(Some(len));
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        send_whole(&self.name, frame.len(), || {
            // SAFETY: `frame` is valid for reads of `frame.len()` bytes; the
            // socket is bound, so no destination address is needed.
            unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast::<libc::c_void>(),
                    frame.len(),
                    libc::MSG_DONTWAIT,
                )
            }
        })
    }

    fn poll_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }
}

/// The legacy ethtool "get" commands checked by [`offload_warnings`], with
/// the feature name `ethtool -k` prints and what goes wrong when it is on.
const OFFLOADS: [(u32, &str, &str); 4] = [
    (
        0x16, // ETHTOOL_GTXCSUM
        "tx-checksumming",
        "frames may carry partial checksums",
    ),
    (
        0x1e, // ETHTOOL_GTSO
        "tcp-segmentation-offload",
        "the host may send TCP frames larger than the MTU",
    ),
    (
        0x23, // ETHTOOL_GGSO
        "generic-segmentation-offload",
        "the host may send frames larger than the MTU",
    ),
    (
        0x2b, // ETHTOOL_GGRO
        "generic-receive-offload",
        "received frames may be merged into frames larger than the MTU",
    ),
];

/// `struct ethtool_value` from `<linux/ethtool.h>`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// Checks the offloads of `ifname` that break a user-space router reading
/// raw frames (checksum offload, TSO, GSO, GRO) and returns one
/// human-readable warning for each that is on, saying how to turn it off.
///
/// A query the kernel rejects (unknown interface, driver without the
/// operation) is skipped, so the result is empty when nothing can be known.
pub fn offload_warnings(ifname: &str) -> Vec<String> {
    let Ok(mut ifr) = ifreq_for(ifname) else {
        return Vec::new();
    };
    let Ok(ctl) = control_socket(ifname) else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    for (cmd, feature, consequence) in OFFLOADS {
        let mut value = EthtoolValue { cmd, data: 0 };
        ifr.ifr_ifru.ifru_data = ptr::from_mut(&mut value).cast::<libc::c_char>();
        if ifreq_ioctl(ctl.as_fd(), ioctl_request(libc::SIOCETHTOOL), &mut ifr).is_ok()
            && value.data != 0
        {
            warnings.push(format!(
                "{feature} is on on {ifname}: {consequence}; run \
                 `ethtool -K {ifname} tx off tso off gso off gro off`"
            ));
        }
    }
    warnings
}

/// An all-zero `sockaddr_ll`.
fn zeroed_sockaddr_ll() -> libc::sockaddr_ll {
    libc::sockaddr_ll {
        sll_family: 0,
        sll_protocol: 0,
        sll_ifindex: 0,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    }
}

/// `size_of::<T>()` as a `socklen_t` (all socket structures are far below
/// 4 GiB).
fn socklen_of<T>() -> libc::socklen_t {
    libc::socklen_t::try_from(mem::size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::device::sys::ifname_of;
    use crate::device::test_support::{is_arp_request_for, kernel_udp, wait_for, NetNs};
    use std::time::Duration;

    const MAC_A: MacAddr = [0x02, 0, 0, 0, 0x0a, 0x01];
    const MAC_B: MacAddr = [0x02, 0, 0, 0, 0x0b, 0x01];
    /// IEEE "local experimental" EtherType, so no stack reacts to our frames.
    const ETHERTYPE: [u8; 2] = [0x88, 0xb5];

    fn test_frame(dst: MacAddr, src: MacAddr, marker: u8, len: usize) -> Vec<u8> {
        let mut f = Vec::with_capacity(len);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&src);
        f.extend_from_slice(&ETHERTYPE);
        f.resize(len, marker);
        f
    }

    fn is_marked(frame: &[u8], marker: u8) -> bool {
        frame.len() > 14 && frame[12..14] == ETHERTYPE && frame[14] == marker
    }

    fn mac_str(mac: MacAddr) -> String {
        mac.map(|b| format!("{b:02x}")).join(":")
    }

    /// A namespace holding the veth pair va (10.9.0.1/24) <-> vb, both up.
    fn veth_ns(test: &str) -> Option<NetNs> {
        let ns = NetNs::create(test)?;
        ns.ip(&[
            "link",
            "add",
            "va",
            "address",
            &mac_str(MAC_A),
            "type",
            "veth",
            "peer",
            "name",
            "vb",
            "address",
            &mac_str(MAC_B),
        ]);
        ns.ip(&["link", "set", "va", "up"]);
        ns.ip(&["link", "set", "vb", "up"]);
        ns.ip(&["addr", "add", "10.9.0.1/24", "dev", "va"]);
        Some(ns)
    }

    #[test]
    fn missing_interface_is_named() {
        let err = PacketDevice::open("unatnope0").unwrap_err();
        assert!(
            matches!(err, DeviceError::NoSuchInterface { .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("no network interface named unatnope0"),
            "{text}"
        );
    }

    #[test]
    fn bad_names_are_rejected() {
        for name in ["", "sixteen-bytes-xx", "a\0b"] {
            let err = PacketDevice::open(name).unwrap_err();
            assert!(
                matches!(err, DeviceError::InvalidName { .. }),
                "{name:?}: {err:?}"
            );
        }
        assert!(offload_warnings("").is_empty());
        assert!(offload_warnings("unatnope0").is_empty());
    }

    #[test]
    fn ifreq_name_round_trips() {
        let ifr = ifreq_for("veth-x.1").unwrap();
        assert_eq!(ifname_of(&ifr), "veth-x.1");
        let ifr = ifreq_for("fifteen-bytes-x").unwrap();
        assert_eq!(ifname_of(&ifr), "fifteen-bytes-x");
    }

    #[test]
    fn veth_frames_cross_and_are_not_echoed() {
        let Some(ns) = veth_ns("veth_frames_cross_and_are_not_echoed") else {
            return;
        };
        ns.run(|| {
            let mut a = PacketDevice::open("va").unwrap();
            let mut b = PacketDevice::open("vb").unwrap();
            assert_eq!(a.name(), "va");
            assert_eq!(a.mac(), MAC_A);
            assert_eq!(b.mac(), MAC_B);
            assert_eq!(a.mtu(), 1500);
            assert_eq!(b.mtu(), 1500);
            assert!(a.poll_fd().is_some());
            assert_ne!(a.ifindex(), b.ifindex());

            // a -> b.
            let frame = test_frame(MAC_B, MAC_A, 1, 100);
            a.send(&frame).unwrap();
            let (got, len) = wait_for(&mut b, 2048, Duration::from_secs(3), |f, _| is_marked(f, 1))
                .expect("frame sent on va did not arrive on vb");
            assert_eq!(len, frame.len());
            assert_eq!(got, frame);

            // b -> a, received into a short buffer: truncated, real length.
            let frame = test_frame(MAC_A, MAC_B, 2, 300);
            b.send(&frame).unwrap();
            let (got, len) = wait_for(&mut a, 64, Duration::from_secs(3), |f, _| is_marked(f, 2))
                .expect("frame sent on vb did not arrive on va");
            assert_eq!(len, 300);
            assert_eq!(got, frame[..64]);

            // Neither end sees the frame it sent itself.
            assert!(
                wait_for(&mut a, 2048, Duration::from_millis(200), |f, _| is_marked(
                    f, 1
                ))
                .is_none(),
                "va received its own frame"
            );
            assert!(
                wait_for(&mut b, 2048, Duration::from_millis(200), |f, _| is_marked(
                    f, 2
                ))
                .is_none(),
                "vb received its own frame"
            );

            // Frames the kernel sends out on va (an ARP request for 10.9.0.2)
            // show up on vb but not on va.
            kernel_udp("10.9.0.2:9", b"x");
            wait_for(&mut b, 2048, Duration::from_secs(3), |f, _| {
                is_arp_request_for(f, [10, 9, 0, 2]) && f[6..12] == MAC_A
            })
            .expect("the kernel's ARP request did not reach vb");
            assert!(
                wait_for(&mut a, 2048, Duration::from_millis(300), |f, _| {
                    is_arp_request_for(f, [10, 9, 0, 2])
                })
                .is_none(),
                "va returned a frame the host sent out on it"
            );

            // Oversized frames are refused, not truncated.
            assert!(a.send(&test_frame(MAC_B, MAC_A, 3, 4000)).is_err());
        });
    }

    #[test]
    fn offload_warnings_follow_ethtool() {
        let Some(ns) = veth_ns("offload_warnings_follow_ethtool") else {
            return;
        };
        ns.exec(&["ethtool", "-K", "va", "tx", "on", "tso", "on", "gso", "on"]);
        let warnings = ns.run(|| offload_warnings("va"));
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("tx-checksumming is on on va:")
                    && w.contains("`ethtool -K va tx off tso off gso off gro off`")),
            "{warnings:?}"
        );
        assert!(warnings.len() >= 3, "{warnings:?}");

        ns.exec(&[
            "ethtool", "-K", "va", "tx", "off", "tso", "off", "gso", "off", "gro", "off",
        ]);
        let warnings = ns.run(|| offload_warnings("va"));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(ns.run(|| offload_warnings("unatnope0")).is_empty());
        assert!(!ns.name().is_empty());
    }

    #[test]
    fn non_ethernet_interface_is_refused() {
        let Some(ns) = NetNs::create("non_ethernet_interface_is_refused") else {
            return;
        };
        ns.ip(&["link", "set", "lo", "up"]);
        let err = ns.run(|| PacketDevice::open("lo")).unwrap_err();
        assert!(matches!(err, DeviceError::NotEthernet { .. }), "{err:?}");
        assert!(err.to_string().contains("lo is not an Ethernet"), "{err}");
    }
}
