//! NAT behaviour as RFC 4787, 5382, 5508 and 7857 describe it, made
//! configurable: mapping and filtering per protocol, idle timeouts with the
//! RFC floors, what to do when a table is full, per-host limits, and how
//! external ports are chosen.

use core::fmt;
use core::net::Ipv4Addr;
use core::time::Duration;

use crate::flow::Protocol;

/// When an inside endpoint keeps its external endpoint (RFC 4787 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mapping {
    /// One external endpoint per inside endpoint, whatever the destination
    /// (EIM; RFC 4787 REQ-1, RFC 5382 REQ-1). The default.
    EndpointIndependent,
    /// A new external endpoint per destination address.
    AddressDependent,
    /// A new external endpoint per destination address and port (what
    /// mirage-nat does; breaks peer-to-peer applications).
    AddressAndPortDependent,
}

/// Which outside hosts may send in through a mapping (RFC 4787 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Filtering {
    /// Anyone may (EIF).
    EndpointIndependent,
    /// Only addresses the inside endpoint has sent to (ADF). The default.
    AddressDependent,
    /// Only address and port pairs it has sent to (APDF).
    AddressAndPortDependent,
}

/// What to do when a table is full and no entry has expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WhenFull {
    /// Refuse the new flow; live entries are never evicted (RFC 6888
    /// REQ-11d). The default.
    Refuse,
    /// Evict the least recently used session (mirage-nat's behaviour).
    EvictLeastRecentlyUsed,
}

/// One value per protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PerProtocol<T> {
    /// For TCP.
    pub tcp: T,
    /// For UDP.
    pub udp: T,
    /// For ICMP queries.
    pub icmp: T,
}

impl<T: Copy> PerProtocol<T> {
    /// The same value for every protocol.
    pub const fn all(v: T) -> Self {
        PerProtocol {
            tcp: v,
            udp: v,
            icmp: v,
        }
    }

    /// The value for `proto`.
    pub fn get(&self, proto: Protocol) -> T {
        match proto {
            Protocol::Tcp => self.tcp,
            Protocol::Udp => self.udp,
            Protocol::Icmp => self.icmp,
        }
    }
}

/// Idle timeouts. Each has an RFC floor, checked by [`Config::validate`];
/// `Duration::MAX` means "never".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timeouts {
    /// UDP (RFC 4787 REQ-5: ≥ 120 s; REQ-5c recommends ≥ 300 s). Default 300 s.
    pub udp: Duration,
    /// TCP once established, also half-closed (RFC 5382 REQ-5: ≥ 7440 s).
    /// Default 7440 s.
    pub tcp_established: Duration,
    /// TCP while opening, and after an RST (RFC 5382 REQ-5, RFC 7857 §2.1:
    /// ≥ 240 s). Default 240 s.
    pub tcp_transitory: Duration,
    /// TCP once both sides sent FIN (≥ 240 s). Default 240 s.
    pub tcp_closing: Duration,
    /// ICMP query sessions (RFC 5508 REQ-2: ≥ 60 s). Default 60 s.
    pub icmp: Duration,
}

impl Timeouts {
    /// The RFC minimums.
    pub const FLOORS: Timeouts = Timeouts {
        udp: Duration::from_secs(120),
        tcp_established: Duration::from_secs(7440),
        tcp_transitory: Duration::from_secs(240),
        tcp_closing: Duration::from_secs(240),
        icmp: Duration::from_secs(60),
    };

    /// Nothing ever expires (mirage-nat's behaviour).
    pub const NEVER: Timeouts = Timeouts {
        udp: Duration::MAX,
        tcp_established: Duration::MAX,
        tcp_transitory: Duration::MAX,
        tcp_closing: Duration::MAX,
        icmp: Duration::MAX,
    };
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            udp: Duration::from_secs(300),
            ..Timeouts::FLOORS
        }
    }
}

/// How external ports (and ICMP identifiers) are chosen for new mappings.
/// Ports are always drawn at random (RFC 6056) from the inside port's
/// class: 1-1023 for inside ports below 1024, 1024-65535 otherwise (RFC
/// 4787 REQ-3a); port 0 is never used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortPolicy {
    /// Keep the inside port when it is free (randomise only on a clash,
    /// RFC 6056 §4). Default off.
    pub preserve: bool,
    /// Keep the port's parity (RFC 4787 REQ-4). Default off.
    pub parity: bool,
}

/// Everything that decides how the NAT behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// The address inside hosts' flows leave with; `0.0.0.0` for a NAT
    /// that only uses explicit rules ([`Nat::add`](crate::Nat::add)).
    pub external: Ipv4Addr,
    /// Mapping behaviour, per protocol. Default: endpoint-independent.
    pub mapping: PerProtocol<Mapping>,
    /// Filtering behaviour, per protocol. Default: address-dependent.
    pub filtering: PerProtocol<Filtering>,
    /// Idle timeouts.
    pub timeouts: Timeouts,
    /// Whether inbound UDP and ICMP packets refresh their session (RFC 4787
    /// REQ-6a). TCP sessions follow the connection's state both ways.
    /// Default off.
    pub inbound_refresh: bool,
    /// What to do when a table is full of live sessions.
    pub when_full: WhenFull,
    /// At most this many mappings per inside host, per protocol (RFC 6888
    /// REQ-4); `None` for no limit. Default 4096 TCP, 4096 UDP, 256 ICMP.
    pub per_host_limit: PerProtocol<Option<u32>>,
    /// At most this many sessions per mapping, whichever side starts them
    /// (RFC 6888 REQ-5), so that no single mapping (and no outside host
    /// sending to it) fills a table; `None` for no limit. Default 4096.
    pub per_mapping_sessions: Option<u32>,
    /// External port choice.
    pub ports: PortPolicy,
    /// Whether [`Config::validate`] holds the timeouts to the RFC floors.
    /// Turn off only for tests and labs that need short timers.
    pub enforce_floors: bool,
}

impl Config {
    /// The RFC-grade defaults, with `external` as the public address.
    pub fn new(external: Ipv4Addr) -> Self {
        Config {
            external,
            mapping: PerProtocol::all(Mapping::EndpointIndependent),
            filtering: PerProtocol::all(Filtering::AddressDependent),
            timeouts: Timeouts::default(),
            inbound_refresh: false,
            when_full: WhenFull::Refuse,
            per_host_limit: PerProtocol {
                tcp: Some(4096),
                udp: Some(4096),
                icmp: Some(256),
            },
            per_mapping_sessions: Some(4096),
            ports: PortPolicy::default(),
            enforce_floors: true,
        }
    }

    /// mirage-nat's behaviour: no dynamic mappings (rules come only from
    /// [`Nat::add`](crate::Nat::add)), no expiry, least recently used
    /// sessions evicted when a table is full.
    pub fn original() -> Self {
        Config {
            external: Ipv4Addr::UNSPECIFIED,
            mapping: PerProtocol::all(Mapping::AddressAndPortDependent),
            filtering: PerProtocol::all(Filtering::AddressAndPortDependent),
            timeouts: Timeouts::NEVER,
            inbound_refresh: false,
            when_full: WhenFull::EvictLeastRecentlyUsed,
            per_host_limit: PerProtocol::all(None),
            per_mapping_sessions: None,
            ports: PortPolicy::default(),
            enforce_floors: true,
        }
    }

    /// Checks the timeouts against the RFC floors (unless
    /// [`Config::enforce_floors`] is off; a zero timeout is refused anyway)
    /// and the limits against 0.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.timeouts;
        let f = Timeouts::FLOORS;
        for (name, value, floor) in [
            ("udp timeout", t.udp, f.udp),
            (
                "tcp established timeout",
                t.tcp_established,
                f.tcp_established,
            ),
            ("tcp transitory timeout", t.tcp_transitory, f.tcp_transitory),
            ("tcp closing timeout", t.tcp_closing, f.tcp_closing),
            ("icmp timeout", t.icmp, f.icmp),
        ] {
            if value.is_zero() {
                return Err(ConfigError::BelowFloor {
                    name,
                    value,
                    floor: Duration::from_secs(1),
                });
            }
            if self.enforce_floors && value < floor {
                return Err(ConfigError::BelowFloor { name, value, floor });
            }
        }
        for proto in Protocol::ALL {
            if self.per_host_limit.get(proto) == Some(0) {
                return Err(ConfigError::ZeroLimit(proto));
            }
        }
        if self.per_mapping_sessions == Some(0) {
            return Err(ConfigError::ZeroLimit(Protocol::Udp));
        }
        Ok(())
    }

    /// The idle timeout of a UDP or ICMP session.
    pub(crate) fn datagram_timeout(&self, proto: Protocol) -> Duration {
        match proto {
            Protocol::Icmp => self.timeouts.icmp,
            _ => self.timeouts.udp,
        }
    }
}

/// A configuration value the NAT refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// A timeout below its RFC floor.
    BelowFloor {
        /// Which timeout.
        name: &'static str,
        /// The value given.
        value: Duration,
        /// The RFC minimum.
        floor: Duration,
    },
    /// A per-host limit of 0 would refuse every flow.
    ZeroLimit(Protocol),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BelowFloor { name, value, floor } => write!(
                f,
                "{name} {} s is below the RFC minimum of {} s",
                value.as_secs(),
                floor.as_secs()
            ),
            ConfigError::ZeroLimit(p) => write!(f, "a per-host {p} limit of 0 refuses every flow"),
        }
    }
}

impl core::error::Error for ConfigError {}
