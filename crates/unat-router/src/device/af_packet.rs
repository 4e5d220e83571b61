//! A [`Device`] on an existing interface (a veth end, a NIC) through an
//! `AF_PACKET` raw socket, and the interface checks the router prints at
//! start-up ([`interface_warnings`]).
//!
//! The router uses the interface's own MAC. Frames the host itself sends out
//! on the interface are never returned by [`Device::recv`]: the socket asks
//! the kernel not to deliver them (`PACKET_IGNORE_OUTGOING`, Linux 4.20+) and
//! `recv` also drops any frame marked `PACKET_OUTGOING`.
//!
//! The kernel takes the 802.1Q/802.1ad tag out of every tagged frame it
//! receives before an `AF_PACKET` socket sees it, and reports it only as
//! `PACKET_AUXDATA`. The socket enables that option and `recv` puts the tag
//! back after the two MAC addresses, as libpcap does, so a tagged frame is
//! never mistaken for an untagged one. The same auxiliary data says whether
//! the frame's checksum is partial ([`Device::last_rx_partial_checksum`]);
//! [`Device::kernel_drops`] reads `PACKET_STATISTICS`.

use std::ffi::{CStr, CString};
use std::io;
use std::mem;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use super::sys::{
    check_ifname, control_socket, ifreq_for, ifreq_ioctl, ioctl_request, query_hwaddr, query_mtu,
    send_whole,
};
use super::{Device, DeviceError, MacAddr};

/// `ETH_P_ALL` in network byte order, as `sockaddr_ll.sll_protocol` wants it.
// ETH_P_ALL is 0x0003, so the narrowing cast is lossless.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

/// The 802.1Q TPID, used when the kernel does not report the tag's own.
const ETH_P_8021Q: u16 = 0x8100;

/// The length of the two MAC addresses that precede a VLAN tag.
const MACS_LEN: usize = 12;

/// The length of a VLAN tag (TPID and TCI).
const VLAN_TAG_LEN: usize = 4;

/// The size of the `PACKET_AUXDATA` payload (20 bytes).
const AUXDATA_LEN: usize = mem::size_of::<libc::tpacket_auxdata>();

/// Room for the control messages `recvmsg` returns: only `PACKET_AUXDATA`
/// is enabled, which needs `CMSG_SPACE(20)` = 40 bytes on 64-bit Linux.
const CONTROL_LEN: usize = 64;

// The auxdata message must fit the control buffer (checked at compile time).
// SAFETY: CMSG_SPACE only does arithmetic on its argument.
const _: () =
    assert!(unsafe { libc::CMSG_SPACE(AUXDATA_LEN as libc::c_uint) } as usize <= CONTROL_LEN);

/// A control-message buffer aligned for `cmsghdr`.
#[repr(C, align(8))]
struct ControlBuf([u8; CONTROL_LEN]);

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
    /// Whether the frame `recv` returned last had `TP_STATUS_CSUMNOTREADY`.
    partial_checksum: bool,
    /// The drops `PACKET_STATISTICS` reported so far (it resets on reading).
    drops: u64,
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

        // Without auxiliary data the VLAN tag the kernel took out of a frame
        // is reported nowhere, so a failure here is fatal: `recv` would
        // silently return tagged frames as untagged ones.
        set_int_option(fd.as_fd(), libc::PACKET_AUXDATA).map_err(|e| {
            DeviceError::os(
                ifname,
                "enabling PACKET_AUXDATA on the AF_PACKET socket",
                "the kernel is too old (PACKET_AUXDATA needs Linux 2.6.21)",
                e,
            )
        })?;

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

        // The result is ignored on purpose: kernels before 4.20 do not know
        // the option, and `recv` filters outgoing frames anyway.
        let _ = set_int_option(fd.as_fd(), libc::PACKET_IGNORE_OUTGOING);

        let ctl = control_socket(ifname)?;
        let mac = query_hwaddr(ctl.as_fd(), ifname)?;
        let mtu = query_mtu(ctl.as_fd(), ifname)?;
        Ok(PacketDevice {
            fd,
            name: ifname.to_owned(),
            ifindex,
            mac,
            mtu,
            partial_checksum: false,
            drops: 0,
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
        self.partial_checksum = false;
        loop {
            let mut from = zeroed_sockaddr_ll();
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast::<libc::c_void>(),
                iov_len: buf.len(),
            };
            let mut control = ControlBuf([0; CONTROL_LEN]);
            // SAFETY: `msghdr` is a plain C struct of integers and raw
            // pointers (plus padding fields on musl); all-zero bytes are a
            // valid value of it.
            let mut msg: libc::msghdr = unsafe { mem::zeroed() };
            msg.msg_name = ptr::from_mut(&mut from).cast::<libc::c_void>();
            msg.msg_namelen = socklen_of::<libc::sockaddr_ll>();
            msg.msg_iov = ptr::from_mut(&mut iov);
            msg.msg_iovlen = 1;
            msg.msg_control = control.0.as_mut_ptr().cast::<libc::c_void>();
            // `size_t` on glibc, `socklen_t` on musl; 64 fits both.
            #[allow(clippy::cast_possible_truncation)]
            {
                msg.msg_controllen = CONTROL_LEN as _;
            }
            // SAFETY: `msg` points at `from` (a sockaddr_ll of the size given),
            // at one iovec describing `buf` (valid for writes of `buf.len()`
            // bytes) and at `control` (valid for writes of CONTROL_LEN bytes),
            // all live and not otherwise borrowed during the call. With
            // MSG_TRUNC the kernel still writes at most `buf.len()` bytes and
            // returns the frame's real length.
            let n = unsafe {
                libc::recvmsg(
                    self.fd.as_raw_fd(),
                    &mut msg,
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
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
            // SAFETY: `recvmsg` succeeded, so the kernel set `msg_controllen`
            // to the bytes of control messages it wrote into `control`, which
            // is still live and unchanged.
            let Some(aux) = (unsafe { find_auxdata(&msg) }) else {
                return Ok(Some(len));
            };
            self.partial_checksum = aux.tp_status & libc::TP_STATUS_CSUMNOTREADY != 0;
            // libpcap's VLAN_VALID: kernels before 3.0 set no status bit and
            // report a tag by a non-zero TCI.
            if aux.tp_vlan_tci != 0 || aux.tp_status & libc::TP_STATUS_VLAN_VALID != 0 {
                // libpcap's VLAN_TPID: kernels before 3.14 do not report the
                // TPID, which is then 802.1Q.
                let tpid = if aux.tp_vlan_tpid != 0
                    || aux.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0
                {
                    aux.tp_vlan_tpid
                } else {
                    ETH_P_8021Q
                };
                return Ok(Some(insert_vlan_tag(buf, len, tpid, aux.tp_vlan_tci)));
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

    fn last_rx_partial_checksum(&self) -> bool {
        self.partial_checksum
    }

    fn kernel_drops(&mut self) -> Option<u64> {
        let mut stats = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = socklen_of::<libc::tpacket_stats>();
        // SAFETY: `stats` is a tpacket_stats that outlives the call and `len`
        // holds its size; the kernel writes at most that many bytes.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                ptr::from_mut(&mut stats).cast::<libc::c_void>(),
                &mut len,
            )
        };
        if rc < 0 {
            return None;
        }
        // The kernel zeroes its counters on every read, so add them up here.
        self.drops = self.drops.saturating_add(u64::from(stats.tp_drops));
        Some(self.drops)
    }
}

/// Sets the `SOL_PACKET` option `option` to the integer 1.
fn set_int_option(fd: BorrowedFd<'_>, option: libc::c_int) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: `one` is a c_int that outlives the call and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            option,
            ptr::from_ref(&one).cast::<libc::c_void>(),
            socklen_of::<libc::c_int>(),
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The `PACKET_AUXDATA` control message among those `recvmsg` returned in
/// `msg`, if the kernel attached one (whole).
///
/// # Safety
///
/// `msg` must have been filled by a successful `recvmsg`, and the control
/// buffer it points at must still be live and unchanged.
unsafe fn find_auxdata(msg: &libc::msghdr) -> Option<libc::tpacket_auxdata> {
    // The smallest `cmsg_len` of a message that holds the whole payload.
    // SAFETY: CMSG_LEN only does arithmetic on its argument.
    let needed = unsafe { libc::CMSG_LEN(AUXDATA_LEN as libc::c_uint) };
    // SAFETY: `msg` describes a control buffer of `msg_controllen` bytes
    // (caller's contract); CMSG_FIRSTHDR returns null when it cannot hold a
    // header.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: a non-null pointer from CMSG_FIRSTHDR/CMSG_NXTHDR points at
        // a whole `cmsghdr` inside the control buffer; it may be unaligned
        // for all we rely on, hence `read_unaligned`.
        let hdr = unsafe { ptr::read_unaligned(cmsg) };
        if hdr.cmsg_level == libc::SOL_PACKET
            && hdr.cmsg_type == libc::PACKET_AUXDATA
            && u64::try_from(hdr.cmsg_len).is_ok_and(|l| l >= u64::from(needed))
        {
            // SAFETY: the kernel never reports a `cmsg_len` beyond the bytes
            // it wrote into the buffer (it truncates and sets MSG_CTRUNC
            // instead), so the checked length guarantees all AUXDATA_LEN
            // payload bytes after the header are initialised and in bounds.
            let data = unsafe { libc::CMSG_DATA(cmsg) };
            // SAFETY: see above; the payload has no alignment guarantee.
            return Some(unsafe { ptr::read_unaligned(data.cast::<libc::tpacket_auxdata>()) });
        }
        // SAFETY: `cmsg` is a header inside `msg`'s control buffer;
        // CMSG_NXTHDR checks the next one against `msg_controllen` and
        // returns null at the end.
        cmsg = unsafe { libc::CMSG_NXTHDR(msg, cmsg) };
    }
    None
}

/// Puts the VLAN tag `tpid`/`tci` back into a frame whose real length
/// (without the tag) is `len` and whose first `min(len, buf.len())` bytes
/// are in `buf`: the tag goes right after the two MAC addresses, as libpcap
/// does. Returns the tagged frame's length, `len + 4`; `buf` then holds the
/// first `buf.len()` bytes of the tagged frame, so a tagged frame is cut
/// (and reported longer than `buf`) exactly like any other.
///
/// A frame shorter than the two MAC addresses is left alone.
fn insert_vlan_tag(buf: &mut [u8], len: usize, tpid: u16, tci: u16) -> usize {
    if len < MACS_LEN {
        return len;
    }
    let tagged_len = len.saturating_add(VLAN_TAG_LEN);
    let end = tagged_len.min(buf.len());
    if let Some(after_macs) = buf.get_mut(MACS_LEN..end) {
        // Everything after the MACs moves up by the tag's length; what falls
        // off the end of `buf` is the part a cut frame loses anyway.
        let kept = after_macs.len().saturating_sub(VLAN_TAG_LEN);
        if kept > 0 {
            after_macs.copy_within(..kept, VLAN_TAG_LEN);
        }
        let [p0, p1] = tpid.to_be_bytes();
        let [t0, t1] = tci.to_be_bytes();
        for (dst, src) in after_macs.iter_mut().zip([p0, p1, t0, t1]) {
            *dst = src;
        }
    }
    tagged_len
}

/// The legacy ethtool "get" commands checked by [`interface_warnings`], with
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

/// Checks `ifname` for set-ups that make the router misbehave and returns
/// one human-readable warning for each, saying what to do about it:
///
/// - the interface is down (the router would receive nothing);
/// - the kernel has an IPv4 address on it (the kernel would answer ARP and
///   ping for that address next to the router), one warning per address;
/// - offloads that break a user-space router reading raw frames are on
///   (checksum offload, TSO, GSO, GRO).
///
/// An interface that does not exist yields no warnings (opening it reports
/// that), and a query the kernel rejects (a driver without an ethtool
/// operation, say) is skipped.
pub fn interface_warnings(ifname: &str) -> Vec<String> {
    let Ok(mut ifr) = ifreq_for(ifname) else {
        return Vec::new();
    };
    let Ok(ctl) = control_socket(ifname) else {
        return Vec::new();
    };
    if ifreq_ioctl(ctl.as_fd(), ioctl_request(libc::SIOCGIFFLAGS), &mut ifr).is_err() {
        return Vec::new();
    }
    // SAFETY: SIOCGIFFLAGS succeeded, so the kernel stored the flags in this
    // union member (and the struct was zeroed before).
    let flags = unsafe { ifr.ifr_ifru.ifru_flags };
    let mut warnings = Vec::new();
    if libc::c_int::from(flags) & libc::IFF_UP == 0 {
        warnings.push(format!(
            "{ifname} is down: the router will receive nothing until `ip link set {ifname} up`"
        ));
    }
    for addr in kernel_ipv4_addresses(ifname) {
        warnings.push(format!(
            "{ifname} has kernel address {addr}: the kernel will answer ARP and ping there \
             as well as the router; remove it with `ip addr flush dev {ifname}`"
        ));
    }
    warnings.extend(offload_warnings(ctl.as_fd(), ifname));
    warnings
}

/// One warning for each offload in [`OFFLOADS`] that is on on `ifname`.
fn offload_warnings(ctl: BorrowedFd<'_>, ifname: &str) -> Vec<String> {
    let Ok(mut ifr) = ifreq_for(ifname) else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    for (cmd, feature, consequence) in OFFLOADS {
        let mut value = EthtoolValue { cmd, data: 0 };
        ifr.ifr_ifru.ifru_data = ptr::from_mut(&mut value).cast::<libc::c_char>();
        if ifreq_ioctl(ctl, ioctl_request(libc::SIOCETHTOOL), &mut ifr).is_ok() && value.data != 0 {
            warnings.push(format!(
                "{feature} is on on {ifname}: {consequence}; run \
                 `ethtool -K {ifname} tx off tso off gso off gro off`"
            ));
        }
    }
    warnings
}

/// The list `getifaddrs(3)` returns, freed on drop.
struct IfAddrs(*mut libc::ifaddrs);

impl Drop for IfAddrs {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful getifaddrs and is
            // freed only here, once.
            unsafe { libc::freeifaddrs(self.0) };
        }
    }
}

/// The IPv4 addresses the kernel has on `ifname` (including those with a
/// label such as `ifname:1`); empty when they cannot be listed.
fn kernel_ipv4_addresses(ifname: &str) -> Vec<Ipv4Addr> {
    let mut head: *mut libc::ifaddrs = ptr::null_mut();
    // SAFETY: `head` is a valid place for the list pointer.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Vec::new();
    }
    let list = IfAddrs(head);
    let mut addrs = Vec::new();
    let mut cur = list.0;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, which
        // stays allocated until `list` is dropped at the end of the function.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() || ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: a non-null `ifa_name` is a NUL-terminated string owned by
        // the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }.to_bytes();
        let labelled = name
            .strip_prefix(ifname.as_bytes())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(b":"));
        if !labelled {
            continue;
        }
        // SAFETY: a non-null `ifa_addr` points at a socket address owned by
        // the list, which starts with its family.
        let family = unsafe { ptr::read_unaligned(ptr::addr_of!((*ifa.ifa_addr).sa_family)) };
        if libc::c_int::from(family) != libc::AF_INET {
            continue;
        }
        // SAFETY: an AF_INET address is stored as a whole sockaddr_in.
        let sin = unsafe { ptr::read_unaligned(ifa.ifa_addr.cast::<libc::sockaddr_in>()) };
        addrs.push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
    }
    addrs
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
        assert!(interface_warnings("").is_empty());
        assert!(interface_warnings("unatnope0").is_empty());
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
        // vb is up and has no IPv4 address, so only offloads are reported.
        ns.exec(&["ethtool", "-K", "vb", "tx", "on", "tso", "on", "gso", "on"]);
        let warnings = ns.run(|| interface_warnings("vb"));
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("tx-checksumming is on on vb:")
                    && w.contains("`ethtool -K vb tx off tso off gso off gro off`")),
            "{warnings:?}"
        );
        assert!(warnings.len() >= 3, "{warnings:?}");

        ns.exec(&[
            "ethtool", "-K", "vb", "tx", "off", "tso", "off", "gso", "off", "gro", "off",
        ]);
        let warnings = ns.run(|| interface_warnings("vb"));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(ns.run(|| interface_warnings("unatnope0")).is_empty());
        assert!(!ns.name().is_empty());
    }

    #[test]
    fn interface_warnings_report_down_and_kernel_addresses() {
        let Some(ns) = veth_ns("interface_warnings_report_down_and_kernel_addresses") else {
            return;
        };
        let not_offload = |ws: Vec<String>| -> Vec<String> {
            ws.into_iter()
                .filter(|w| !w.contains(" is on on "))
                .collect()
        };

        // vb: up, no address.
        assert_eq!(
            not_offload(ns.run(|| interface_warnings("vb"))),
            Vec::<String>::new()
        );
        // va: up, 10.9.0.1.
        assert_eq!(
            not_offload(ns.run(|| interface_warnings("va"))),
            vec![
                "va has kernel address 10.9.0.1: the kernel will answer ARP and ping there \
                 as well as the router; remove it with `ip addr flush dev va`"
                    .to_owned()
            ]
        );

        // vb: down, with two addresses, one of them under a label.
        ns.ip(&["link", "set", "vb", "down"]);
        ns.ip(&["addr", "add", "10.9.5.5/24", "dev", "vb"]);
        ns.ip(&["addr", "add", "10.9.6.6/24", "dev", "vb", "label", "vb:x"]);
        let warnings = not_offload(ns.run(|| interface_warnings("vb")));
        assert_eq!(
            warnings.first().map(String::as_str),
            Some("vb is down: the router will receive nothing until `ip link set vb up`"),
            "{warnings:?}"
        );
        for addr in ["10.9.5.5", "10.9.6.6"] {
            let want = format!(
                "vb has kernel address {addr}: the kernel will answer ARP and ping there as \
                 well as the router; remove it with `ip addr flush dev vb`"
            );
            assert!(warnings.contains(&want), "{warnings:?}");
        }
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        // A name that only starts like vb's is another interface.
        assert!(ns.run(|| kernel_ipv4_addresses("v")).is_empty());
    }

    /// An IPv4-looking frame from MAC_A to MAC_B with `tags` (TPID, TCI)
    /// after the MACs and `marker` in the IPv4 identification field.
    fn ipv4_frame(tags: &[(u16, u16)], marker: u8, payload_len: usize) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&MAC_B);
        f.extend_from_slice(&MAC_A);
        for &(tpid, tci) in tags {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(&[0x08, 0x00]);
        // Version/IHL, TOS, total length, identification, flags, TTL,
        // protocol 253 (experimental), checksum (not computed), addresses.
        let total = u16::try_from(20 + payload_len).unwrap();
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0xab, marker, 0, 0, 64, 253, 0, 0]);
        f.extend_from_slice(&[10, 9, 0, 1, 10, 9, 0, 2]);
        f.extend((0..payload_len).map(|i| (i % 251) as u8));
        f
    }

    /// Sends `frame` (with at most one tag) on `tx` and returns what `rx`
    /// receives for it into a buffer of `buf_len` bytes: the bytes and the
    /// reported length. The frame is recognised as received whole or with
    /// its tag stripped, so a missing tag shows up as a failed comparison.
    fn cross(
        tx: &mut PacketDevice,
        rx: &mut PacketDevice,
        frame: &[u8],
        buf_len: usize,
    ) -> (Vec<u8>, usize) {
        let tagged = matches!(frame[12..14], [0x81, 0x00] | [0x88, 0xa8]);
        let stripped: Vec<u8> = if tagged {
            frame[..12].iter().chain(&frame[16..]).copied().collect()
        } else {
            frame.to_vec()
        };
        tx.send(frame).unwrap();
        wait_for(rx, buf_len, Duration::from_secs(3), |f, len| {
            (len == frame.len() && frame.starts_with(f))
                || (len == stripped.len() && stripped.starts_with(f))
        })
        .unwrap_or_else(|| {
            panic!(
                "the frame sent on {} did not reach {}",
                tx.name(),
                rx.name()
            )
        })
    }

    #[test]
    fn vlan_tags_are_put_back() {
        let Some(ns) = veth_ns("vlan_tags_are_put_back") else {
            return;
        };
        for rxvlan in ["on", "off"] {
            ns.exec(&["ethtool", "-K", "vb", "rxvlan", rxvlan]);
            ns.run(|| {
                let mut a = PacketDevice::open("va").unwrap();
                let mut b = PacketDevice::open("vb").unwrap();

                // 802.1Q, VLAN 7.
                let frame = ipv4_frame(&[(0x8100, 0x0007)], 1, 40);
                let (got, len) = cross(&mut a, &mut b, &frame, 2048);
                assert_eq!(got[12..16], [0x81, 0x00, 0x00, 0x07], "rxvlan {rxvlan}");
                assert_eq!(got, frame, "rxvlan {rxvlan}");
                assert_eq!(len, frame.len());
                assert!(!b.last_rx_partial_checksum());

                // 802.1ad, priority 5, VLAN 100: the kernel's TPID is kept.
                let frame = ipv4_frame(&[(0x88a8, 0xa064)], 2, 40);
                let (got, len) = cross(&mut a, &mut b, &frame, 2048);
                assert_eq!(got, frame, "rxvlan {rxvlan}");
                assert_eq!(len, frame.len());

                // Untagged: unchanged.
                let frame = ipv4_frame(&[], 3, 40);
                let (got, len) = cross(&mut a, &mut b, &frame, 2048);
                assert_eq!(got, frame, "rxvlan {rxvlan}");
                assert_eq!(len, frame.len());

                // A tagged frame into short buffers: cut, real (tagged) length.
                for buf_len in [64, 15, 12, 6] {
                    let frame = ipv4_frame(&[(0x8100, 0x0007)], 4, 300);
                    let (got, len) = cross(&mut a, &mut b, &frame, buf_len);
                    assert_eq!(len, frame.len(), "buffer of {buf_len}");
                    assert_eq!(got, frame[..buf_len], "buffer of {buf_len}");
                }
                // A tagged frame exactly filling the buffer is not cut.
                let frame = ipv4_frame(&[(0x8100, 0x0007)], 5, 100);
                let (got, len) = cross(&mut a, &mut b, &frame, frame.len());
                assert_eq!((got.as_slice(), len), (frame.as_slice(), frame.len()));
            });
        }
    }

    #[test]
    fn partial_checksums_are_flagged() {
        let Some(ns) = veth_ns("partial_checksums_are_flagged") else {
            return;
        };
        ns.ip(&[
            "neigh",
            "add",
            "10.9.0.2",
            "lladdr",
            &mac_str(MAC_B),
            "dev",
            "va",
            "nud",
            "permanent",
        ]);
        let is_udp_to_b = |f: &[u8], _: usize| {
            f.len() >= 34 && f[..6] == MAC_B && f[12..14] == [0x08, 0x00] && f[23] == 17
        };
        for (tx, partial) in [("on", true), ("off", false)] {
            ns.exec(&["ethtool", "-K", "va", "tx", tx]);
            ns.run(|| {
                let mut b = PacketDevice::open("vb").unwrap();
                kernel_udp("10.9.0.2:9", b"checksum me");
                wait_for(&mut b, 2048, Duration::from_secs(3), is_udp_to_b)
                    .expect("the kernel's datagram did not reach vb");
                assert_eq!(b.last_rx_partial_checksum(), partial, "tx {tx}");
                // No frame: no flag.
                let mut buf = [0u8; 2048];
                while b.recv(&mut buf).unwrap().is_some() {}
                assert!(!b.last_rx_partial_checksum());
            });
        }
    }

    #[test]
    fn kernel_drops_are_counted() {
        let Some(ns) = veth_ns("kernel_drops_are_counted") else {
            return;
        };
        ns.run(|| {
            let mut a = PacketDevice::open("va").unwrap();
            let mut b = PacketDevice::open("vb").unwrap();
            assert_eq!(b.kernel_drops(), Some(0));
            assert_eq!(b.kernel_drops(), Some(0));

            // Shrink vb's receive queue to the minimum and overflow it.
            let small: libc::c_int = 1;
            // SAFETY: `small` is a c_int that outlives the call.
            let rc = unsafe {
                libc::setsockopt(
                    b.poll_fd().unwrap(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUF,
                    ptr::from_ref(&small).cast::<libc::c_void>(),
                    socklen_of::<libc::c_int>(),
                )
            };
            assert_eq!(rc, 0);
            for i in 0..200u8 {
                a.send(&test_frame(MAC_B, MAC_A, i, 1000)).unwrap();
            }
            // Let the receive softirq deliver (or drop) the backlog.
            std::thread::sleep(Duration::from_millis(200));
            let first = b.kernel_drops().unwrap();
            assert!(first > 0, "no drops after overflowing the queue");
            // The kernel reset its counter, the device keeps the total.
            let second = b.kernel_drops().unwrap();
            assert!(second >= first, "{second} < {first}");
            let mut buf = [0u8; 2048];
            while b.recv(&mut buf).unwrap().is_some() {}
            for i in 0..200u8 {
                a.send(&test_frame(MAC_B, MAC_A, i, 1000)).unwrap();
            }
            std::thread::sleep(Duration::from_millis(200));
            let third = b.kernel_drops().unwrap();
            assert!(third > second, "{third} <= {second}");
            assert_eq!(a.kernel_drops(), Some(0));
        });
    }

    #[test]
    fn vlan_tag_insertion_keeps_the_truncation_contract() {
        let tagged: Vec<u8> = (0u8..12)
            .chain([0x88, 0xa8, 0x20, 0x07])
            .chain(12u8..40)
            .collect();
        for buf_len in [0, 5, 12, 13, 14, 15, 16, 17, 30, 40, 43, 44, 45, 100] {
            let mut buf: Vec<u8> = (0u8..40).collect();
            buf.resize(buf_len, 0xee);
            let len = insert_vlan_tag(&mut buf, 40, 0x88a8, 0x2007);
            assert_eq!(len, 44, "buffer of {buf_len}");
            let n = buf_len.min(44);
            assert_eq!(buf[..n], tagged[..n], "buffer of {buf_len}");
            assert!(buf[n..].iter().all(|&b| b == 0xee), "buffer of {buf_len}");
        }
        // Shorter than the MACs: nothing to do.
        let mut buf = [1u8; 20];
        assert_eq!(insert_vlan_tag(&mut buf, 11, 0x8100, 1), 11);
        assert_eq!(buf, [1u8; 20]);
        // The length does not overflow.
        assert_eq!(insert_vlan_tag(&mut [], usize::MAX, 0x8100, 1), usize::MAX);
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
