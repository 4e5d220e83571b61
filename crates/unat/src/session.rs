//! Sessions: one flow through the NAT, both directions, with the state
//! that decides how long it lives (RFC 7857 §2's TCP tracking, idle
//! timers).
//!
//! A session is a key (the flow as its first packet arrived) and its
//! translation (that packet as it left). Replies are the reversed
//! translation, translated to the reversed key: one session answers both
//! directions, so a NAT rule of mirage-nat (a request/reply pair of table
//! entries) is exactly one session.

use core::time::Duration;

use crate::flow::{Endpoint, FlowKey};
use crate::policy::Config;
use crate::time::Instant;
use crate::wire::tcp::flags;

/// Where a session's first packet came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// An explicit rule ([`Nat::add`](crate::Nat::add)); no direction known.
    Rule,
    /// An inside host (source NAT); its key goes inside to outside.
    Inside,
    /// An outside host, let in by a mapping's filter or a port forward.
    Outside,
    /// An inside host reaching another through the external address.
    Hairpin,
}

impl Origin {
    /// Whether a packet matching the session's key (as opposed to its
    /// reversed translation) comes from inside.
    pub fn key_is_inside(self) -> bool {
        matches!(self, Origin::Rule | Origin::Inside | Origin::Hairpin)
    }

    /// Whether a packet matching the reversed translation comes from inside.
    pub fn reply_is_inside(self) -> bool {
        matches!(self, Origin::Outside | Origin::Hairpin)
    }
}

/// What a TCP session has seen, each way (RFC 7857 §2, simplified from
/// RFC 6146: INIT, ESTABLISHED, FIN from either side, both FINs, RST).
/// For a hairpinned session, whose ends are both inside, "inside" is the
/// end that opened it and "outside" the other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpTrack {
    /// A SYN from the inside.
    pub syn_in: bool,
    /// A SYN from the outside.
    pub syn_out: bool,
    /// A FIN from the inside.
    pub fin_in: bool,
    /// A FIN from the outside.
    pub fin_out: bool,
    /// An RST, with nothing but RSTs since.
    pub reset: bool,
}

/// The phase of a TCP session, which picks its idle timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TcpPhase {
    /// A SYN from one side only (or a connection picked up mid-way).
    Opening,
    /// SYNs both ways; also with a FIN from one side (half-closed).
    Established,
    /// FINs both ways.
    Closing,
    /// An RST was seen: kept for the transitory time in case it was stray.
    Reset,
}

impl TcpTrack {
    /// Takes in a segment's flags; `from_inside` says which way it went.
    pub fn update(&mut self, tcp_flags: u8, from_inside: bool) {
        if tcp_flags & flags::RST != 0 {
            self.reset = true;
            return;
        }
        self.reset = false;
        if tcp_flags & flags::SYN != 0 {
            if from_inside {
                self.syn_in = true;
            } else {
                self.syn_out = true;
            }
        }
        if tcp_flags & flags::FIN != 0 {
            if from_inside {
                self.fin_in = true;
            } else {
                self.fin_out = true;
            }
        }
    }

    /// The phase this adds up to.
    pub fn phase(&self) -> TcpPhase {
        if self.reset {
            TcpPhase::Reset
        } else if self.fin_in && self.fin_out {
            TcpPhase::Closing
        } else if self.syn_in && self.syn_out {
            TcpPhase::Established
        } else {
            TcpPhase::Opening
        }
    }

    /// The idle timeout of the current phase.
    pub fn timeout(&self, config: &Config) -> Duration {
        let t = &config.timeouts;
        match self.phase() {
            TcpPhase::Opening | TcpPhase::Reset => t.tcp_transitory,
            TcpPhase::Established => t.tcp_established,
            TcpPhase::Closing => t.tcp_closing,
        }
    }
}

/// A session's bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionState {
    /// Where its first packet came from.
    pub origin: Origin,
    /// When it ends unless refreshed.
    pub expires: Instant,
    /// For TCP, what the connection has shown.
    pub tcp: TcpTrack,
    /// The external endpoint of the mapping it belongs to (dynamic or
    /// static), for sessions the policy made; `None` for explicit rules.
    pub mapping: Option<Endpoint>,
    /// For hairpin sessions, the external endpoint of the mapping of the
    /// destination host (which counts this session too).
    pub peer_mapping: Option<Endpoint>,
}

/// One flow through the NAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Session {
    /// The flow as its first packet arrived.
    pub key: FlowKey,
    /// That packet's flow once translated.
    pub xl: FlowKey,
    /// Bookkeeping.
    pub state: SessionState,
}

impl Session {
    /// The key that replies arrive with: the reversed translation.
    pub fn reply_key(&self) -> FlowKey {
        self.xl.reversed()
    }
}
