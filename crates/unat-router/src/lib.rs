//! The parts of `unat-router`, the unat NAT gateway for Linux.
//!
//! A frame takes one path: a [`device`] receives it, the [`gateway`] hands
//! ARP to [`arp`] and IPv4 to the `unat` engine, and sends the result out
//! of the other device. [`config`] turns flags into a checked
//! configuration; [`stats`] counts everything, drops by reason.
//!
//! The binary `unat-router` (src/main.rs) wires these together; they are a
//! library so that tests can drive a [`gateway::Gateway`] over in-memory
//! devices ([`device::memory`]).
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

pub mod arp;
pub mod config;
pub mod device;
pub mod gateway;
pub mod stats;
