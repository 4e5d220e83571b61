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
    /// interface are never returned.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;

    /// Sends one complete Ethernet frame.
    fn send(&mut self, frame: &[u8]) -> io::Result<()>;

    /// A file descriptor that becomes readable when a frame is waiting, for
    /// `poll(2)`; `None` for devices that are not backed by the kernel.
    fn poll_fd(&self) -> Option<RawFd>;
}
