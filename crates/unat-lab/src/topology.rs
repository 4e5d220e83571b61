//! The lab itself: building the four-namespace network, starting the
//! servers and the router, running bounded commands in a namespace, reading
//! the router's stats and log, and tearing everything down in `Drop`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::{self, command, run, CmdOutput};
use crate::error::LabError;
use crate::netns;
use crate::raw::{self, Mac};
use crate::stats;

/// The addresses of the lab network.
pub mod addr {
    use std::net::Ipv4Addr;

    /// The private host (CLIENT namespace, `eth0`).
    pub const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    /// The router's private address (answered by unat-router itself).
    pub const ROUTER_PRIVATE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    /// The router's public address, the NAT's external address.
    pub const ROUTER_PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    /// The hop router's address facing the NAT (HOP namespace, `in0`).
    pub const HOP_INNER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    /// The hop router's address facing the server (HOP namespace, `out0`).
    pub const HOP_OUTER: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
    /// The public host (SERVER namespace, `eth0`).
    pub const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
    /// The second private host (CLIENT2 namespace, `eth0`), in labs with
    /// [`LabConfig::private_hosts`](super::LabConfig::private_hosts) = 2.
    pub const CLIENT2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

    /// Two-NAT lab: the first peer (CLIENT namespace), behind ROUTER.
    pub const PEER1: Ipv4Addr = CLIENT;
    /// Two-NAT lab: the second peer (PEER2 namespace), behind ROUTER2.
    pub const PEER2: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
    /// Two-NAT lab: ROUTER's public address (the same as in the one-NAT lab).
    pub const ROUTER1_PUBLIC: Ipv4Addr = ROUTER_PUBLIC;
    /// Two-NAT lab: ROUTER2's private address.
    pub const ROUTER2_PRIVATE: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
    /// Two-NAT lab: ROUTER2's public address.
    pub const ROUTER2_PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);
    /// Two-NAT lab: the rendezvous server on the public segment.
    pub const RENDEZVOUS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
    /// Two-NAT lab: the public segment's bridge address (HOP namespace).
    pub const PUBLIC_BRIDGE: Ipv4Addr = HOP_INNER;
}

/// The ports of the servers and port forwards in the lab.
pub mod port {
    /// HTTP server on the public host.
    pub const SERVER_HTTP: u16 = 8080;
    /// UDP echo server on the public host.
    pub const SERVER_UDP_ECHO: u16 = 7777;
    /// HTTP server on the private host (target of the TCP forward).
    pub const CLIENT_HTTP: u16 = 80;
    /// UDP echo server on the private host (target of the UDP forward).
    pub const CLIENT_UDP_ECHO: u16 = 5353;
    /// Public TCP port the router forwards to the client's HTTP server.
    pub const FORWARD_TCP: u16 = 8080;
    /// Public UDP port the router forwards to the client's UDP echo server.
    pub const FORWARD_UDP: u16 = 5353;
    /// HTTP server on the second private host; with two private hosts the
    /// router forwards [`FORWARD_TCP`] here instead of to the first.
    pub const CLIENT2_HTTP: u16 = 80;
    /// UDP "reflector" on the public host, started by the checks that need
    /// it: answers each datagram with the source `ip:port` it saw.
    pub const SERVER_UDP_REFLECT: u16 = 7778;
    /// TCP echo server on the public host, started by the checks that need
    /// it.
    pub const SERVER_TCP_ECHO: u16 = 7779;
    /// Two-NAT lab: the rendezvous server's UDP port.
    pub const RENDEZVOUS: u16 = 3478;
    /// Two-NAT lab: the local UDP port both peers punch from in a lab's
    /// first attempt (each further attempt uses the next port).
    pub const PEER: u16 = 40000;
}

/// Default time bound for [`Lab::exec`].
const EXEC_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for the router to answer its first ping.
const ROUTER_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the router to create its TAP device.
const TAP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a server to listen.
const SERVER_READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the router gets to exit after SIGTERM.
const ROUTER_STOP_GRACE: Duration = Duration::from_secs(5);

/// The name of the TAP device the router creates in [`Backend::Tap`] mode.
const TAP_NAME: &str = "tap0";

/// One namespace of the lab. Which roles a lab has depends on its
/// [`Layout`] (see [`Lab::roles`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The private host behind the NAT (10.0.0.2); PEER1 in the two-NAT lab.
    Client,
    /// The second private host (10.0.0.3), with two private hosts.
    Client2,
    /// The private link's bridge, with two private hosts.
    Lan,
    /// Where unat-router runs (ROUTER1 in the two-NAT lab).
    Router,
    /// A plain Linux router on the public side (198.18.0.1 / 198.18.1.1);
    /// in the two-NAT lab, the public segment's bridge (198.18.0.1).
    Hop,
    /// The public host (198.18.1.2).
    Server,
    /// Two-NAT lab: the private host behind ROUTER2 (10.1.0.2).
    Peer2,
    /// Two-NAT lab: the second unat-router.
    Router2,
    /// Two-NAT lab: the rendezvous server on the public segment
    /// (198.18.0.100).
    Rendezvous,
}

impl Role {
    /// All roles of the default lab (one NAT, one private host), in
    /// topology order.
    pub const ALL: [Role; 4] = [Role::Client, Role::Router, Role::Hop, Role::Server];

    /// The role's short lower-case name, used in namespace names.
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Client2 => "client2",
            Role::Lan => "lan",
            Role::Router => "router",
            Role::Hop => "hop",
            Role::Server => "server",
            Role::Peer2 => "peer2",
            Role::Router2 => "router2",
            Role::Rendezvous => "rendezvous",
        }
    }
}

/// The shape of a lab's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// [`Lab::start`]: private host(s) -- ROUTER -- HOP -- SERVER.
    OneNat,
    /// [`Lab::start_two_nats`]: PEER1 -- ROUTER and PEER2 -- ROUTER2 on one
    /// public segment with the RENDEZVOUS server.
    TwoNats,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the router is attached to the private network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// A veth pair: the router uses `--private-if packet:priv0`.
    #[default]
    Packet,
    /// The router creates `--private-if tap:tap0`, which the lab moves into
    /// the client namespace (as `eth0`) once it appears.
    Tap,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// Path of the `unat-router` binary (in tests:
    /// `env!("CARGO_BIN_EXE_unat-router")`).
    pub router_bin: PathBuf,
    /// How the router attaches to the private network.
    pub private_backend: Backend,
    /// Extra arguments appended to the router's command line (e.g.
    /// `--log-level debug`); in the two-NAT lab, to both routers'.
    pub extra_router_args: Vec<String>,
    /// Private hosts behind the router in [`Lab::start`]: 1 (CLIENT on a
    /// veth to the router) or 2 (CLIENT and CLIENT2 share the private link
    /// through a bridge in the LAN namespace; the TCP forward
    /// `tcp:8080` then goes to CLIENT2's HTTP server, 10.0.0.3:80). Two
    /// private hosts need [`Backend::Packet`]. Ignored by
    /// [`Lab::start_two_nats`].
    pub private_hosts: u8,
    /// The MTU of the public link between ROUTER and HOP (`pub0` and
    /// `in0`, both ends of the veth), set before the router starts (it
    /// reads its interface MTU once, at start). `None` keeps the default
    /// 1500. With `Some(1280)` the router must send Fragmentation Needed
    /// (mtu = 1280) for bigger DF packets from the client
    /// ([`Lab::check_pmtu`]). Ignored by [`Lab::start_two_nats`].
    pub public_mtu: Option<u32>,
}

impl LabConfig {
    /// The default configuration ([`Backend::Packet`], no extra arguments,
    /// one private host) for the router binary at `router_bin`.
    pub fn new(router_bin: impl Into<PathBuf>) -> Self {
        LabConfig {
            router_bin: router_bin.into(),
            private_backend: Backend::Packet,
            extra_router_args: Vec::new(),
            private_hosts: 1,
            public_mtu: None,
        }
    }
}

/// What [`Lab::stop_router`] found.
#[derive(Debug, Clone)]
pub struct RouterStopped {
    /// The router's exit status; `None` if it had to be SIGKILLed (it did
    /// not exit within 5 s of SIGTERM) or was not running.
    pub status: Option<ExitStatus>,
    /// The counters from the stats file it wrote at exit.
    pub stats: BTreeMap<String, u64>,
}

impl RouterStopped {
    /// True when the router exited by itself with status 0.
    pub fn clean_exit(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Which router runs in the ROUTER namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouterKind {
    /// unat-router.
    Unat,
    /// Test double: plain Linux forwarding between priv0 and pub0 (no NAT,
    /// so the hop gets a route back to 10.0.0.0/24); with the TAP backend, a
    /// socat process creates the TAP and bridges it to the kernel router.
    #[cfg(test)]
    Linux,
}

/// A process the lab started in a namespace (a server or listener).
struct Background {
    label: String,
    child: Child,
}

/// A running lab network. See the [crate docs](crate) for the topology.
///
/// Dropping it kills every process it started and removes every namespace
/// and file it created.
pub struct Lab {
    tag: String,
    layout: Layout,
    private_hosts: u8,
    /// The MTU set on the ROUTER–HOP link, if not the default.
    public_mtu: Option<u32>,
    /// The namespaces of this lab, in creation order.
    names: Vec<(Role, String)>,
    backend: Backend,
    kind: RouterKind,
    tmp: PathBuf,
    /// The running routers (ROUTER, and ROUTER2 in the two-NAT lab).
    routers: Mutex<Vec<(Role, Child)>>,
    background: Mutex<Vec<Background>>,
    probe_text: String,
    private_text: String,
    client2_text: String,
    /// Counter for unique names of per-check processes and sessions.
    runs: AtomicU32,
    cleaned: bool,
}

/// The scripts the lab runs with `/usr/bin/python3`, written into its temp
/// dir at setup.
const SCRIPTS: [(&str, &str); 3] = [
    ("rendezvous.py", include_str!("scripts/rendezvous.py")),
    ("peer.py", include_str!("scripts/peer.py")),
    ("nettool.py", include_str!("scripts/nettool.py")),
];

/// Locks `m`, recovering the data if another thread panicked holding it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Checks that the lab can run here: effective uid 0 and every tool it
/// uses is installed. Tests call this to skip with a clear message.
pub fn preflight() -> Result<(), LabError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Err(LabError::NotRoot(euid));
    }
    for tool in [
        "ip",
        "ping",
        "curl",
        "traceroute",
        "ethtool",
        "socat",
        "ss",
        "timeout",
        "sysctl",
        "/usr/bin/python3",
    ] {
        if cmd::find_tool(tool).is_none() {
            return Err(LabError::MissingTool(tool.to_string()));
        }
    }
    Ok(())
}

/// For tests that need the lab: `true` when it can run here.
///
/// When it cannot (no root, no namespaces, a missing tool) this panics with
/// the reason, so a test that needs the lab fails loudly rather than
/// passing without having run, unless `UNAT_SKIP_E2E=1` is set: then it
/// prints the reason and returns `false`, and the test returns early.
pub fn can_run_or_skip() -> bool {
    let Err(e) = preflight() else {
        return true;
    };
    let skip = std::env::var("UNAT_SKIP_E2E").is_ok_and(|x| x == "1");
    if !skip {
        panic!(
            "the unat lab cannot run here: {e}\n\
             (end-to-end tests need root and network namespaces; \
             set UNAT_SKIP_E2E=1 to skip them knowingly)"
        );
    }
    eprintln!("SKIPPED (UNAT_SKIP_E2E=1): the unat lab cannot run here: {e}");
    false
}

impl Lab {
    /// Builds the network, starts the servers and unat-router, and waits
    /// (at most 10 s) until the router answers a ping from the client to
    /// 10.0.0.1. On failure everything built so far is removed again, and
    /// the error carries the router's log.
    ///
    /// It first removes what labs of dead processes left behind (see
    /// [`remove_stale_labs`](crate::remove_stale_labs)).
    pub fn start(mut cfg: LabConfig) -> Result<Lab, LabError> {
        preflight()?;
        if !cfg.router_bin.is_file() {
            return Err(LabError::RouterBinary(cfg.router_bin));
        }
        if let Ok(abs) = std::fs::canonicalize(&cfg.router_bin) {
            cfg.router_bin = abs;
        }
        netns::remove_stale_labs();
        Lab::build(&cfg, RouterKind::Unat)
    }

    /// Builds the two-NAT lab for UDP hole punching and waits (at most 10 s
    /// each) until both routers answer pings from their private hosts:
    ///
    /// ```text
    ///  CLIENT ns (PEER1)        ROUTER ns                      HOP ns
    ///  eth0 10.0.0.2/24 ── priv0 [unat-router] pub0 ──── r1 ┐
    ///                           10.0.0.1 / 198.18.0.2         br0 198.18.0.1/24 ── rv ── eth0 198.18.0.100/24
    ///  PEER2 ns                 ROUTER2 ns                    │                          RENDEZVOUS ns
    ///  eth0 10.1.0.2/24 ── priv0 [unat-router] pub0 ──── r2 ┘                          udp :3478 (rendezvous.py)
    ///                           10.1.0.1 / 198.18.0.3
    /// ```
    ///
    /// Both routers get `cfg.extra_router_args` (e.g. `--mapping apdm`) and
    /// no port forwards. Needs [`Backend::Packet`];
    /// `cfg.private_hosts` is ignored. Cleanup is as for [`Lab::start`].
    pub fn start_two_nats(mut cfg: LabConfig) -> Result<Lab, LabError> {
        preflight()?;
        if !cfg.router_bin.is_file() {
            return Err(LabError::RouterBinary(cfg.router_bin));
        }
        if let Ok(abs) = std::fs::canonicalize(&cfg.router_bin) {
            cfg.router_bin = abs;
        }
        netns::remove_stale_labs();
        Lab::build_layout(&cfg, RouterKind::Unat, Layout::TwoNats)
    }

    /// Builds a one-NAT lab with the given router; shared by [`Lab::start`]
    /// and the crate's own tests.
    pub(crate) fn build(cfg: &LabConfig, kind: RouterKind) -> Result<Lab, LabError> {
        Lab::build_layout(cfg, kind, Layout::OneNat)
    }

    /// Builds a lab of `layout` with the given router.
    pub(crate) fn build_layout(
        cfg: &LabConfig,
        kind: RouterKind,
        layout: Layout,
    ) -> Result<Lab, LabError> {
        let private_hosts = match layout {
            Layout::OneNat => cfg.private_hosts,
            Layout::TwoNats => 1,
        };
        if !(1..=2).contains(&private_hosts) {
            return Err(LabError::Unsupported(format!(
                "{private_hosts} private hosts (the lab builds 1 or 2)"
            )));
        }
        if cfg.private_backend == Backend::Tap && (private_hosts > 1 || layout == Layout::TwoNats) {
            return Err(LabError::Unsupported(
                "the TAP backend with two private hosts or two NATs".to_string(),
            ));
        }
        let roles: &[Role] = match (layout, private_hosts) {
            (Layout::OneNat, 1) => &Role::ALL,
            (Layout::OneNat, _) => &[
                Role::Client,
                Role::Client2,
                Role::Lan,
                Role::Router,
                Role::Hop,
                Role::Server,
            ],
            (Layout::TwoNats, _) => &[
                Role::Client,
                Role::Router,
                Role::Hop,
                Role::Rendezvous,
                Role::Router2,
                Role::Peer2,
            ],
        };
        let public_mtu = match layout {
            Layout::OneNat => cfg.public_mtu,
            Layout::TwoNats => None,
        };
        if let Some(mtu) = public_mtu {
            if !(576..=9000).contains(&mtu) {
                return Err(LabError::Unsupported(format!(
                    "a public link MTU of {mtu} (the lab sets 576 to 9000)"
                )));
            }
        }
        let tag = netns::unique_tag();
        let names = roles
            .iter()
            .map(|r| (*r, format!("{}{tag}-{}", netns::PREFIX, r.name())))
            .collect();
        let tmp = std::env::temp_dir().join(format!("unat-lab-{tag}"));
        let mut lab = Lab {
            probe_text: format!("unat-lab probe file {tag}\n"),
            private_text: format!("unat-lab private file {tag}\n"),
            client2_text: format!("unat-lab client2 file {tag}\n"),
            tag,
            layout,
            private_hosts,
            public_mtu,
            names,
            backend: cfg.private_backend,
            kind,
            tmp,
            routers: Mutex::new(Vec::new()),
            background: Mutex::new(Vec::new()),
            runs: AtomicU32::new(0),
            cleaned: false,
        };
        // On error `lab` is dropped here, which removes what was built.
        lab.setup(cfg)?;
        Ok(lab)
    }

    /// The unique tag in this lab's names (`<pid>-<n>`).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The name of the namespace of `role` (usable with `ip netns exec` and
    /// `ip -n`); empty if this lab has no such namespace (see
    /// [`Lab::roles`]).
    pub fn namespace(&self, role: Role) -> &str {
        self.names
            .iter()
            .find(|(r, _)| *r == role)
            .map_or("", |(_, n)| n.as_str())
    }

    /// The roles (namespaces) of this lab, in creation order.
    pub fn roles(&self) -> Vec<Role> {
        self.names.iter().map(|(r, _)| *r).collect()
    }

    /// The shape of this lab's network.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// How many private hosts share the (first) router's private link.
    pub fn private_hosts(&self) -> u8 {
        self.private_hosts
    }

    /// The MTU of the ROUTER–HOP link when the lab set one
    /// ([`LabConfig::public_mtu`]); `None` for the default 1500.
    pub fn public_mtu(&self) -> Option<u32> {
        self.public_mtu
    }

    /// A number unique within this lab, for names of per-check processes.
    pub(crate) fn next_run(&self) -> u32 {
        self.runs.fetch_add(1, Ordering::Relaxed)
    }

    /// The path of an embedded script in the lab's temp dir.
    pub(crate) fn script(&self, name: &str) -> String {
        self.tmp.join(name).to_string_lossy().into_owned()
    }

    /// How the router is attached to the private network.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The lab's temp directory (stats file, logs, served files).
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    /// The path given to the router as `--stats-file`.
    pub fn stats_path(&self) -> PathBuf {
        self.stats_path_of(Role::Router)
    }

    /// The `--stats-file` of the router in the namespace of `role`
    /// ([`Role::Router`] or, in the two-NAT lab, [`Role::Router2`]).
    pub fn stats_path_of(&self, role: Role) -> PathBuf {
        match role {
            Role::Router2 => self.tmp.join("stats2"),
            _ => self.tmp.join("stats"),
        }
    }

    fn router_log_path(&self, role: Role) -> PathBuf {
        match role {
            Role::Router2 => self.tmp.join("router2.log"),
            _ => self.tmp.join("router.log"),
        }
    }

    /// The roles whose namespace runs a router.
    fn router_roles(&self) -> &'static [Role] {
        match self.layout {
            Layout::OneNat => &[Role::Router],
            Layout::TwoNats => &[Role::Router, Role::Router2],
        }
    }

    /// The content of `probe.txt` served by the public HTTP server.
    pub(crate) fn probe_text(&self) -> &str {
        &self.probe_text
    }

    /// The content of `private.txt` served by the private host.
    pub(crate) fn private_text(&self) -> &str {
        &self.private_text
    }

    /// The content of `client2.txt` served by the second private host.
    pub(crate) fn client2_text(&self) -> &str {
        &self.client2_text
    }

    /// Runs `args` in the namespace of `role`, bounded by 20 s.
    pub fn exec(&self, role: Role, args: &[&str]) -> CmdOutput {
        self.exec_timeout(role, args, EXEC_TIMEOUT)
    }

    /// Runs `args` in the namespace of `role`, killed after `timeout`.
    pub fn exec_timeout(&self, role: Role, args: &[&str], timeout: Duration) -> CmdOutput {
        self.exec_input(role, args, None, timeout)
    }

    /// Runs `args` in the namespace of `role` with `stdin` as its standard
    /// input, killed after `timeout`.
    pub fn exec_input(
        &self,
        role: Role,
        args: &[&str],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> CmdOutput {
        if args.is_empty() {
            return CmdOutput {
                stderr: "empty command".to_string(),
                ..CmdOutput::default()
            };
        }
        // `timeout` inside the namespace kills the tool itself; the outer
        // deadline in `run` is the backstop.
        let secs = format!("{:.1}", timeout.as_secs_f64());
        let mut c = command("ip");
        c.args([
            "netns",
            "exec",
            self.namespace(role),
            "timeout",
            "-k",
            "1",
            &secs,
        ])
        .args(args);
        run(&mut c, stdin, timeout + Duration::from_secs(3))
    }

    /// Like [`Lab::exec`] but a failure becomes an error for `step`.
    fn exec_ok(&self, role: Role, step: &str, args: &[&str]) -> Result<CmdOutput, LabError> {
        let out = self.exec(role, args);
        if out.success() {
            Ok(out)
        } else {
            Err(LabError::Command {
                step: format!("{step} in {role}"),
                output: out.describe(),
            })
        }
    }

    /// Sends one complete Ethernet frame out of `ifname` in the namespace of
    /// `role` (through an `AF_PACKET` socket).
    pub fn send_raw_frame(&self, role: Role, ifname: &str, frame: &[u8]) -> Result<(), LabError> {
        raw::send_frame(self.namespace(role), ifname, frame)
    }

    /// The MAC address of interface `ifname` in the namespace of `role`.
    pub fn mac_address(&self, role: Role, ifname: &str) -> Result<Mac, LabError> {
        let out = netns::ip_ok(
            "reading a MAC address",
            &["-n", self.namespace(role), "-o", "link", "show", ifname],
        )?;
        mac_after(&out.stdout, "link/ether").ok_or_else(|| LabError::Command {
            step: format!("parsing the MAC address of {ifname} in {role}"),
            output: out.describe(),
        })
    }

    /// The router's counters from its stats file (empty until it has
    /// written the file).
    pub fn router_stats(&self) -> BTreeMap<String, u64> {
        stats::read(&self.stats_path())
    }

    /// Waits (at most `timeout`) for the router's next rewrite of its stats
    /// file, then returns the counters. Use it to get counters that include
    /// traffic sent just before the call.
    pub fn router_stats_fresh(&self, timeout: Duration) -> BTreeMap<String, u64> {
        stats::read_fresh(&self.stats_path(), timeout)
    }

    /// Everything the router has printed so far (stdout and stderr), after
    /// a first line with its command line. In the two-NAT lab, ROUTER's
    /// (see [`Lab::router_log_of`], [`Lab::router_logs`]).
    pub fn router_log(&self) -> String {
        self.router_log_of(Role::Router)
    }

    /// The log of the router in the namespace of `role` ([`Role::Router`]
    /// or [`Role::Router2`]).
    pub fn router_log_of(&self, role: Role) -> String {
        std::fs::read(self.router_log_path(role))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Every router's log, each after a `--- <role> log ---` line (for
    /// failure messages).
    pub fn router_logs(&self) -> String {
        let mut all = String::new();
        for role in self.router_roles() {
            all.push_str(&format!(
                "--- {role} log ---\n{}",
                self.router_log_of(*role)
            ));
            if !all.ends_with('\n') {
                all.push('\n');
            }
        }
        all
    }

    /// The counters of the router in the namespace of `role` (empty until
    /// it has written its stats file).
    pub fn router_stats_of(&self, role: Role) -> BTreeMap<String, u64> {
        stats::read(&self.stats_path_of(role))
    }

    /// `Some(description)` when the router process has exited by itself
    /// (it should run until [`Lab::stop_router`]); `None` while it runs and
    /// after [`Lab::stop_router`]. In the two-NAT lab, about either router.
    pub fn router_exit(&self) -> Option<String> {
        let mut guard = lock(&self.routers);
        let mut exits = Vec::new();
        for (role, child) in guard.iter_mut() {
            let who = match role {
                Role::Router2 => "unat-router (router2)",
                _ => "unat-router",
            };
            match child.try_wait() {
                Ok(Some(status)) => exits.push(format!("{who} exited: {status}")),
                Ok(None) => {}
                Err(e) => exits.push(format!("{who} state unknown: {e}")),
            }
        }
        (!exits.is_empty()).then(|| exits.join("; "))
    }

    /// Stops the router (ROUTER's, in the two-NAT lab) with SIGTERM
    /// (SIGKILL after 5 s) and returns its exit status and the counters it
    /// wrote at exit. Calling it again returns no status and the last
    /// counters.
    pub fn stop_router(&self) -> RouterStopped {
        let child = {
            let mut routers = lock(&self.routers);
            let i = routers.iter().position(|(r, _)| *r == Role::Router);
            i.map(|i| routers.remove(i).1)
        };
        let status = child.and_then(|mut c| cmd::terminate(&mut c, ROUTER_STOP_GRACE));
        RouterStopped {
            status,
            stats: self.router_stats(),
        }
    }

    /// For tests: panics unless `check` passed, with the routers' logs in
    /// the message; prints the evidence either way (shown with
    /// `--nocapture`).
    pub fn assert_passed(&self, check: crate::Check) {
        eprintln!("{}: {}", check.name, check.detail);
        assert!(
            check.passed,
            "{} failed:\n{}\n{}",
            check.name,
            check.detail,
            self.router_logs()
        );
    }

    /// Starts `args` in the background in the namespace of `role`, its
    /// output going to `<tmp>/<label>.log`; killed by [`Lab::stop_background`]
    /// or at cleanup.
    pub(crate) fn spawn_background(
        &self,
        role: Role,
        label: &str,
        args: &[&str],
    ) -> Result<(), LabError> {
        let log = self.tmp.join(format!("{label}.log"));
        let file = File::create(&log)
            .map_err(|e| LabError::io(format!("creating {}", log.display()), e))?;
        let file2 = file
            .try_clone()
            .map_err(|e| LabError::io("duplicating a log file handle", e))?;
        let mut c = command("ip");
        c.args(["netns", "exec", self.namespace(role)])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(file2);
        let child = c
            .spawn()
            .map_err(|e| LabError::io(format!("starting `{}`", cmd::command_line(&c)), e))?;
        lock(&self.background).push(Background {
            label: label.to_string(),
            child,
        });
        Ok(())
    }

    /// Kills the background process `label` (if running) and forgets it.
    pub(crate) fn stop_background(&self, label: &str) {
        let mut list = lock(&self.background);
        list.retain_mut(|b| {
            if b.label == label {
                cmd::kill_and_reap(&mut b.child);
                false
            } else {
                true
            }
        });
    }

    /// The log of background process `label`.
    pub(crate) fn background_log(&self, label: &str) -> String {
        let path = self.tmp.join(format!("{label}.log"));
        std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits until something listens on `port` (TCP if `tcp`, else UDP) in
    /// the namespace of `role`; fails early if background process `label`
    /// exits.
    pub(crate) fn wait_listening(
        &self,
        role: Role,
        tcp: bool,
        port: u16,
        label: &str,
    ) -> Result<(), LabError> {
        let flags = if tcp { "-Hltn" } else { "-Hlun" };
        let suffix = format!(":{port}");
        let deadline = Instant::now() + SERVER_READY_TIMEOUT;
        loop {
            let exited = lock(&self.background)
                .iter_mut()
                .find(|b| b.label == label)
                .map(|b| matches!(b.child.try_wait(), Ok(Some(_))));
            if exited != Some(false) {
                return Err(LabError::ServerNotReady {
                    what: format!("{label} in {role}"),
                    log: format!("process exited; log: {}", self.background_log(label)),
                });
            }
            let out = self.exec_timeout(role, &["ss", flags], Duration::from_secs(5));
            let listening = out.stdout.lines().any(|l| {
                l.split_whitespace()
                    .nth(3)
                    .is_some_and(|local| local.ends_with(&suffix))
            });
            if listening {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LabError::ServerNotReady {
                    what: format!("{label} in {role} (port {port})"),
                    log: format!(
                        "not listening after {} s; log: {}",
                        SERVER_READY_TIMEOUT.as_secs(),
                        self.background_log(label)
                    ),
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Builds everything; called once by [`Lab::build`].
    fn setup(&mut self, cfg: &LabConfig) -> Result<(), LabError> {
        std::fs::create_dir_all(&self.tmp)
            .map_err(|e| LabError::io(format!("creating {}", self.tmp.display()), e))?;
        self.write_served_files()?;
        self.write_scripts()?;

        for role in self.roles() {
            self.create_namespace(role)?;
        }
        match self.layout {
            Layout::OneNat => self.setup_one_nat(cfg),
            Layout::TwoNats => self.setup_two_nats(cfg),
        }
    }

    /// Starts an HTTP server for `role` on `addr:port`, serving the lab's
    /// `www-<label>` directory (python3's http.server does no reverse DNS).
    fn spawn_http_server(
        &self,
        role: Role,
        label: &str,
        addr: std::net::Ipv4Addr,
        port: u16,
    ) -> Result<(), LabError> {
        let dir = self.tmp.join(format!("www-{label}"));
        self.spawn_background(
            role,
            &format!("{label}-http"),
            &[
                "/usr/bin/python3",
                "-m",
                "http.server",
                "--bind",
                &addr.to_string(),
                &port.to_string(),
                "--directory",
                &dir.to_string_lossy(),
            ],
        )
    }

    /// The one-NAT lab: links, addresses, servers and the router.
    fn setup_one_nat(&self, cfg: &LabConfig) -> Result<(), LabError> {
        self.create_links()?;
        self.configure_addresses()?;

        // Public side servers.
        let server = addr::SERVER.to_string();
        self.spawn_http_server(Role::Server, "server", addr::SERVER, port::SERVER_HTTP)?;
        self.spawn_background(
            Role::Server,
            "server-udp-echo",
            &[
                "socat",
                "-T",
                "10",
                &format!("UDP4-RECVFROM:{},bind={server},fork", port::SERVER_UDP_ECHO),
                "PIPE",
            ],
        )?;

        self.start_router(cfg, Role::Router)?;
        if self.backend == Backend::Tap {
            self.adopt_tap()?;
        }

        // Private side servers (the client address exists only now in TAP
        // mode).
        let client = addr::CLIENT.to_string();
        self.spawn_http_server(Role::Client, "client", addr::CLIENT, port::CLIENT_HTTP)?;
        self.spawn_background(
            Role::Client,
            "client-udp-echo",
            &[
                "socat",
                "-T",
                "10",
                &format!("UDP4-RECVFROM:{},bind={client},fork", port::CLIENT_UDP_ECHO),
                "PIPE",
            ],
        )?;
        if self.private_hosts > 1 {
            self.spawn_http_server(Role::Client2, "client2", addr::CLIENT2, port::CLIENT2_HTTP)?;
        }
        self.wait_listening(Role::Server, true, port::SERVER_HTTP, "server-http")?;
        self.wait_listening(
            Role::Server,
            false,
            port::SERVER_UDP_ECHO,
            "server-udp-echo",
        )?;
        self.wait_listening(Role::Client, true, port::CLIENT_HTTP, "client-http")?;
        self.wait_listening(
            Role::Client,
            false,
            port::CLIENT_UDP_ECHO,
            "client-udp-echo",
        )?;
        if self.private_hosts > 1 {
            self.wait_listening(Role::Client2, true, port::CLIENT2_HTTP, "client2-http")?;
        }

        self.wait_router_ready(Role::Router)
    }

    /// The two-NAT lab: links, the public bridge, addresses, the rendezvous
    /// server and both routers.
    fn setup_two_nats(&self, cfg: &LabConfig) -> Result<(), LabError> {
        self.veth(Role::Router, "priv0", Role::Client, "eth0")?;
        self.veth(Role::Router, "pub0", Role::Hop, "r1")?;
        self.veth(Role::Router2, "priv0", Role::Peer2, "eth0")?;
        self.veth(Role::Router2, "pub0", Role::Hop, "r2")?;
        self.veth(Role::Rendezvous, "eth0", Role::Hop, "rv")?;
        self.bridge(
            Role::Hop,
            &["r1", "r2", "rv"],
            Some(&format!("{}/24", addr::PUBLIC_BRIDGE)),
        )?;

        self.address(Role::Client, "eth0", Some("10.0.0.2/24"))?;
        self.route(Role::Client, "default", "10.0.0.1")?;
        self.address(Role::Peer2, "eth0", Some("10.1.0.2/24"))?;
        self.route(Role::Peer2, "default", "10.1.0.1")?;
        self.address(
            Role::Rendezvous,
            "eth0",
            Some(&format!("{}/24", addr::RENDEZVOUS)),
        )?;
        match self.kind {
            RouterKind::Unat => {
                for role in [Role::Router, Role::Router2] {
                    self.address(role, "priv0", None)?;
                    self.address(role, "pub0", None)?;
                }
            }
            #[cfg(test)]
            RouterKind::Linux => {
                for (role, private, public) in [
                    (Role::Router, "10.0.0.1/24", "198.18.0.2/24"),
                    (Role::Router2, "10.1.0.1/24", "198.18.0.3/24"),
                ] {
                    self.address(role, "priv0", Some(private))?;
                    self.address(role, "pub0", Some(public))?;
                    self.exec_ok(
                        role,
                        "enabling forwarding",
                        &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
                    )?;
                    self.route(role, "default", "198.18.0.1")?;
                }
                // No NAT: the public side needs routes back.
                self.exec_ok(
                    Role::Hop,
                    "enabling forwarding",
                    &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
                )?;
                self.route(Role::Hop, "10.0.0.0/24", "198.18.0.2")?;
                self.route(Role::Hop, "10.1.0.0/24", "198.18.0.3")?;
                self.route(Role::Rendezvous, "default", "198.18.0.1")?;
            }
        }

        let rendezvous = addr::RENDEZVOUS.to_string();
        self.spawn_background(
            Role::Rendezvous,
            "rendezvous",
            &[
                "/usr/bin/python3",
                "-u",
                &self.script("rendezvous.py"),
                &rendezvous,
                &port::RENDEZVOUS.to_string(),
            ],
        )?;
        self.start_router(cfg, Role::Router)?;
        self.start_router(cfg, Role::Router2)?;
        self.wait_listening(Role::Rendezvous, false, port::RENDEZVOUS, "rendezvous")?;
        self.wait_router_ready(Role::Router)?;
        self.wait_router_ready(Role::Router2)
    }

    /// Writes `www-server/probe.txt`, `www-client/private.txt` and
    /// `www-client2/{client2,private}.txt` (with two private hosts CLIENT2
    /// is the target of the TCP forward, so it serves `private.txt` too).
    fn write_served_files(&self) -> Result<(), LabError> {
        for (dir, file, text) in [
            ("www-server", "probe.txt", &self.probe_text),
            ("www-client", "private.txt", &self.private_text),
            ("www-client2", "private.txt", &self.private_text),
            ("www-client2", "client2.txt", &self.client2_text),
        ] {
            let dir = self.tmp.join(dir);
            std::fs::create_dir_all(&dir)
                .map_err(|e| LabError::io(format!("creating {}", dir.display()), e))?;
            let path = dir.join(file);
            std::fs::write(&path, text)
                .map_err(|e| LabError::io(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    }

    /// Writes the embedded python scripts into the temp dir.
    fn write_scripts(&self) -> Result<(), LabError> {
        for (name, text) in SCRIPTS {
            let path = self.tmp.join(name);
            std::fs::write(&path, text)
                .map_err(|e| LabError::io(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    }

    /// Creates the namespace of `role` with its `/etc/netns` files, `lo` up
    /// and IPv6 disabled.
    fn create_namespace(&self, role: Role) -> Result<(), LabError> {
        let name = self.namespace(role);
        netns::write_etc(name)?;
        netns::add(name)?;
        for key in ["all", "default"] {
            self.exec_ok(
                role,
                "disabling IPv6",
                &[
                    "sysctl",
                    "-q",
                    "-w",
                    &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
                ],
            )?;
        }
        netns::ip_ok("bringing lo up", &["-n", name, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// Creates a veth pair `a` (in `ra`) – `b` (in `rb`), directly in the
    /// namespaces, with offloads off on both ends.
    fn veth(&self, ra: Role, a: &str, rb: Role, b: &str) -> Result<(), LabError> {
        netns::ip_ok(
            &format!("creating veth {ra}/{a} - {rb}/{b}"),
            &[
                "-n",
                self.namespace(ra),
                "link",
                "add",
                a,
                "type",
                "veth",
                "peer",
                "name",
                b,
                "netns",
                self.namespace(rb),
            ],
        )?;
        self.offloads_off(ra, a)?;
        self.offloads_off(rb, b)
    }

    /// `ethtool -K IF tx off tso off gso off gro off` (the router reads and
    /// writes whole frames and needs real checksums and no aggregation).
    fn offloads_off(&self, role: Role, ifname: &str) -> Result<(), LabError> {
        self.exec_ok(
            role,
            &format!("turning offloads off on {ifname}"),
            &[
                "ethtool", "-K", ifname, "tx", "off", "tso", "off", "gso", "off", "gro", "off",
            ],
        )
        .map(|_| ())
    }

    fn create_links(&self) -> Result<(), LabError> {
        match (self.backend, self.kind) {
            (Backend::Packet, _) if self.private_hosts > 1 => {
                // CLIENT, CLIENT2 and the router share one link: a bridge
                // in the LAN namespace.
                self.veth(Role::Router, "priv0", Role::Lan, "r0")?;
                self.veth(Role::Client, "eth0", Role::Lan, "c1")?;
                self.veth(Role::Client2, "eth0", Role::Lan, "c2")?;
                self.bridge(Role::Lan, &["r0", "c1", "c2"], None)?;
            }
            (Backend::Packet, _) => self.veth(Role::Router, "priv0", Role::Client, "eth0")?,
            (Backend::Tap, RouterKind::Unat) => {}
            #[cfg(test)]
            (Backend::Tap, RouterKind::Linux) => {
                // The kernel router's private leg, bridged by socat to the TAP.
                self.veth(Role::Router, "priv0", Role::Router, "tapbr0")?;
            }
        }
        self.veth(Role::Router, "pub0", Role::Hop, "in0")?;
        if let Some(mtu) = self.public_mtu {
            self.set_mtu(Role::Router, "pub0", mtu)?;
            self.set_mtu(Role::Hop, "in0", mtu)?;
        }
        self.veth(Role::Hop, "out0", Role::Server, "eth0")
    }

    /// `ip -n NS link set IF mtu MTU`.
    fn set_mtu(&self, role: Role, ifname: &str, mtu: u32) -> Result<(), LabError> {
        netns::ip_ok(
            &format!("setting the MTU of {role}/{ifname} to {mtu}"),
            &[
                "-n",
                self.namespace(role),
                "link",
                "set",
                ifname,
                "mtu",
                &mtu.to_string(),
            ],
        )
        .map(|_| ())
    }

    /// Creates bridge `br0` in the namespace of `role` with `ports` (which
    /// must exist there) attached, everything up, offloads off on the
    /// bridge, and optionally an address on the bridge. STP stays off, so
    /// ports forward at once.
    fn bridge(&self, role: Role, ports: &[&str], address: Option<&str>) -> Result<(), LabError> {
        let ns = self.namespace(role);
        netns::ip_ok(
            &format!("creating bridge br0 in {role}"),
            &[
                "-n",
                ns,
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "stp_state",
                "0",
            ],
        )?;
        for port in ports {
            netns::ip_ok(
                &format!("attaching {port} to br0 in {role}"),
                &["-n", ns, "link", "set", port, "master", "br0"],
            )?;
            self.address(role, port, None)?;
        }
        self.offloads_off(role, "br0")?;
        self.address(role, "br0", address)
    }

    /// `ip -n NS addr add ADDR/24 dev IF` + `link set IF up`.
    fn address(&self, role: Role, ifname: &str, address: Option<&str>) -> Result<(), LabError> {
        let ns = self.namespace(role);
        if let Some(a) = address {
            netns::ip_ok(
                &format!("adding {a} to {role}/{ifname}"),
                &["-n", ns, "addr", "add", a, "dev", ifname],
            )?;
        }
        netns::ip_ok(
            &format!("bringing {role}/{ifname} up"),
            &["-n", ns, "link", "set", ifname, "up"],
        )
        .map(|_| ())
    }

    /// `ip -n NS route add DEST via GW`.
    fn route(&self, role: Role, dest: &str, via: &str) -> Result<(), LabError> {
        netns::ip_ok(
            &format!("adding route {dest} via {via} in {role}"),
            &["-n", self.namespace(role), "route", "add", dest, "via", via],
        )
        .map(|_| ())
    }

    fn configure_addresses(&self) -> Result<(), LabError> {
        if self.backend == Backend::Packet {
            self.configure_client("eth0")?;
        }
        if self.private_hosts > 1 {
            self.address(Role::Client2, "eth0", Some("10.0.0.3/24"))?;
            self.route(Role::Client2, "default", "10.0.0.1")?;
        }
        match self.kind {
            RouterKind::Unat => {
                if self.backend == Backend::Packet {
                    self.address(Role::Router, "priv0", None)?;
                }
                self.address(Role::Router, "pub0", None)?;
            }
            #[cfg(test)]
            RouterKind::Linux => {
                self.address(Role::Router, "priv0", Some("10.0.0.1/24"))?;
                if self.backend == Backend::Tap {
                    self.address(Role::Router, "tapbr0", None)?;
                }
                self.address(Role::Router, "pub0", Some("198.18.0.2/24"))?;
                self.exec_ok(
                    Role::Router,
                    "enabling forwarding",
                    &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
                )?;
                self.route(Role::Router, "default", "198.18.0.1")?;
            }
        }
        self.address(Role::Hop, "in0", Some("198.18.0.1/24"))?;
        self.address(Role::Hop, "out0", Some("198.18.1.1/24"))?;
        #[cfg(test)]
        if self.kind == RouterKind::Linux {
            // No NAT: the public side needs a route back.
            self.route(Role::Hop, "10.0.0.0/24", "198.18.0.2")?;
        }
        self.exec_ok(
            Role::Hop,
            "enabling forwarding",
            &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
        )?;
        self.address(Role::Server, "eth0", Some("198.18.1.2/24"))?;
        self.route(Role::Server, "default", "198.18.1.1")
    }

    /// Gives the client interface its address, brings it up and sets the
    /// default route via the router.
    fn configure_client(&self, ifname: &str) -> Result<(), LabError> {
        self.address(Role::Client, ifname, Some("10.0.0.2/24"))?;
        self.route(Role::Client, "default", "10.0.0.1")
    }

    /// The command line (without the binary) of the router in the
    /// namespace of `role`.
    fn router_args(&self, cfg: &LabConfig, role: Role) -> Vec<String> {
        let private = match self.backend {
            Backend::Packet => "packet:priv0".to_string(),
            Backend::Tap => format!("tap:{TAP_NAME}"),
        };
        let (private_addr, public_addr) = match role {
            Role::Router2 => ("10.1.0.1/24", "198.18.0.3/24"),
            _ => ("10.0.0.1/24", "198.18.0.2/24"),
        };
        let mut args: Vec<String> = [
            "--private-if",
            &private,
            "--private-addr",
            private_addr,
            "--public-if",
            "packet:pub0",
            "--public-addr",
            public_addr,
            "--public-gateway",
            "198.18.0.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if self.layout == Layout::OneNat {
            let tcp_target = if self.private_hosts > 1 {
                format!("{}:{}", addr::CLIENT2, port::CLIENT2_HTTP)
            } else {
                format!("{}:{}", addr::CLIENT, port::CLIENT_HTTP)
            };
            args.extend([
                "--forward".to_string(),
                format!("tcp:{}={tcp_target}", port::FORWARD_TCP),
                "--forward".to_string(),
                format!(
                    "udp:{}={}:{}",
                    port::FORWARD_UDP,
                    addr::CLIENT,
                    port::CLIENT_UDP_ECHO
                ),
            ]);
        }
        args.push("--stats-file".to_string());
        args.push(self.stats_path_of(role).to_string_lossy().into_owned());
        args.extend(cfg.extra_router_args.iter().cloned());
        args
    }

    /// Starts the router process (or the test double's) in the namespace of
    /// `role`, its output going to `router.log` (`router2.log` for
    /// [`Role::Router2`]).
    fn start_router(&self, cfg: &LabConfig, role: Role) -> Result<(), LabError> {
        let (program, args): (String, Vec<String>) = match self.kind {
            RouterKind::Unat => (
                cfg.router_bin.to_string_lossy().into_owned(),
                self.router_args(cfg, role),
            ),
            #[cfg(test)]
            RouterKind::Linux => match self.backend {
                Backend::Packet => return Ok(()),
                Backend::Tap => (
                    "socat".to_string(),
                    vec![
                        "INTERFACE:tapbr0".to_string(),
                        format!("TUN,tun-type=tap,tun-name={TAP_NAME},iff-no-pi,iff-up"),
                    ],
                ),
            },
        };
        let path = self.router_log_path(role);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| LabError::io(format!("creating {}", path.display()), e))?;
        let mut c = command("ip");
        c.args(["netns", "exec", self.namespace(role), &program])
            .args(&args)
            .stdin(Stdio::null());
        let _ = writeln!(log, "# {}", cmd::command_line(&c));
        let log2 = log
            .try_clone()
            .map_err(|e| LabError::io("duplicating the router log handle", e))?;
        c.stdout(log).stderr(log2);
        let child = c
            .spawn()
            .map_err(|e| LabError::io(format!("starting `{}`", cmd::command_line(&c)), e))?;
        lock(&self.routers).push((role, child));
        Ok(())
    }

    /// An error if a router (test double included) has exited.
    fn router_died(&self) -> Option<LabError> {
        let mut guard = lock(&self.routers);
        for (role, child) in guard.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                let role = *role;
                drop(guard);
                return Some(LabError::RouterExited {
                    status: status.to_string(),
                    log: self.router_log_of(role),
                });
            }
        }
        None
    }

    /// TAP mode: waits for the router's TAP device, moves it into the client
    /// namespace as `eth0` and configures it there.
    fn adopt_tap(&self) -> Result<(), LabError> {
        let router_ns = self.namespace(Role::Router);
        let deadline = Instant::now() + TAP_TIMEOUT;
        loop {
            if let Some(e) = self.router_died() {
                return Err(e);
            }
            if netns::ip(&["-n", router_ns, "link", "show", TAP_NAME]).success() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(LabError::TapNotCreated {
                    name: TAP_NAME.to_string(),
                    secs: TAP_TIMEOUT.as_secs(),
                    log: self.router_log(),
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
        // The router may still be configuring the device by name (e.g.
        // bringing it up); give it up to a second to finish before the move.
        let settle = Instant::now() + Duration::from_secs(1);
        while Instant::now() < settle {
            let link = netns::ip(&["-n", router_ns, "-o", "link", "show", TAP_NAME]);
            if link.stdout.contains(",UP") || link.stdout.contains("<UP") {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let client_ns = self.namespace(Role::Client);
        netns::ip_ok(
            "moving the TAP device into the client namespace",
            &["-n", router_ns, "link", "set", TAP_NAME, "netns", client_ns],
        )?;
        netns::ip_ok(
            "renaming the TAP device to eth0",
            &["-n", client_ns, "link", "set", TAP_NAME, "name", "eth0"],
        )?;
        // A TAP without a vnet header has no offloads to speak of; ethtool
        // may refuse some features, which is fine.
        let _ = self.exec(
            Role::Client,
            &[
                "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off", "gro", "off",
            ],
        );
        self.configure_client("eth0")
    }

    /// Waits until the router in the namespace of `role` answers `ping`
    /// from its private host (CLIENT to 10.0.0.1, PEER2 to 10.1.0.1).
    fn wait_router_ready(&self, role: Role) -> Result<(), LabError> {
        let deadline = Instant::now() + ROUTER_READY_TIMEOUT;
        let (from, target) = match role {
            Role::Router2 => (Role::Peer2, addr::ROUTER2_PRIVATE),
            _ => (Role::Client, addr::ROUTER_PRIVATE),
        };
        let target = target.to_string();
        loop {
            if let Some(e) = self.router_died() {
                return Err(e);
            }
            let out = self.exec_timeout(
                from,
                &["ping", "-n", "-c", "1", "-W", "1", &target],
                Duration::from_secs(3),
            );
            if out.success() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LabError::RouterNotReady {
                    secs: ROUTER_READY_TIMEOUT.as_secs(),
                    last: out.describe(),
                    log: self.router_log_of(role),
                });
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills everything the lab started and removes everything it created.
    /// Idempotent and panic-free.
    fn cleanup(&mut self) {
        if self.cleaned {
            return;
        }
        self.cleaned = true;
        for (_, mut router) in lock(&self.routers).drain(..) {
            let _ = cmd::terminate(&mut router, Duration::from_secs(2));
        }
        for mut b in lock(&self.background).drain(..) {
            cmd::kill_and_reap(&mut b.child);
        }
        for (_, name) in &self.names {
            netns::remove(name);
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
    }

    /// The pids of the processes the lab is tracking (for the crate's tests).
    #[cfg(test)]
    pub(crate) fn tracked_pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = lock(&self.background)
            .iter()
            .map(|b| b.child.id())
            .collect();
        pids.extend(lock(&self.routers).iter().map(|(_, c)| c.id()));
        pids
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.cleanup();
    }
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field("tag", &self.tag)
            .field("layout", &self.layout)
            .field("namespaces", &self.names)
            .field("backend", &self.backend)
            .field("tmp", &self.tmp)
            .finish_non_exhaustive()
    }
}

/// The MAC address following `keyword` (e.g. `link/ether`, `lladdr`) in
/// `ip` output.
pub(crate) fn mac_after(text: &str, keyword: &str) -> Option<Mac> {
    let mut words = text.split_whitespace();
    words.find(|w| *w == keyword)?;
    raw::parse_mac(words.next()?)
}
