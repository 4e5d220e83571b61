//! The router's configuration: command-line flags, their parsing, and the
//! checks that turn them into a [`Config`] or an error naming the bad value.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::Parser;
use unat::{Endpoint, Protocol};

/// Command-line flags of `unat-router`.
#[derive(Debug, Parser)]
#[command(
    name = "unat-router",
    version,
    about = "A NAT gateway between a private and a public Ethernet interface",
    long_about = "A NAT gateway between a private and a public Ethernet interface.\n\n\
        Hosts on the private side reach the public side through the router's public \
        address (source NAT); public hosts reach private services only through \
        --forward rules (destination NAT). The router answers ARP and ping for its \
        own addresses. Each interface is either an existing one the router attaches \
        to with an AF_PACKET socket (it should have no kernel IP address, and its \
        offloads should be off: ethtool -K IF tx off tso off gso off gro off) or a \
        TAP device the router creates. Needs CAP_NET_RAW and CAP_NET_ADMIN (root).\n\n\
        Example:\n  unat-router --private-if packet:veth1 --private-addr 10.0.0.1/24 \\\n    \
        --public-if packet:veth2 --public-addr 198.18.0.2/24 --public-gateway 198.18.0.1 \\\n    \
        --forward tcp:8080=10.0.0.2:80"
)]
pub struct Cli {
    /// Private-side interface: `packet:IFNAME` (an existing interface) or
    /// `tap:NAME` (a TAP device to create); a bare name means `packet:`.
    #[arg(long, value_name = "DEV")]
    pub private_if: DeviceSpec,

    /// The router's address and prefix on the private side.
    #[arg(long, value_name = "ADDR/LEN")]
    pub private_addr: Cidr,

    /// Public-side interface, as for --private-if.
    #[arg(long, value_name = "DEV")]
    pub public_if: DeviceSpec,

    /// The router's address and prefix on the public side; private hosts'
    /// traffic leaves with this source address.
    #[arg(long, value_name = "ADDR/LEN")]
    pub public_addr: Cidr,

    /// Next hop for public destinations outside the public prefix.
    #[arg(long, value_name = "ADDR")]
    pub public_gateway: Option<Ipv4Addr>,

    /// Port forward `PROTO:PORT=ADDR:PORT`: traffic to the public address's
    /// PORT goes to the private ADDR:PORT, which sees the real client
    /// (repeatable; PROTO is tcp or udp).
    #[arg(long = "forward", value_name = "PROTO:PORT=ADDR:PORT")]
    pub forwards: Vec<Forward>,

    /// Sessions in the TCP table (one per connection).
    #[arg(long, value_name = "N", default_value_t = 16384)]
    pub tcp_table: usize,

    /// Sessions in the UDP table (one per flow).
    #[arg(long, value_name = "N", default_value_t = 16384)]
    pub udp_table: usize,

    /// Sessions in the ICMP query table (one per query identifier and peer).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub icmp_table: usize,

    /// Mapping behaviour (RFC 4787): `eim` endpoint-independent (one public
    /// port per private endpoint, whatever the destination), `adm`
    /// address-dependent, `apdm` address-and-port-dependent (mirage-nat's).
    #[arg(long, value_name = "KIND", default_value = "eim", value_parser = ["eim", "adm", "apdm"])]
    pub mapping: String,

    /// Filtering behaviour for UDP and ICMP (RFC 4787): `eif` anyone may
    /// send in through a mapping, `adf` only hosts the private endpoint
    /// sent to, `apdf` only the exact host and port.
    #[arg(long, value_name = "KIND", default_value = "adf", value_parser = ["eif", "adf", "apdf"])]
    pub filtering: String,

    /// Filtering behaviour for TCP (RFC 5382 REQ-3b); default: --filtering.
    #[arg(long, value_name = "KIND", value_parser = ["eif", "adf", "apdf"])]
    pub tcp_filtering: Option<String>,

    /// UDP idle timeout in seconds (RFC 4787: at least 120).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub udp_timeout: u64,

    /// TCP established idle timeout in seconds (RFC 5382: at least 7440).
    #[arg(long, value_name = "SECS", default_value_t = 7440)]
    pub tcp_established_timeout: u64,

    /// TCP opening (and after RST) idle timeout in seconds (at least 240).
    #[arg(long, value_name = "SECS", default_value_t = 240)]
    pub tcp_transitory_timeout: u64,

    /// TCP closing (both FINs seen) idle timeout in seconds (at least 240).
    #[arg(long, value_name = "SECS", default_value_t = 240)]
    pub tcp_closing_timeout: u64,

    /// ICMP query idle timeout in seconds (RFC 5508: at least 60).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub icmp_timeout: u64,

    /// Accept timeouts below the RFC minimums (for tests and labs only).
    #[arg(long)]
    pub allow_short_timeouts: bool,

    /// Let inbound UDP and ICMP packets refresh their session (RFC 4787
    /// REQ-6a); by default only outbound ones do.
    #[arg(long)]
    pub inbound_refresh: bool,

    /// When a table is full of live sessions: `refuse` new flows (RFC 6888
    /// REQ-11d) or `evict-lru` the least recently used (mirage-nat's).
    #[arg(long, value_name = "POLICY", default_value = "refuse", value_parser = ["refuse", "evict-lru"])]
    pub when_full: String,

    /// TCP mappings one private host may hold (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub per_host_tcp: u32,

    /// UDP mappings one private host may hold (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub per_host_udp: u32,

    /// ICMP query mappings one private host may hold (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub per_host_icmp: u32,

    /// Sessions one mapping may hold, whoever starts them (RFC 6888 REQ-5),
    /// so no outside host can fill a table through one mapping (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub per_mapping_sessions: u32,

    /// Keep a private source port as the public port when it is free.
    #[arg(long)]
    pub port_preservation: bool,

    /// Keep the parity of private source ports (RFC 4787 REQ-4).
    #[arg(long)]
    pub port_parity: bool,

    /// ICMP errors (Time Exceeded, Fragmentation Needed) the router may
    /// send per second in all; each destination also gets at most 10 a
    /// second. 0 sends none (RFC 5508 REQ-9, REQ-10f).
    #[arg(long, value_name = "N", default_value_t = crate::gateway::DEFAULT_ICMP_ERRORS_PER_SEC)]
    pub icmp_errors_per_sec: u32,

    /// Write the counters to FILE, one `name value` per line, every second
    /// and at exit.
    #[arg(long, value_name = "FILE")]
    pub stats_file: Option<PathBuf>,

    /// Log level: off, error, warn, info, debug or trace, or tracing
    /// directives such as `info,unat_router::gateway=debug`. Without this
    /// flag, RUST_LOG is used if set, else `info`.
    #[arg(long, value_name = "LEVEL", value_parser = parse_log_level)]
    pub log_level: Option<String>,
}

/// How to reach an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    /// An existing interface, through an AF_PACKET socket.
    Packet(String),
    /// A TAP device the router creates.
    Tap(String),
}

impl FromStr for DeviceSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, name) = match s.split_once(':') {
            Some((k, n)) => (k, n),
            None => ("packet", s),
        };
        if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', ':']) {
            return Err(format!(
                "`{s}`: interface name `{name}` must be 1 to 15 characters without '/', ':' or spaces"
            ));
        }
        match kind {
            "packet" => Ok(DeviceSpec::Packet(name.to_owned())),
            "tap" => Ok(DeviceSpec::Tap(name.to_owned())),
            other => Err(format!(
                "`{s}`: unknown device kind `{other}` (use packet: or tap:)"
            )),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Packet(n) => write!(f, "packet:{n}"),
            DeviceSpec::Tap(n) => write!(f, "tap:{n}"),
        }
    }
}

/// An address with a prefix length, such as `10.0.0.1/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// The address.
    pub addr: Ipv4Addr,
    /// The prefix length, 0 to 32.
    pub prefix: u8,
}

impl Cidr {
    /// The network mask.
    pub fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    /// Whether `a` is in this prefix.
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// Whether the two prefixes share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// The directed broadcast address of the prefix.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// The network address of the prefix.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// Whether `a` is a host of the prefix: in it, and neither its network
    /// nor its broadcast address (for prefixes up to /30).
    pub fn is_host(&self, a: Ipv4Addr) -> bool {
        self.contains(a) && (self.prefix > 30 || (a != self.network() && a != self.broadcast()))
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not ADDR/LEN (for example 10.0.0.1/24)"))?;
        let addr = a
            .parse()
            .map_err(|_| format!("`{a}` in `{s}` is not an IPv4 address"))?;
        let prefix = p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("`{p}` in `{s}` is not a prefix length from 0 to 32"))?;
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A port forward: `proto` traffic to the public `port` goes to `target`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forward {
    /// TCP or UDP.
    pub proto: Protocol,
    /// The public port.
    pub port: u16,
    /// The private endpoint.
    pub target: Endpoint,
}

impl FromStr for Forward {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("`{s}` is not PROTO:PORT=ADDR:PORT (for example tcp:8080=10.0.0.5:80)");
        let (public, private) = s.split_once('=').ok_or_else(bad)?;
        let (proto, port) = public.split_once(':').ok_or_else(bad)?;
        let proto = match proto {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            p => return Err(format!("`{p}` in `{s}`: only tcp and udp can be forwarded")),
        };
        let port = parse_port(port, s)?;
        let (addr, tport) = private.rsplit_once(':').ok_or_else(bad)?;
        let addr = addr
            .parse()
            .map_err(|_| format!("`{addr}` in `{s}` is not an IPv4 address"))?;
        let tport = parse_port(tport, s)?;
        Ok(Forward {
            proto,
            port,
            target: Endpoint::new(addr, tport),
        })
    }
}

/// Accepts a plain level, or directives (each `target=level` or a level),
/// so that a typo such as `inf` is an error rather than a filter that
/// silently matches nothing.
fn parse_log_level(s: &str) -> Result<String, String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let ok = !s.is_empty()
        && s.split(',').all(|d| {
            let level = d.rsplit_once('=').map_or(d, |(_, l)| l);
            LEVELS.contains(&level.to_ascii_lowercase().as_str())
        });
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` is not a log level (off, error, warn, info, debug, trace) or TARGET=LEVEL list"
        ))
    }
}

/// The engine's configuration from the behaviour flags.
fn nat_config(cli: &Cli) -> Result<unat::Config, String> {
    use std::time::Duration;
    use unat::{Filtering, Mapping, PerProtocol, WhenFull};
    let filtering = |s: &str| match s {
        "eif" => Filtering::EndpointIndependent,
        "apdf" => Filtering::AddressAndPortDependent,
        _ => Filtering::AddressDependent,
    };
    let limit = |n: u32| (n != 0).then_some(n);
    let mut c = unat::Config::new(cli.public_addr.addr);
    c.mapping = PerProtocol::all(match cli.mapping.as_str() {
        "adm" => Mapping::AddressDependent,
        "apdm" => Mapping::AddressAndPortDependent,
        _ => Mapping::EndpointIndependent,
    });
    c.filtering = PerProtocol::all(filtering(&cli.filtering));
    if let Some(tcp) = &cli.tcp_filtering {
        c.filtering.tcp = filtering(tcp);
    }
    c.timeouts = unat::Timeouts {
        udp: Duration::from_secs(cli.udp_timeout),
        tcp_established: Duration::from_secs(cli.tcp_established_timeout),
        tcp_transitory: Duration::from_secs(cli.tcp_transitory_timeout),
        tcp_closing: Duration::from_secs(cli.tcp_closing_timeout),
        icmp: Duration::from_secs(cli.icmp_timeout),
    };
    c.enforce_floors = !cli.allow_short_timeouts;
    c.inbound_refresh = cli.inbound_refresh;
    c.when_full = match cli.when_full.as_str() {
        "evict-lru" => WhenFull::EvictLeastRecentlyUsed,
        _ => WhenFull::Refuse,
    };
    c.per_host_limit = PerProtocol {
        tcp: limit(cli.per_host_tcp),
        udp: limit(cli.per_host_udp),
        icmp: limit(cli.per_host_icmp),
    };
    c.per_mapping_sessions = limit(cli.per_mapping_sessions);
    c.ports.preserve = cli.port_preservation;
    c.ports.parity = cli.port_parity;
    c.validate().map_err(|e| {
        if let unat::ConfigError::BelowFloor { name, value, .. } = e {
            if value.is_zero() {
                return format!(
                    "--{}: a timeout of 0 s would end every session at once",
                    name.replace(' ', "-")
                );
            }
        }
        let flag = match e {
            unat::ConfigError::BelowFloor { name, .. } => match name {
                "udp timeout" => "--udp-timeout",
                "tcp established timeout" => "--tcp-established-timeout",
                "tcp transitory timeout" => "--tcp-transitory-timeout",
                "tcp closing timeout" => "--tcp-closing-timeout",
                _ => "--icmp-timeout",
            },
            _ => "--per-host-*",
        };
        format!("{flag}: {e} (--allow-short-timeouts lifts the RFC minimums, for tests)")
    })?;
    Ok(c)
}

fn parse_port(p: &str, whole: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("`{p}` in `{whole}` is not a port from 1 to 65535"))
}

/// A checked configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Private-side interface.
    pub private_if: DeviceSpec,
    /// Router address and prefix on the private side.
    pub private: Cidr,
    /// Public-side interface.
    pub public_if: DeviceSpec,
    /// Router address and prefix on the public side.
    pub public: Cidr,
    /// Next hop beyond the public prefix.
    pub public_gateway: Option<Ipv4Addr>,
    /// Port forwards.
    pub forwards: Vec<Forward>,
    /// Table capacities (sessions): TCP, UDP, ICMP.
    pub tables: (usize, usize, usize),
    /// The NAT's behaviour.
    pub nat: unat::Config,
    /// ICMP errors per second the router may send (`None`: none).
    pub icmp_errors_per_sec: Option<u32>,
    /// Where to write counters.
    pub stats_file: Option<PathBuf>,
}

impl Config {
    /// Checks the flags; the error names the bad value and says why.
    pub fn from_cli(cli: &Cli) -> Result<Config, String> {
        for (flag, c) in [
            ("--private-addr", cli.private_addr),
            ("--public-addr", cli.public_addr),
        ] {
            if !unat::is_translatable(c.addr) {
                return Err(format!("{flag} {c}: not a usable unicast address"));
            }
            if c.prefix > 30 {
                return Err(format!(
                    "{flag} {c}: prefix /{} leaves no room for a neighbour (use /30 or shorter)",
                    c.prefix
                ));
            }
            if c.addr == c.network() || c.addr == c.broadcast() {
                return Err(format!(
                    "{flag} {c}: that is the network or broadcast address of the prefix"
                ));
            }
        }
        if cli.private_addr.overlaps(&cli.public_addr) {
            return Err(format!(
                "--private-addr {} and --public-addr {} overlap: the two sides need disjoint prefixes",
                cli.private_addr, cli.public_addr
            ));
        }
        if cli.private_if == cli.public_if {
            return Err(format!(
                "--private-if and --public-if are both {}",
                cli.private_if
            ));
        }
        if let Some(gw) = cli.public_gateway {
            if !cli.public_addr.is_host(gw) || gw == cli.public_addr.addr {
                return Err(format!(
                    "--public-gateway {gw} is not a neighbour in --public-addr {}",
                    cli.public_addr
                ));
            }
        }
        for (i, f) in cli.forwards.iter().enumerate() {
            if !cli.private_addr.is_host(f.target.addr) || f.target.addr == cli.private_addr.addr {
                return Err(format!(
                    "--forward {}:{}={}: the target must be a host in --private-addr {}",
                    f.proto, f.port, f.target, cli.private_addr
                ));
            }
            if cli
                .forwards
                .iter()
                .take(i)
                .any(|g| g.proto == f.proto && g.port == f.port)
            {
                return Err(format!("--forward {}:{} is given twice", f.proto, f.port));
            }
        }
        for (flag, n) in [
            ("--tcp-table", cli.tcp_table),
            ("--udp-table", cli.udp_table),
            ("--icmp-table", cli.icmp_table),
        ] {
            if n < 2 {
                return Err(format!(
                    "{flag} {n}: a table needs at least 2 entries (one rule)"
                ));
            }
        }
        let nat = nat_config(cli)?;
        Ok(Config {
            nat,
            icmp_errors_per_sec: (cli.icmp_errors_per_sec != 0).then_some(cli.icmp_errors_per_sec),
            private_if: cli.private_if.clone(),
            private: cli.private_addr,
            public_if: cli.public_if.clone(),
            public: cli.public_addr,
            public_gateway: cli.public_gateway,
            forwards: cli.forwards.clone(),
            tables: (cli.tcp_table, cli.udp_table, cli.icmp_table),
            stats_file: cli.stats_file.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cli(extra: &[&str]) -> Result<Config, String> {
        let mut args = vec![
            "unat-router",
            "--private-if",
            "veth1",
            "--private-addr",
            "10.0.0.1/24",
            "--public-if",
            "tap:pub0",
            "--public-addr",
            "198.18.0.2/24",
        ];
        args.extend_from_slice(extra);
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        Config::from_cli(&cli)
    }

    #[test]
    fn a_good_configuration() {
        let c = cli(&[
            "--public-gateway",
            "198.18.0.1",
            "--forward",
            "tcp:8080=10.0.0.5:80",
        ])
        .unwrap();
        assert_eq!(c.private_if, DeviceSpec::Packet("veth1".into()));
        assert_eq!(c.public_if, DeviceSpec::Tap("pub0".into()));
        assert_eq!(c.forwards[0].target.to_string(), "10.0.0.5:80");
        assert_eq!(c.tables, (16384, 16384, 1024));
        assert_eq!(c.nat.mapping.udp, unat::Mapping::EndpointIndependent);
        assert_eq!(c.nat.filtering.tcp, unat::Filtering::AddressDependent);
        let c = cli(&[
            "--mapping",
            "apdm",
            "--filtering",
            "eif",
            "--tcp-filtering",
            "apdf",
            "--per-host-udp",
            "0",
        ])
        .unwrap();
        assert_eq!(c.nat.mapping.tcp, unat::Mapping::AddressAndPortDependent);
        assert_eq!(c.nat.filtering.udp, unat::Filtering::EndpointIndependent);
        assert_eq!(
            c.nat.filtering.tcp,
            unat::Filtering::AddressAndPortDependent
        );
        assert_eq!(c.nat.per_host_limit.udp, None);
    }

    #[test]
    fn errors_name_the_bad_value() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--public-gateway", "10.0.0.9"],
                "--public-gateway 10.0.0.9",
            ),
            (&["--forward", "tcp:8080=198.18.0.9:80"], "198.18.0.9:80"),
            (&["--forward", "sctp:1=10.0.0.5:1"], "`sctp`"),
            (&["--forward", "tcp:0=10.0.0.5:1"], "`0`"),
            (
                &[
                    "--forward",
                    "tcp:80=10.0.0.5:80",
                    "--forward",
                    "tcp:80=10.0.0.6:80",
                ],
                "given twice",
            ),
            (&["--tcp-table", "0"], "--tcp-table 0"),
            (
                &["--udp-timeout", "60"],
                "--udp-timeout: udp timeout 60 s is below the RFC minimum of 120 s",
            ),
            (
                &["--udp-timeout", "0", "--allow-short-timeouts"],
                "--udp-timeout",
            ),
        ];
        for (args, needle) in cases {
            let e = cli(args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
        let e = Cli::try_parse_from([
            "unat-router",
            "--private-if",
            "x",
            "--private-addr",
            "10.0.0.1/33",
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("`33`"), "{e}");
        let e = Cli::try_parse_from([
            "unat-router",
            "--private-if",
            "bad:x",
            "--private-addr",
            "10.0.0.1/24",
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown device kind"), "{e}");
        for bad in ["inf", "bogus", "unat_router=loud", ""] {
            assert!(parse_log_level(bad).is_err(), "{bad}");
        }
        for good in ["info", "DEBUG", "warn,unat_router::gateway=trace"] {
            assert!(parse_log_level(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn overlapping_sides_are_refused() {
        let args = [
            "unat-router",
            "--private-if",
            "a",
            "--private-addr",
            "10.0.0.1/16",
            "--public-if",
            "b",
            "--public-addr",
            "10.0.5.1/24",
        ];
        let e = Config::from_cli(&Cli::try_parse_from(args).unwrap()).unwrap_err();
        assert!(e.contains("overlap"), "{e}");
    }
}
