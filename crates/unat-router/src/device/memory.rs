//! An in-process [`Device`] backed by queues, for tests.
//!
//! [`MemoryDevice`] owns nothing in the kernel: a test holds the matching
//! [`MemoryLink`] handle, injects frames for the device to receive and takes
//! the frames the device sent. The queues sit behind an `Arc<Mutex<..>>`, so
//! both the device and the link are `Send` and the link is cheap to clone.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Device, MacAddr};

/// Length of an Ethernet header (destination, source, EtherType).
const ETH_HEADER_LEN: usize = 14;

/// The frames in flight between a [`MemoryDevice`] and its [`MemoryLink`]s.
#[derive(Debug, Default)]
struct Queues {
    /// Frames injected by the test, waiting for the device to receive them.
    rx: VecDeque<Vec<u8>>,
    /// Frames the device sent, waiting for the test to take them.
    tx: Vec<Vec<u8>>,
}

/// A [`Device`] whose frames come from and go to in-process queues.
///
/// Like a real link, [`Device::send`] refuses a frame longer than the MTU
/// plus the 14-byte Ethernet header (with [`io::ErrorKind::InvalidInput`]);
/// such a frame is not recorded.
#[derive(Debug)]
pub struct MemoryDevice {
    name: String,
    mac: MacAddr,
    mtu: usize,
    link: MemoryLink,
}

/// The test's side of a [`MemoryDevice`]: inject frames, collect sent frames.
///
/// Clones share the same queues.
#[derive(Debug, Clone, Default)]
pub struct MemoryLink {
    queues: Arc<Mutex<Queues>>,
}

impl MemoryDevice {
    /// Creates a device called `name` with the router-side MAC `mac` and the
    /// IP MTU `mtu`, and returns it with the handle that feeds and drains it.
    pub fn new(name: impl Into<String>, mac: MacAddr, mtu: usize) -> (MemoryDevice, MemoryLink) {
        let link = MemoryLink::default();
        let device = MemoryDevice {
            name: name.into(),
            mac,
            mtu,
            link: link.clone(),
        };
        (device, link)
    }

    /// Another handle on this device's queues.
    pub fn link(&self) -> MemoryLink {
        self.link.clone()
    }
}

impl MemoryLink {
    /// Locks the queues; a panic in another holder does not poison them for
    /// the rest of the test.
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `frame` to be returned by a later [`Device::recv`] on the device
    /// (first in, first out).
    pub fn inject(&self, frame: impl Into<Vec<u8>>) {
        self.lock().rx.push_back(frame.into());
    }

    /// Removes and returns every frame the device has sent so far, oldest
    /// first.
    pub fn take_sent(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.lock().tx)
    }

    /// How many injected frames the device has not received yet.
    pub fn pending_rx(&self) -> usize {
        self.lock().rx.len()
    }
}

impl Device for MemoryDevice {
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
        let Some(frame) = self.link.lock().rx.pop_front() else {
            return Ok(None);
        };
        // Copies min(buf.len(), frame.len()) bytes; the real length is
        // returned so the caller can see a truncation.
        buf.iter_mut()
            .zip(&frame)
            .for_each(|(dst, src)| *dst = *src);
        Ok(Some(frame.len()))
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let limit = self.mtu.saturating_add(ETH_HEADER_LEN);
        if frame.len() > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "frame of {} bytes is longer than the MTU {} of {} allows ({limit} bytes)",
                    frame.len(),
                    self.mtu,
                    self.name
                ),
            ));
        }
        self.link.lock().tx.push(frame.to_vec());
        Ok(())
    }

    fn poll_fd(&self) -> Option<RawFd> {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const MAC: MacAddr = [0x02, 0, 0, 0, 0, 1];

    #[test]
    fn reports_identity() {
        let (dev, _link) = MemoryDevice::new("mem0", MAC, 1500);
        assert_eq!(dev.name(), "mem0");
        assert_eq!(dev.mac(), MAC);
        assert_eq!(dev.mtu(), 1500);
        assert_eq!(dev.poll_fd(), None);
    }

    #[test]
    fn recv_returns_injected_frames_in_order() {
        let (mut dev, link) = MemoryDevice::new("mem0", MAC, 1500);
        let mut buf = [0u8; 64];
        assert_eq!(dev.recv(&mut buf).unwrap(), None);

        link.inject(vec![1, 2, 3]);
        link.inject(&[4u8, 5][..]);
        assert_eq!(link.pending_rx(), 2);

        assert_eq!(dev.recv(&mut buf).unwrap(), Some(3));
        assert_eq!(&buf[..3], &[1, 2, 3]);
        assert_eq!(dev.recv(&mut buf).unwrap(), Some(2));
        assert_eq!(&buf[..2], &[4, 5]);
        assert_eq!(dev.recv(&mut buf).unwrap(), None);
        assert_eq!(link.pending_rx(), 0);
    }

    #[test]
    fn recv_truncates_and_reports_real_length() {
        let (mut dev, link) = MemoryDevice::new("mem0", MAC, 1500);
        let frame: Vec<u8> = (0..100).collect();
        link.inject(frame.clone());
        let mut buf = [0xffu8; 10];
        assert_eq!(dev.recv(&mut buf).unwrap(), Some(100));
        assert_eq!(&buf[..], &frame[..10]);

        // An empty buffer still consumes the frame and reports its length.
        link.inject(frame);
        assert_eq!(dev.recv(&mut []).unwrap(), Some(100));
        assert_eq!(link.pending_rx(), 0);
    }

    #[test]
    fn sent_frames_are_taken_once() {
        let (mut dev, link) = MemoryDevice::new("mem0", MAC, 1500);
        dev.send(&[1, 2]).unwrap();
        dev.send(&[3]).unwrap();
        assert_eq!(link.take_sent(), vec![vec![1, 2], vec![3]]);
        assert!(link.take_sent().is_empty());
    }

    #[test]
    fn send_refuses_frames_over_mtu() {
        let (mut dev, link) = MemoryDevice::new("mem0", MAC, 100);
        dev.send(&[0u8; 114]).unwrap();
        let err = dev.send(&[0u8; 115]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("mem0"), "{err}");
        assert_eq!(link.take_sent().len(), 1);
    }

    #[test]
    fn links_are_shared_and_send() {
        fn assert_send<T: Send>() {}
        assert_send::<MemoryDevice>();
        assert_send::<MemoryLink>();

        let (mut dev, link) = MemoryDevice::new("mem0", MAC, 1500);
        let other = dev.link();
        std::thread::spawn(move || other.inject(vec![9u8; 20]))
            .join()
            .unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(dev.recv(&mut buf).unwrap(), Some(20));
        dev.send(&[7]).unwrap();
        assert_eq!(link.clone().take_sent(), vec![vec![7]]);
    }
}
