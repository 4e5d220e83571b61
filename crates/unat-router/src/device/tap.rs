//! A [`Device`] on a TAP interface that the router creates itself.
//!
//! The kernel side of the TAP (the netdev that `ip link` shows) behaves like
//! another host on the link, so the router uses a MAC of its own: a random,
//! locally administered unicast address, distinct from the netdev's MAC.
//! The interface is not persistent: it disappears when the [`TapDevice`] is
//! dropped. Once created, the device only uses its file descriptor, so the
//! netdev may be renamed or moved to another network namespace (where it
//! starts down and must be brought up again) without disturbing it.
//!
//! VLAN tags need no special handling here, unlike on an `AF_PACKET` socket
//! (see [`af_packet`](super::af_packet)): when the kernel hands the TAP a
//! frame whose 802.1Q/802.1ad tag it holds out of band (stripped on receive
//! elsewhere, or left for "hardware" insertion, which TAP advertises as
//! `tx-vlan-offload`), the tun driver writes the tag back into the frame it
//! gives the reader (`tun_put_user`); with that offload off the kernel
//! inserts it before. So [`Device::recv`] returns tagged frames with the tag
//! inline, as the trait requires; the `tagged_frames_reach_the_tap_tagged`
//! test checks this through a bridge.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use super::sys::{
    control_socket, ifname_of, ifreq_for, ifreq_ioctl, ioctl_request, query_hwaddr, query_mtu,
    send_whole,
};
use super::{Device, DeviceError, MacAddr};

/// The TUN/TAP clone device.
const TUN_PATH: &str = "/dev/net/tun";

/// Room for the part of a frame that does not fit the caller's buffer, so
/// `recv` can report a truncated frame's real length: a TAP frame is at most
/// the largest MTU (65535) plus an Ethernet header and a VLAN tag.
const SCRATCH_LEN: usize = 65_535 + 18;

/// A TAP interface created by the router, carrying Ethernet frames without
/// the packet-information header (`IFF_TAP | IFF_NO_PI`).
#[derive(Debug)]
pub struct TapDevice {
    fd: OwnedFd,
    name: String,
    mac: MacAddr,
    mtu: usize,
    scratch: Box<[u8]>,
}

impl TapDevice {
    /// Creates the TAP interface `name` (or attaches to an existing,
    /// unattached persistent TAP of that name), makes its descriptor
    /// non-blocking, brings the interface up and reads its MTU. Needs
    /// `CAP_NET_ADMIN`.
    ///
    /// `name` may contain `%d` to let the kernel pick a free number;
    /// [`Device::name`] then returns the name the kernel chose.
    pub fn create(name: &str) -> Result<TapDevice, DeviceError> {
        let mut ifr = ifreq_for(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(TUN_PATH)
            .map_err(|e| {
                DeviceError::os(
                    name,
                    "opening /dev/net/tun",
                    "load the tun module (`modprobe tun`) and check that /dev/net/tun exists",
                    e,
                )
            })?;
        let fd = OwnedFd::from(file);

        // IFF_TAP | IFF_NO_PI is 0x1002: fits a c_short.
        #[allow(clippy::cast_possible_truncation)]
        let flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        ifr.ifr_ifru.ifru_flags = flags;
        ifreq_ioctl(fd.as_fd(), libc::TUNSETIFF, &mut ifr).map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EBUSY) => {
                    "a TAP interface of that name is already attached to another process; \
                     pick another name or stop that process"
                }
                Some(libc::EINVAL) => {
                    "an interface of that name probably exists and is not a TAP device; \
                     pick another name or delete it (`ip link del NAME`)"
                }
                _ => "check that the kernel supports TUN/TAP (CONFIG_TUN)",
            };
            DeviceError::os(name, "creating the TAP interface", hint, e)
        })?;
        let name = ifname_of(&ifr);

        let ctl = control_socket(&name)?;
        let mut ifr = ifreq_for(&name)?;
        ifreq_ioctl(ctl.as_fd(), ioctl_request(libc::SIOCGIFFLAGS), &mut ifr).map_err(|e| {
            DeviceError::os(
                &name,
                "reading the interface flags",
                "check that the interface still exists (`ip link`)",
                e,
            )
        })?;
        // SAFETY: SIOCGIFFLAGS succeeded, so the kernel stored the flags in
        // this union member (and the struct was zeroed before).
        let current = unsafe { ifr.ifr_ifru.ifru_flags };
        // IFF_UP is 1: fits a c_short.
        #[allow(clippy::cast_possible_truncation)]
        let up = libc::IFF_UP as libc::c_short;
        ifr.ifr_ifru.ifru_flags = current | up;
        ifreq_ioctl(ctl.as_fd(), ioctl_request(libc::SIOCSIFFLAGS), &mut ifr).map_err(|e| {
            DeviceError::os(
                &name,
                "bringing the TAP interface up",
                "check the kernel log (`dmesg`) for why the interface cannot go up",
                e,
            )
        })?;

        let mtu = query_mtu(ctl.as_fd(), &name)?;
        let kernel_mac = query_hwaddr(ctl.as_fd(), &name)?;
        let mut mac = random_local_mac(&name)?;
        while mac == kernel_mac {
            mac = random_local_mac(&name)?;
        }

        Ok(TapDevice {
            fd,
            name,
            mac,
            mtu,
            scratch: vec![0; SCRATCH_LEN].into_boxed_slice(),
        })
    }
}

impl Device for TapDevice {
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
        // One read returns one frame. The scratch buffer catches the part
        // that does not fit `buf`, so the byte count is the real length.
        let iov = [
            libc::iovec {
                iov_base: buf.as_mut_ptr().cast::<libc::c_void>(),
                iov_len: buf.len(),
            },
            libc::iovec {
                iov_base: self.scratch.as_mut_ptr().cast::<libc::c_void>(),
                iov_len: self.scratch.len(),
            },
        ];
        loop {
            // SAFETY: both iovecs describe live, exclusively borrowed buffers
            // of the given lengths, and `iov` holds exactly 2 entries.
            let n = unsafe { libc::readv(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
            match usize::try_from(n) {
                Ok(len) => return Ok(Some(len)),
                Err(_) => {
                    let err = io::Error::last_os_error();
                    match err.kind() {
                        io::ErrorKind::WouldBlock => return Ok(None),
                        io::ErrorKind::Interrupted => continue,
                        _ => return Err(err),
                    }
                }
            }
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        send_whole(&self.name, frame.len(), || {
            // SAFETY: `frame` is valid for reads of `frame.len()` bytes.
            unsafe {
                libc::write(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast::<libc::c_void>(),
                    frame.len(),
                )
            }
        })
    }

    fn poll_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }
}

/// A random locally administered unicast MAC: `02:xx:xx:xx:xx:xx` with five
/// bytes from `getrandom(2)`, falling back to `/dev/urandom`.
fn random_local_mac(ifname: &str) -> Result<MacAddr, DeviceError> {
    let mut mac: MacAddr = [0; 6];
    let mut filled = 0;
    while let Some(rest) = mac.get_mut(filled..).filter(|r| !r.is_empty()) {
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast::<libc::c_void>(), rest.len(), 0) };
        match usize::try_from(n) {
            Ok(got) => filled += got,
            Err(_) => {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return urandom_mac(ifname);
            }
        }
    }
    Ok(local_unicast(mac))
}

/// Reads the random bytes of a MAC from `/dev/urandom`.
fn urandom_mac(ifname: &str) -> Result<MacAddr, DeviceError> {
    use std::io::Read as _;
    let mut mac: MacAddr = [0; 6];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut mac))
        .map_err(|e| {
            DeviceError::os(
                ifname,
                "generating a random router MAC",
                "check that /dev/urandom is readable",
                e,
            )
        })?;
    Ok(local_unicast(mac))
}

/// Forces the first byte of `mac` to `0x02` (locally administered, unicast).
fn local_unicast(mut mac: MacAddr) -> MacAddr {
    if let Some(first) = mac.first_mut() {
        *first = 0x02;
    }
    mac
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::device::test_support::{is_arp_request_for, kernel_udp, wait_for, NetNs};
    use std::time::Duration;

    fn parse_mac(s: &str) -> MacAddr {
        let mut mac = [0u8; 6];
        for (dst, part) in mac.iter_mut().zip(s.split(':')) {
            *dst = u8::from_str_radix(part, 16).unwrap();
        }
        mac
    }

    /// The flags and MAC of `ifname` in `ns`, as `ip -o link show` prints.
    fn link_info(ns: &NetNs, ifname: &str) -> (String, MacAddr) {
        let out = ns.ip(&["-o", "link", "show", "dev", ifname]);
        let flags = out
            .split('<')
            .nth(1)
            .and_then(|s| s.split('>').next())
            .unwrap()
            .to_owned();
        let mac = out
            .split("link/ether ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap();
        (flags, parse_mac(mac))
    }

    /// An ARP reply telling `to` (MAC, IP) that `ip` is at `mac`.
    fn arp_reply(mac: MacAddr, ip: [u8; 4], to_mac: MacAddr, to_ip: [u8; 4]) -> Vec<u8> {
        let mut f = Vec::with_capacity(42);
        f.extend_from_slice(&to_mac);
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2]);
        f.extend_from_slice(&mac);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&to_mac);
        f.extend_from_slice(&to_ip);
        f
    }

    fn is_udp_to(frame: &[u8], dst_mac: MacAddr, dst_ip: [u8; 4]) -> bool {
        frame.len() >= 34
            && frame[..6] == dst_mac
            && frame[12..14] == [0x08, 0x00]
            && frame[23] == 17
            && frame[30..34] == dst_ip
    }

    #[test]
    fn random_macs_are_local_unicast() {
        let a = random_local_mac("t").unwrap();
        let b = random_local_mac("t").unwrap();
        assert_eq!(a[0], 0x02);
        assert_ne!(a, b);
        assert_eq!(urandom_mac("t").unwrap()[0], 0x02);
    }

    #[test]
    fn bad_names_are_rejected_before_touching_the_kernel() {
        for name in ["", "sixteen-bytes-xx", "a\0b"] {
            let err = TapDevice::create(name).unwrap_err();
            assert!(
                matches!(err, DeviceError::InvalidName { .. }),
                "{name:?}: {err:?}"
            );
        }
    }

    #[test]
    fn tap_is_created_up_and_carries_frames() {
        let Some(ns) = NetNs::create("tap_is_created_up_and_carries_frames") else {
            return;
        };
        ns.run(|| {
            let mut tap = TapDevice::create("unattap0").unwrap();
            assert_eq!(tap.name(), "unattap0");
            assert_eq!(tap.mtu(), 1500);
            assert!(tap.poll_fd().is_some());
            let router_mac = tap.mac();
            assert_eq!(router_mac[0], 0x02);

            let (flags, kernel_mac) = link_info(&ns, "unattap0");
            assert!(flags.split(',').any(|f| f == "UP"), "flags: {flags}");
            assert_ne!(router_mac, kernel_mac);

            // Nothing queued for us: recv does not block.
            ns.ip(&["addr", "add", "10.9.1.1/24", "dev", "unattap0"]);
            let mut buf = [0u8; 2048];
            while tap.recv(&mut buf).unwrap().is_some() {}

            // The kernel asks for 10.9.1.2; the router answers; the kernel
            // then delivers the queued datagram to the router's MAC.
            kernel_udp("10.9.1.2:9", b"hello");
            let (req, _) = wait_for(&mut tap, 2048, Duration::from_secs(3), |f, _| {
                is_arp_request_for(f, [10, 9, 1, 2])
            })
            .expect("no ARP request from the kernel on the TAP");
            assert_eq!(req[6..12], kernel_mac);
            tap.send(&arp_reply(
                router_mac,
                [10, 9, 1, 2],
                kernel_mac,
                [10, 9, 1, 1],
            ))
            .unwrap();
            let (_, len) = wait_for(&mut tap, 2048, Duration::from_secs(3), |f, _| {
                is_udp_to(f, router_mac, [10, 9, 1, 2])
            })
            .expect("the datagram did not reach the router MAC");
            assert_eq!(len, 14 + 20 + 8 + 5);

            // A frame longer than the buffer is cut and reports its length.
            kernel_udp("10.9.1.2:9", &[7u8; 100]);
            let (head, len) = wait_for(&mut tap, 40, Duration::from_secs(3), |f, len| {
                len == 14 + 20 + 8 + 100 && f[..6] == router_mac
            })
            .expect("the second datagram did not arrive");
            assert_eq!(head.len(), 40);
            assert_eq!(len, 142);
        });
    }

    #[test]
    fn tap_keeps_working_after_netns_move() {
        let Some(ns1) = NetNs::create("tap_keeps_working_after_netns_move") else {
            return;
        };
        let Some(ns2) = NetNs::create("tap_keeps_working_after_netns_move") else {
            return;
        };
        let mut tap = ns1.run(|| TapDevice::create("unattap1").unwrap());
        ns1.ip(&["link", "set", "unattap1", "netns", ns2.name()]);
        ns2.ip(&["link", "set", "unattap1", "up"]);
        ns2.ip(&["addr", "add", "10.9.2.1/24", "dev", "unattap1"]);
        ns2.run(|| {
            kernel_udp("10.9.2.2:9", b"moved");
            wait_for(&mut tap, 2048, Duration::from_secs(3), |f, _| {
                is_arp_request_for(f, [10, 9, 2, 2])
            })
            .expect("no ARP request on the TAP after moving it");
        });
        assert_eq!(tap.name(), "unattap1");
        drop(tap);
    }

    #[test]
    fn tagged_frames_reach_the_tap_tagged() {
        use crate::device::af_packet::PacketDevice;
        let Some(ns) = NetNs::create("tagged_frames_reach_the_tap_tagged") else {
            return;
        };
        // va -> vb -> br0 -> unattap2: vb's receive path takes the tag out
        // of the frame, the bridge forwards it out of band, the TAP reader
        // must get it back inline.
        ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
        ns.ip(&["link", "add", "br0", "type", "bridge"]);
        ns.ip(&["link", "set", "vb", "master", "br0"]);
        ns.ip(&["link", "set", "va", "up"]);
        ns.ip(&["link", "set", "vb", "up"]);
        ns.run(|| {
            let mut tap = TapDevice::create("unattap2").unwrap();
            ns.ip(&["link", "set", "unattap2", "master", "br0"]);
            ns.ip(&["link", "set", "br0", "up"]);
            let mut a = PacketDevice::open("va").unwrap();
            // With TX VLAN offload on (the default) the tun driver inserts
            // the tag; with it off the kernel does before handing it over.
            let cases = [
                ("on", [0x81, 0x00]),
                ("on", [0x88, 0xa8]),
                ("off", [0x81, 0x00]),
            ];
            for (i, (txvlan, tpid)) in cases.into_iter().enumerate() {
                ns.exec(&["ethtool", "-K", "unattap2", "txvlan", txvlan]);
                let mut frame = vec![0xff; 6];
                frame.extend_from_slice(&[0x02, 0, 0, 0, 0x0a, 0x02]);
                frame.extend_from_slice(&tpid);
                frame.extend_from_slice(&[0x00, 0x07, 0x08, 0x00, 0x45, 0x00]);
                frame.resize(80, u8::try_from(i).unwrap());
                // Retried: the bridge port may still be coming up.
                let mut got = None;
                for _ in 0..30 {
                    a.send(&frame).unwrap();
                    got = wait_for(&mut tap, 2048, Duration::from_millis(100), |f, _| {
                        f[6..12] == frame[6..12] && f[f.len() - 1] == frame[79]
                    });
                    if got.is_some() {
                        break;
                    }
                }
                let (got, len) = got.expect("the tagged frame did not reach the TAP");
                assert_eq!(got[12..16], frame[12..16], "txvlan {txvlan}");
                assert_eq!(got, frame, "txvlan {txvlan}");
                assert_eq!(len, frame.len());
            }
        });
    }

    #[test]
    fn existing_non_tap_name_is_explained() {
        let Some(ns) = NetNs::create("existing_non_tap_name_is_explained") else {
            return;
        };
        ns.ip(&["link", "add", "unatdummy0", "type", "veth"]);
        let err = ns.run(|| TapDevice::create("unatdummy0")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unatdummy0"), "{text}");
        assert!(text.contains("not a TAP device"), "{text}");
    }
}
