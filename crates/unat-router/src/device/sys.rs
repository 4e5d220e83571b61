//! Linux interface plumbing shared by the TAP and AF_PACKET backends:
//! `ifreq` building, interface `ioctl`s (MTU, hardware address), and
//! socket-length helpers.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;

use super::{DeviceError, MacAddr};

/// The error for a `write`/`send` that took only part of a frame.
fn short_write(sent: usize, len: usize, ifname: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::WriteZero,
        format!("only {sent} of {len} bytes of a frame were sent on {ifname}"),
    )
}

/// Converts a `SIOC*` constant (a `c_ulong` in `libc`) into the request
/// type `ioctl` takes on this target (`c_ulong` on glibc, `c_int` on musl).
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
pub(crate) const fn ioctl_request(request: libc::c_ulong) -> libc::Ioctl {
    // The SIOC* values are all below 0x9000, so this never truncates.
    request as libc::Ioctl
}

/// Checks that `ifname` fits an `ifreq`: 1 to 15 bytes and no NUL.
pub(crate) fn check_ifname(ifname: &str) -> Result<(), DeviceError> {
    let reason = if ifname.is_empty() {
        "it is empty"
    } else if ifname.len() >= libc::IFNAMSIZ {
        "it is longer than 15 bytes"
    } else if ifname.as_bytes().contains(&0) {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(DeviceError::InvalidName {
        ifname: ifname.to_owned(),
        reason,
    })
}

/// An all-zero `ifreq` whose name is `ifname`.
pub(crate) fn ifreq_for(ifname: &str) -> Result<libc::ifreq, DeviceError> {
    check_ifname(ifname)?;
    // SAFETY: `ifreq` is a plain C struct of integers, arrays and a union of
    // such (plus a raw pointer); all-zero bytes are a valid value of it.
    let mut ifr: libc::ifreq = unsafe { mem::zeroed() };
    // `check_ifname` guarantees the name is shorter than the array, so the
    // last byte stays NUL.
    for (dst, src) in ifr.ifr_name.iter_mut().zip(ifname.bytes()) {
        // Reinterprets the byte as a C char (signed on x86).
        *dst = src as libc::c_char;
    }
    Ok(ifr)
}

/// The name in an `ifreq`, up to its first NUL.
pub(crate) fn ifname_of(ifr: &libc::ifreq) -> String {
    let bytes: Vec<u8> = ifr
        .ifr_name
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs an `ioctl` that takes a `struct ifreq *`.
pub(crate) fn ifreq_ioctl(
    fd: BorrowedFd<'_>,
    request: libc::Ioctl,
    ifr: &mut libc::ifreq,
) -> io::Result<()> {
    // SAFETY: every request passed here takes a `struct ifreq *`, and `ifr`
    // is a valid, exclusively borrowed ifreq for the duration of the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request, ptr::from_mut(ifr)) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A datagram socket to run interface `ioctl`s on (errors name `ifname`).
pub(crate) fn control_socket(ifname: &str) -> Result<OwnedFd, DeviceError> {
    // SAFETY: plain system call with constant arguments.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(DeviceError::os(
            ifname,
            "opening a socket for interface ioctls",
            "check the process's file descriptor limit (`ulimit -n`)",
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: `raw` is a freshly created descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// The MTU of `ifname` (`SIOCGIFMTU`).
pub(crate) fn query_mtu(ctl: BorrowedFd<'_>, ifname: &str) -> Result<usize, DeviceError> {
    let mut ifr = ifreq_for(ifname)?;
    ifreq_ioctl(ctl, ioctl_request(libc::SIOCGIFMTU), &mut ifr).map_err(|e| {
        DeviceError::os(
            ifname,
            "reading the MTU",
            "check that the interface still exists (`ip link`)",
            e,
        )
    })?;
    // SAFETY: SIOCGIFMTU succeeded, so the kernel stored the MTU in this
    // union member (and the struct was zeroed before, so it is initialised).
    let mtu = unsafe { ifr.ifr_ifru.ifru_mtu };
    Ok(usize::try_from(mtu).unwrap_or(0))
}

/// The hardware address of `ifname` (`SIOCGIFHWADDR`); fails with
/// [`DeviceError::NotEthernet`] unless it is an Ethernet interface.
pub(crate) fn query_hwaddr(ctl: BorrowedFd<'_>, ifname: &str) -> Result<MacAddr, DeviceError> {
    let mut ifr = ifreq_for(ifname)?;
    ifreq_ioctl(ctl, ioctl_request(libc::SIOCGIFHWADDR), &mut ifr).map_err(|e| {
        DeviceError::os(
            ifname,
            "reading the MAC address",
            "check that the interface still exists (`ip link`)",
            e,
        )
    })?;
    // SAFETY: SIOCGIFHWADDR succeeded, so the kernel stored a sockaddr in
    // this union member (and the struct was zeroed before).
    let hw = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    if hw.sa_family != libc::ARPHRD_ETHER {
        return Err(DeviceError::NotEthernet {
            ifname: ifname.to_owned(),
            hwtype: hw.sa_family,
        });
    }
    let mut mac = [0u8; 6];
    for (dst, src) in mac.iter_mut().zip(hw.sa_data) {
        *dst = src as u8;
    }
    Ok(mac)
}

/// Runs `send_once` (a `write`/`send` of a `len`-byte frame returning the
/// system call's result) until it is not interrupted by a signal, and turns
/// a partial send into an error.
pub(crate) fn send_whole(
    ifname: &str,
    len: usize,
    mut send_once: impl FnMut() -> isize,
) -> io::Result<()> {
    loop {
        return match usize::try_from(send_once()) {
            Ok(sent) if sent == len => Ok(()),
            Ok(sent) => Err(short_write(sent, len, ifname)),
            Err(_) => {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                Err(err)
            }
        };
    }
}
