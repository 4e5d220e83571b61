//! The link-layer devices the router sends and receives Ethernet frames on.
//!
//! A [`Device`] is deliberately small: non-blocking receive of one frame,
//! send of one frame, and what the event loop needs to wait for readiness.
//! Backends: [`tap`] (a TAP interface the router creates), [`af_packet`] (an
//! existing interface such as a veth end, through an `AF_PACKET` socket) and
//! [`memory`] (in-process queues, for tests).

pub mod af_packet;
mod error;
pub mod memory;
mod sys;
pub mod tap;
#[cfg(test)]
mod test_support;

pub use error::DeviceError;

use std::io;
use std::os::fd::RawFd;

/// An Ethernet MAC address.
pub type MacAddr = [u8; 6];

/// One network interface that carries Ethernet frames.
pub trait Device {
    /// The interface name, for logs and errors.
    fn name(&self) -> &str;

    /// The MAC address the router uses as its own on this interface.
    fn mac(&self) -> MacAddr;

    /// The IP MTU of the link (1500 on a default Ethernet or veth).
    fn mtu(&self) -> usize;

    /// Receives one frame into `buf` without blocking.
    ///
    /// Returns `Ok(Some(len))` for a frame of `len` bytes, `Ok(None)` when no
    /// frame is waiting. A frame longer than `buf` is truncated to `buf.len()`
    /// and its real length is returned (so `len > buf.len()` tells the caller
    /// it was cut and must be dropped). Frames the host itself sent out on the
    /// interface are never returned. A frame that carried an 802.1Q/802.1ad
    /// tag on the wire is returned with the tag in place (ethertype `0x8100`
    /// or `0x88a8` at bytes 12..14), even where the kernel reports the tag
    /// out of band, so the caller can recognise and drop it.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;

    /// Sends one complete Ethernet frame.
    fn send(&mut self, frame: &[u8]) -> io::Result<()>;

    /// A file descriptor that becomes readable when a frame is waiting, for
    /// `poll(2)`; `None` for devices that are not backed by the kernel.
    fn poll_fd(&self) -> Option<RawFd>;

    /// Whether the frame returned by the last [`recv`](Device::recv) carries
    /// a *partial* checksum: its sender (the host itself, through a veth or
    /// similar, with TX checksum offload on) left the TCP/UDP checksum to
    /// hardware, so the checksum field holds only the pseudo-header sum and
    /// the frame fails verification although it is not corrupt. The router
    /// must not treat such a frame as damaged, nor patch its checksum
    /// incrementally and forward it as complete (turn offload off with
    /// `ethtool -K IF tx off`, or compute the checksum in full).
    ///
    /// `false` after a `recv` that returned no frame or an error, and for
    /// devices that cannot tell (the default); only meaningful until the next
    /// `recv`.
    fn last_rx_partial_checksum(&self) -> bool {
        false
    }

    /// The number of frames the kernel dropped for this device because the
    /// router did not read them fast enough, counted since the device was
    /// opened; `None` when the device cannot tell (the default) or the
    /// kernel refused the query.
    fn kernel_drops(&mut self) -> Option<u64> {
        None
    }
}
