//! A test bench that runs `unat-router` in a real network built from Linux
//! network namespaces, sends real traffic through it and reports a
//! PASS/FAIL [`Check`] per behaviour.
//!
//! # Topology
//!
//! ```text
//!  CLIENT ns                ROUTER ns                     HOP ns                      SERVER ns
//!  eth0 10.0.0.2/24 ── priv0 [unat-router] pub0 ── in0 198.18.0.1/24              eth0 198.18.1.2/24
//!  gw 10.0.0.1              (no kernel addresses)         out0 198.18.1.1/24 ──────── gw 198.18.1.1
//!  http :80, udp echo :5353                               ip_forward=1                http :8080, udp echo :7777
//! ```
//!
//! The router owns 10.0.0.1 (private) and 198.18.0.2 (public) in user space;
//! it forwards public ports tcp:8080 and udp:5353 to the client. With
//! [`Backend::Tap`] the client–router veth pair is replaced by a TAP device
//! that the router creates and the lab then moves into the client namespace.
//!
//! With [`LabConfig::private_hosts`] = 2, a second private host CLIENT2
//! (10.0.0.3, HTTP server :80) shares the private link: the router's
//! `priv0`, CLIENT's and CLIENT2's `eth0` are veths to a bridge `br0` in a
//! LAN namespace, and the TCP forward 8080 goes to CLIENT2:80. This is the
//! lab of the hairpinning checks ([`Lab::check_hairpin_forward`],
//! [`Lab::check_udp_hairpin`]).
//!
//! [`Lab::start_two_nats`] builds the hole-punching lab instead: PEER1
//! (CLIENT ns, 10.0.0.2) behind ROUTER (198.18.0.2) and PEER2 (10.1.0.2)
//! behind ROUTER2 (198.18.0.3), whose public sides share a bridge in the
//! HOP namespace with the RENDEZVOUS server (198.18.0.100, udp :3478); see
//! [`Lab::check_hole_punching`]. The python scripts the lab runs
//! (rendezvous server, hole-punching peer, UDP/TCP helpers) are embedded
//! in the crate and written into the lab's temp dir.
//!
//! Fragmentation and path MTU discovery have their own checks
//! ([`Lab::check_big_ping`], [`Lab::check_big_udp`] and, in a lab built
//! with [`LabConfig::public_mtu`] = `Some(1280)`, [`Lab::check_pmtu`]).
//!
//! Every name is unique per [`Lab`] (namespaces are called
//! `unat-<pid>-<n>-<role>`), so labs can run in parallel. Traffic stays
//! inside the namespaces and only uses 10.0.0.0/23 and 198.18.0.0/15;
//! every command is bounded in count and time. Dropping a [`Lab`] (also
//! while unwinding from a panic) kills every process it started and
//! deletes its namespaces, `/etc/netns/<name>` directories and temp dir.
//!
//! # Example
//!
//! ```no_run
//! use unat_lab::{Lab, LabConfig};
//!
//! let lab = Lab::start(LabConfig::new("/path/to/unat-router"))?;
//! for check in lab.run_all_checks() {
//!     println!("{} {}: {}", if check.passed { "PASS" } else { "FAIL" }, check.name, check.detail);
//! }
//! # Ok::<(), unat_lab::LabError>(())
//! ```
//!
//! Everything here needs root (namespaces, veths, raw sockets) and the
//! tools `ip`, `ping`, `curl`, `traceroute`, `ethtool`, `socat`, `ss`,
//! `sysctl` and `/usr/bin/python3` (and `iperf3` for
//! [`Lab::measure_throughput`], `tracepath` for [`Lab::check_pmtu`]). In tests, start with
//! `if !unat_lab::can_run_or_skip() { return; }` (see [`can_run_or_skip`]).

mod checks;
mod cmd;
mod error;
mod fragments;
mod json;
mod netns;
pub mod raw;
mod rfc;
mod stats;
mod throughput;
mod topology;

#[cfg(test)]
mod tests;

pub use checks::Check;
pub use cmd::CmdOutput;
pub use error::LabError;
pub use netns::remove_stale_labs;
pub use rfc::{HolePunch, PeerReport};
pub use stats::drop_total;
pub use throughput::Rate;
pub use topology::{
    addr, can_run_or_skip, port, preflight, Backend, Lab, LabConfig, Layout, Role, RouterStopped,
};
