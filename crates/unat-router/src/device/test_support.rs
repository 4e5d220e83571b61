//! Helpers for the device tests that need root: a throw-away network
//! namespace, and a way to wait for a frame on a device.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::device::Device;

static NEXT_NS: AtomicUsize = AtomicUsize::new(0);

/// A network namespace `unatdev-<pid>-<n>`, deleted on drop.
pub(crate) struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates a fresh namespace, or returns `None` (after printing a
    /// note) when not root and `UNAT_SKIP_E2E=1`. Panics with an
    /// explanation when not root otherwise.
    pub(crate) fn create(test: &str) -> Option<NetNs> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            if std::env::var("UNAT_SKIP_E2E").is_ok_and(|v| v == "1") {
                eprintln!("note: skipping {test}: it needs root and UNAT_SKIP_E2E=1 is set");
                return None;
            }
            panic!(
                "{test} needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN) to create a \
                 network namespace and interfaces in it; run the tests as root, or set \
                 UNAT_SKIP_E2E=1 to skip them"
            );
        }
        let name = format!(
            "unatdev-{}-{}",
            std::process::id(),
            NEXT_NS.fetch_add(1, Ordering::Relaxed)
        );
        run(&["ip", "netns", "add", &name]);
        Some(NetNs { name })
    }

    /// The namespace's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <ns> <args>`, panicking on failure; returns stdout.
    pub(crate) fn ip(&self, args: &[&str]) -> String {
        let mut argv = vec!["ip", "-n", self.name.as_str()];
        argv.extend_from_slice(args);
        run(&argv)
    }

    /// Runs `ip netns exec <ns> <argv>`, panicking on failure.
    pub(crate) fn exec(&self, argv: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", self.name.as_str()];
        full.extend_from_slice(argv);
        run(&full)
    }

    /// Runs `f` on a new thread that has joined this namespace (the
    /// calling thread stays where it is); panics in `f` propagate.
    pub(crate) fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| {
                let path = format!("/var/run/netns/{}", self.name);
                let ns = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                // SAFETY: `ns` is an open namespace file; setns only
                // affects the calling (test-owned) thread.
                let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(
                    rc,
                    0,
                    "setns into {}: {}",
                    self.name,
                    std::io::Error::last_os_error()
                );
                f()
            });
            match handle.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let status = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("warning: could not delete network namespace {}", self.name);
        }
    }
}

/// Runs a command, panicking with its stderr if it fails; returns stdout.
pub(crate) fn run(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?} (is iproute2 installed?): {e}"));
    assert!(
        out.status.success(),
        "{argv:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Receives frames from `dev` until one satisfies `pred` (which sees the
/// possibly truncated bytes and the real length) or `timeout` passes.
pub(crate) fn wait_for(
    dev: &mut dyn Device,
    buf_len: usize,
    timeout: Duration,
    mut pred: impl FnMut(&[u8], usize) -> bool,
) -> Option<(Vec<u8>, usize)> {
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; buf_len];
    loop {
        while let Some(len) = dev.recv(&mut buf).unwrap() {
            let got = &buf[..len.min(buf.len())];
            if pred(got, len) {
                return Some((got.to_vec(), len));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let mut pfd = libc::pollfd {
            fd: dev.poll_fd().unwrap(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(left.as_millis())
            .unwrap_or(1000)
            .max(1);
        // SAFETY: `pfd` is one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, ms) };
    }
}

/// Sends a UDP datagram from inside the current namespace, which makes
/// the kernel resolve `dst` with ARP on the connected interface.
pub(crate) fn kernel_udp(dst: &str, payload: &[u8]) {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    sock.send_to(payload, dst).unwrap();
}

/// Whether `frame` is an ARP request (any sender) asking for `target`.
pub(crate) fn is_arp_request_for(frame: &[u8], target: [u8; 4]) -> bool {
    frame.len() >= 42
        && frame[12..14] == [0x08, 0x06]
        && frame[20..22] == [0, 1]
        && frame[38..42] == target
}
