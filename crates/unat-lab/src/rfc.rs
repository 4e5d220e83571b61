//! Checks of the RFC 4787 / 5382 behaviours that need more than one private
//! host, two NATs or the passage of time: hairpinning, UDP hole punching
//! and idle timeouts. Like the basic checks, each returns a [`Check`] with
//! the evidence in its detail.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use crate::checks::Check;
use crate::cmd::{excerpt, CmdOutput};
use crate::json::{self, Object};
use crate::stats::drop_deltas;
use crate::topology::{addr, port, Lab, Layout, Role};

/// How long a hole-punching peer waits for the rendezvous server.
const PEER_REGISTER_SECS: u64 = 5;
/// How long a hole-punching peer punches at most.
const PEER_PUNCH_SECS: u64 = 5;

/// What one hole-punching peer reported (`peer.py`'s JSON line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerReport {
    /// `peer1` (behind ROUTER) or `peer2` (behind ROUTER2).
    pub name: String,
    /// Its own public endpoint as the rendezvous server saw it, if it got
    /// that far.
    pub public: Option<String>,
    /// The other peer's public endpoint, as the rendezvous server told it.
    pub peer: Option<String>,
    /// Whether a punch from the other peer arrived.
    pub received: bool,
    /// The source endpoint of the first punch that arrived.
    pub received_from: Option<String>,
    /// Whether the other peer said it received this one's punches.
    pub peer_received: bool,
    /// Punches sent.
    pub sent: u64,
    /// What went wrong (no rendezvous answer, no report, a send error).
    pub error: Option<String>,
    /// The peer process's command, exit and output, for reports.
    pub output: String,
}

impl PeerReport {
    fn from_output(name: &str, out: &CmdOutput) -> PeerReport {
        let report = json::objects(&out.stdout)
            .into_iter()
            .rfind(|o| o.has("received"));
        let Some(o) = report else {
            return PeerReport {
                name: name.to_string(),
                error: Some("no report from the peer script".to_string()),
                output: out.describe(),
                ..PeerReport::default()
            };
        };
        let text = |k: &str| o.str(k).map(str::to_string);
        PeerReport {
            name: text("name").unwrap_or_else(|| name.to_string()),
            public: text("public"),
            peer: text("peer"),
            received: o.flag("received"),
            received_from: text("received_from"),
            peer_received: o.flag("peer_received"),
            sent: o.num("sent").unwrap_or(0),
            error: text("error"),
            output: out.describe(),
        }
    }

    /// True when it learned both public endpoints from the rendezvous.
    pub fn registered(&self) -> bool {
        self.public.is_some() && self.peer.is_some()
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} (public {}) -> {}: sent {}, ",
            self.name,
            self.public.as_deref().unwrap_or("?"),
            self.peer.as_deref().unwrap_or("?"),
            self.sent
        );
        match (&self.received, &self.received_from) {
            (true, Some(from)) => s.push_str(&format!("received from {from}")),
            (true, None) => s.push_str("received"),
            (false, _) => s.push_str("received nothing"),
        }
        if let Some(e) = &self.error {
            s.push_str(&format!(" [error: {e}]"));
        }
        s
    }
}

/// The outcome of one hole-punching attempt between PEER1 and PEER2
/// ([`Lab::hole_punch`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolePunch {
    /// PEER1's report, then PEER2's.
    pub peers: [PeerReport; 2],
    /// The rendezvous server's log.
    pub rendezvous_log: String,
}

impl HolePunch {
    /// Both peers learned each other's public endpoint.
    pub fn registered(&self) -> bool {
        self.peers.iter().all(PeerReport::registered)
    }

    /// Both peers received the other's punches.
    pub fn both_received(&self) -> bool {
        self.peers.iter().all(|p| p.received)
    }

    /// Neither peer received anything from the other.
    pub fn none_received(&self) -> bool {
        self.peers.iter().all(|p| !p.received)
    }

    fn summary(&self) -> String {
        self.peers
            .iter()
            .map(PeerReport::summary)
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn evidence(&self) -> String {
        let mut s = String::new();
        for p in &self.peers {
            s.push_str(&format!("\n{}: {}", p.name, p.output));
        }
        s.push_str(&format!(
            "\nrendezvous log: {}",
            excerpt(&self.rendezvous_log, 600)
        ));
        s
    }
}

/// The `received` lines (`{"from": ..., "data": ...}`) of a nettool log.
fn datagrams(log: &str) -> Vec<(String, String)> {
    json::objects(log)
        .into_iter()
        .filter_map(|o| Some((o.str("from")?.to_string(), o.str("data")?.to_string())))
        .collect()
}

/// The `public` endpoint a nettool probe printed.
fn public_of(objects: &[Object]) -> Option<String> {
    objects
        .iter()
        .find_map(|o| o.str("public").map(str::to_string))
}

/// Sleeps until `t`, if it is in the future.
fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        thread::sleep(t - now);
    }
}

impl Lab {
    /// Runs `nettool.py` with `args` in the namespace of `role`.
    pub(crate) fn nettool(&self, role: Role, args: &[&str], timeout: Duration) -> CmdOutput {
        let script = self.script("nettool.py");
        let mut all = vec!["/usr/bin/python3", "-u", &script];
        all.extend_from_slice(args);
        self.exec_timeout(role, &all, timeout)
    }

    /// Starts `nettool.py` with `args` in the background in the namespace of
    /// `role`, under `label`.
    fn spawn_nettool(&self, role: Role, label: &str, args: &[&str]) -> Result<(), String> {
        let script = self.script("nettool.py");
        let mut all = vec!["/usr/bin/python3", "-u", &script];
        all.extend_from_slice(args);
        self.spawn_background(role, label, &all)
            .map_err(|e| e.to_string())
    }

    /// Starts the UDP reflector on the server (port
    /// [`port::SERVER_UDP_REFLECT`]) under `label` and waits until it
    /// listens.
    fn start_reflector(&self, label: &str) -> Result<(), String> {
        let port = port::SERVER_UDP_REFLECT.to_string();
        self.spawn_nettool(
            Role::Server,
            label,
            &["reflect", &addr::SERVER.to_string(), &port],
        )?;
        self.wait_listening(Role::Server, false, port::SERVER_UDP_REFLECT, label)
            .map_err(|e| e.to_string())
    }

    /// Waits (at most `timeout`) until the background nettool `label` has
    /// printed its public endpoint.
    fn wait_public(&self, label: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.background_log(label);
            let objects = json::objects(&log);
            if let Some(public) = public_of(&objects) {
                return Ok(public);
            }
            if objects.iter().any(|o| o.has("error")) || Instant::now() >= deadline {
                return Err(format!(
                    "{label} did not learn its public endpoint: {}",
                    excerpt(&log, 400)
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most `timeout`) until the background nettool `label` has
    /// received a datagram with `data`; returns its source endpoint.
    fn wait_datagram(&self, label: &str, data: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = datagrams(&self.background_log(label))
                .into_iter()
                .find(|(_, d)| d == data);
            if let Some((from, _)) = got {
                return Some(from);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Why a check needing two private hosts cannot run here, if it cannot.
    fn needs_two_private_hosts(&self) -> Option<String> {
        (self.layout() != Layout::OneNat || self.private_hosts() < 2).then(|| {
            "this check needs a lab with two private hosts (LabConfig::private_hosts = 2)"
                .to_string()
        })
    }

    /// Hairpinning through a port forward (RFC 5382 REQ-8, RFC 4787
    /// REQ-9): in a lab with two private hosts, where the router forwards
    /// tcp:8080 to CLIENT2's HTTP server, CLIENT fetches
    /// `http://198.18.0.2:8080/client2.txt` and gets CLIENT2's file, and
    /// CLIENT2's server log shows the request coming from 198.18.0.2 (the
    /// sender's public endpoint, REQ-8a / REQ-9a), not from 10.0.0.2.
    pub fn check_hairpin_forward(&self) -> Check {
        const NAME: &str = "hairpin_forward";
        if let Some(why) = self.needs_two_private_hosts() {
            return self.verdict(NAME, false, why);
        }
        let token = format!("hairpin-{}-{}", self.tag(), self.next_run());
        let url = format!(
            "http://{}:{}/client2.txt?{token}",
            addr::ROUTER_PUBLIC,
            port::FORWARD_TCP
        );
        let curl = self.exec_timeout(
            Role::Client,
            &["curl", "-sS", "--max-time", "5", &url],
            Duration::from_secs(10),
        );
        let got_file = curl.success() && curl.stdout == self.client2_text();
        // http.server logs `<client address> - - [date] "GET /path..." 200 -`.
        let deadline = Instant::now() + Duration::from_secs(2);
        let source = loop {
            let log = self.background_log("client2-http");
            let line = log.lines().find(|l| l.contains(&token)).map(str::to_string);
            if line.is_some() || Instant::now() >= deadline {
                break line;
            }
            thread::sleep(Duration::from_millis(20));
        };
        let seen = source
            .as_deref()
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("");
        let expected = addr::ROUTER_PUBLIC.to_string();
        let passed = got_file && seen == expected;
        let mut detail = format!(
            "client GET {url}: {}; CLIENT2's server saw the request from {} (expected {expected}, the public address)",
            if got_file { "got CLIENT2's file" } else { "FAILED" },
            if seen.is_empty() { "nowhere (no log line)" } else { seen },
        );
        if !got_file {
            detail.push_str(&format!(
                "\nexpected {:?}\n{}",
                self.client2_text().trim(),
                curl.describe()
            ));
        }
        if seen != expected {
            detail.push_str(&format!(
                "\nCLIENT2 server log: {}",
                excerpt(&self.background_log("client2-http"), 600)
            ));
        }
        self.verdict(NAME, passed, detail)
    }

    /// UDP hairpinning between two private hosts (RFC 4787 REQ-9/9a):
    /// CLIENT2 asks the server's reflector from a fixed port for its public
    /// endpoint 198.18.0.2:p2 and keeps listening on that port; CLIENT does
    /// the same (198.18.0.2:p1), then sends to 198.18.0.2:p2. CLIENT2 must
    /// receive it with source 198.18.0.2:p1, CLIENT's public endpoint.
    /// With address-dependent filtering this shows that hairpinned packets
    /// are not filtered.
    pub fn check_udp_hairpin(&self) -> Check {
        const NAME: &str = "udp_hairpin";
        if let Some(why) = self.needs_two_private_hosts() {
            return self.verdict(NAME, false, why);
        }
        let n = self.next_run();
        let reflector = format!("reflector-{n}");
        let listener = format!("hairpin-listen-{n}");
        let result = self.udp_hairpin_inner(n, &reflector, &listener);
        self.stop_background(&listener);
        self.stop_background(&reflector);
        match result {
            Ok((passed, detail)) => self.verdict(NAME, passed, detail),
            Err(detail) => self.verdict(NAME, false, detail),
        }
    }

    fn udp_hairpin_inner(
        &self,
        n: u32,
        reflector: &str,
        listener: &str,
    ) -> Result<(bool, String), String> {
        self.start_reflector(reflector)?;
        let server = addr::SERVER.to_string();
        let reflect_port = port::SERVER_UDP_REFLECT.to_string();
        let port2 = (42000 + n % 1000).to_string();
        let port1 = (43000 + n % 1000).to_string();

        self.spawn_nettool(
            Role::Client2,
            listener,
            &[
                "probe",
                &addr::CLIENT2.to_string(),
                &port2,
                &server,
                &reflect_port,
                "8",
            ],
        )?;
        let public2 = self.wait_public(listener, Duration::from_secs(5))?;

        let probe1 = self.nettool(
            Role::Client,
            &[
                "probe",
                &addr::CLIENT.to_string(),
                &port1,
                &server,
                &reflect_port,
            ],
            Duration::from_secs(8),
        );
        let public1 = public_of(&json::objects(&probe1.stdout))
            .ok_or_else(|| format!("CLIENT's probe failed: {}", probe1.describe()))?;

        let (to_addr, to_port) = public2
            .rsplit_once(':')
            .ok_or_else(|| format!("bad endpoint {public2:?}"))?;
        let text = format!("udp-hairpin-{}-{n}", self.tag());
        let send = self.nettool(
            Role::Client,
            &[
                "send",
                &addr::CLIENT.to_string(),
                &port1,
                to_addr,
                to_port,
                &text,
                "3",
                "0.2",
            ],
            Duration::from_secs(5),
        );
        let from = self.wait_datagram(listener, &text, Duration::from_secs(3));
        let passed = from.as_deref() == Some(public1.as_str());
        let mut detail = format!(
            "CLIENT2 {}:{port2} is {public2}, CLIENT {}:{port1} is {public1}; CLIENT -> {public2}: {}",
            addr::CLIENT2,
            addr::CLIENT,
            match &from {
                Some(f) if *f == public1 => format!("CLIENT2 received it from {f} (CLIENT's public endpoint)"),
                Some(f) => format!("CLIENT2 received it from {f}, expected {public1}"),
                None => "NOTHING arrived at CLIENT2".to_string(),
            }
        );
        if !passed {
            detail.push_str(&format!(
                "\nsend: {}\nCLIENT2 listener log: {}",
                send.describe(),
                excerpt(&self.background_log(listener), 600)
            ));
        }
        Ok((passed, detail))
    }

    /// One UDP hole-punching attempt in the two-NAT lab: PEER1 and PEER2
    /// (`peer.py`, run at the same time) register with the rendezvous
    /// server from a fixed port, learn each other's public endpoint, and
    /// punch for at most 5 s. Fails only when the lab is not a two-NAT lab.
    pub fn hole_punch(&self) -> Result<HolePunch, String> {
        if self.layout() != Layout::TwoNats {
            return Err("hole punching needs the two-NAT lab (Lab::start_two_nats)".to_string());
        }
        let n = self.next_run();
        let session = format!("{}-{n}", self.tag());
        let local_port = (port::PEER + (n % 1000) as u16).to_string();
        let script = self.script("peer.py");
        let rendezvous = addr::RENDEZVOUS.to_string();
        let rendezvous_port = port::RENDEZVOUS.to_string();
        let register = PEER_REGISTER_SECS.to_string();
        let punch = PEER_PUNCH_SECS.to_string();
        let timeout = Duration::from_secs(PEER_REGISTER_SECS + PEER_PUNCH_SECS + 5);
        let run = |role: Role, name: &str, address: std::net::Ipv4Addr| {
            let address = address.to_string();
            let out = self.exec_timeout(
                role,
                &[
                    "/usr/bin/python3",
                    "-u",
                    &script,
                    name,
                    &session,
                    &address,
                    &local_port,
                    &rendezvous,
                    &rendezvous_port,
                    &register,
                    &punch,
                    "0.2",
                ],
                timeout,
            );
            PeerReport::from_output(name, &out)
        };
        let (p1, p2) = thread::scope(|s| {
            let h1 = s.spawn(|| run(Role::Client, "peer1", addr::PEER1));
            let p2 = run(Role::Peer2, "peer2", addr::PEER2);
            let p1 = h1.join().unwrap_or_else(|_| PeerReport {
                name: "peer1".to_string(),
                error: Some("the peer1 thread panicked".to_string()),
                ..PeerReport::default()
            });
            (p1, p2)
        });
        Ok(HolePunch {
            peers: [p1, p2],
            rendezvous_log: self.background_log("rendezvous"),
        })
    }

    /// UDP hole punching succeeds (RFC 4787 REQ-1, endpoint-independent
    /// mapping; RFC 5128): both peers receive each other's datagrams, sent
    /// to the public endpoints the rendezvous server saw.
    pub fn check_hole_punching(&self) -> Check {
        self.hole_punch_check(
            "hole_punching",
            true,
            "both peers received each other's punches",
            "hole punching FAILED",
        )
    }

    /// UDP hole punching fails as it should when the routers map per
    /// destination (`--mapping apdm`): both peers register (so the lab
    /// works) but neither receives anything, since the port each peer
    /// punches to is the one mapped for the rendezvous server, not for it.
    pub fn check_hole_punching_blocked(&self) -> Check {
        self.hole_punch_check(
            "hole_punching_blocked",
            false,
            "neither peer received anything",
            "punches GOT THROUGH",
        )
    }

    /// Runs the hole punch and checks that both peers registered and that
    /// the punches got through (`expect_through`) or that none did.
    fn hole_punch_check(
        &self,
        name: &'static str,
        expect_through: bool,
        pass_text: &str,
        fail_text: &str,
    ) -> Check {
        let hp = match self.hole_punch() {
            Ok(hp) => hp,
            Err(e) => return self.verdict(name, false, e),
        };
        let outcome = if expect_through {
            hp.both_received()
        } else {
            hp.none_received()
        };
        let passed = hp.registered() && outcome;
        let mut detail = format!(
            "{}: {}",
            if passed {
                pass_text
            } else if !hp.registered() {
                "registration with the rendezvous FAILED"
            } else {
                fail_text
            },
            hp.summary()
        );
        if !passed {
            detail.push_str(&hp.evidence());
        }
        self.verdict(name, passed, detail)
    }

    /// A TCP connection outlives an idle period (e.g. longer than the UDP
    /// timeout, shorter than the TCP established timeout): CLIENT connects
    /// to a TCP echo server on SERVER, exchanges a line, stays idle for
    /// `idle`, then exchanges a second line on the same connection.
    pub fn check_tcp_idle(&self, idle: Duration) -> Check {
        const NAME: &str = "tcp_idle";
        let label = format!("tcp-echo-{}", self.next_run());
        let result = self.tcp_idle_inner(&label, idle);
        self.stop_background(&label);
        match result {
            Ok((passed, detail)) => self.verdict(NAME, passed, detail),
            Err(detail) => self.verdict(NAME, false, detail),
        }
    }

    fn tcp_idle_inner(&self, label: &str, idle: Duration) -> Result<(bool, String), String> {
        let listen = format!(
            "TCP4-LISTEN:{},bind={},reuseaddr,fork",
            port::SERVER_TCP_ECHO,
            addr::SERVER
        );
        self.spawn_background(Role::Server, label, &["socat", &listen, "PIPE"])
            .map_err(|e| e.to_string())?;
        self.wait_listening(Role::Server, true, port::SERVER_TCP_ECHO, label)
            .map_err(|e| e.to_string())?;
        let secs = format!("{:.1}", idle.as_secs_f64());
        let out = self.nettool(
            Role::Client,
            &[
                "tcp-idle",
                &addr::SERVER.to_string(),
                &port::SERVER_TCP_ECHO.to_string(),
                &secs,
            ],
            idle + Duration::from_secs(10),
        );
        let report = json::objects(&out.stdout)
            .into_iter()
            .rfind(|o| o.has("second"))
            .unwrap_or_default();
        let first = report.str("first") == Some("first");
        let second = report.str("second") == Some("second");
        let passed = out.success() && first && second;
        let mut detail = format!(
            "tcp {} -> {}:{}: echo before idling {}; after {secs} s idle {}",
            report.str("local").unwrap_or("?"),
            addr::SERVER,
            port::SERVER_TCP_ECHO,
            if first { "ok" } else { "FAILED" },
            if second { "ok" } else { "FAILED" },
        );
        if !passed {
            detail.push('\n');
            detail.push_str(&out.describe());
        }
        Ok((passed, detail))
    }

    /// A UDP mapping expires after `udp_timeout` without outbound traffic
    /// (RFC 4787 REQ-5) and then refuses inbound packets: CLIENT asks the
    /// server's reflector from a fixed port for its public endpoint and
    /// listens there, sending nothing more. At `udp_timeout`/3 the server
    /// sends to that endpoint from the reflector's address and port, and it
    /// arrives (the control); at `udp_timeout` + 2 s it sends again, and that
    /// must not arrive, while the router's `drop_no_entry` counter grows.
    /// The router must run with that `--udp-timeout` (and
    /// `--allow-short-timeouts` for short ones). `--inbound-refresh` would
    /// not change the outcome: the late send comes more than `udp_timeout`
    /// after the control.
    pub fn check_udp_mapping_expiry(&self, udp_timeout: Duration) -> Check {
        const NAME: &str = "udp_mapping_expiry";
        let n = self.next_run();
        let reflector = format!("reflector-{n}");
        let listener = format!("expiry-listen-{n}");
        let result = self.udp_expiry_inner(n, udp_timeout, &reflector, &listener);
        self.stop_background(&listener);
        self.stop_background(&reflector);
        match result {
            Ok((passed, detail)) => self.verdict(NAME, passed, detail),
            Err(detail) => self.verdict(NAME, false, detail),
        }
    }

    fn udp_expiry_inner(
        &self,
        n: u32,
        udp_timeout: Duration,
        reflector: &str,
        listener: &str,
    ) -> Result<(bool, String), String> {
        self.start_reflector(reflector)?;
        let server = addr::SERVER.to_string();
        let reflect_port = port::SERVER_UDP_REFLECT.to_string();
        let local_port = (44000 + n % 1000).to_string();
        let late_at = udp_timeout + Duration::from_secs(2);
        let listen_secs = format!("{:.1}", (late_at + Duration::from_secs(4)).as_secs_f64());
        self.spawn_nettool(
            Role::Client,
            listener,
            &[
                "probe",
                &addr::CLIENT.to_string(),
                &local_port,
                &server,
                &reflect_port,
                &listen_secs,
            ],
        )?;
        let public = self.wait_public(listener, Duration::from_secs(5))?;
        // The probe (the flow's last outbound packet) went out just before.
        let t0 = Instant::now();
        // Free the reflector's port so the server can send from exactly the
        // endpoint the client talked to (passes any filtering behaviour).
        self.stop_background(reflector);
        let (to_addr, to_port) = public
            .rsplit_once(':')
            .ok_or_else(|| format!("bad endpoint {public:?}"))?;
        let send_from_server = |text: &str| {
            self.nettool(
                Role::Server,
                &[
                    "send",
                    &server,
                    &reflect_port,
                    to_addr,
                    to_port,
                    text,
                    "2",
                    "0.1",
                ],
                Duration::from_secs(5),
            )
        };

        let control_at = udp_timeout / 3;
        sleep_until(t0 + control_at);
        let control_text = format!("expiry-control-{}-{n}", self.tag());
        let control_send = send_from_server(&control_text);
        let control_sent = t0.elapsed();
        let control = self.wait_datagram(listener, &control_text, Duration::from_secs(1));

        let before = self.router_stats_fresh(Duration::from_millis(1500));
        sleep_until(t0 + late_at);
        let late_text = format!("expiry-late-{}-{n}", self.tag());
        let late_send = send_from_server(&late_text);
        let late_sent = t0.elapsed();
        let late = self.wait_datagram(listener, &late_text, Duration::from_millis(1500));

        let no_entry = |s: &BTreeMap<String, u64>| s.get("drop_no_entry").copied().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut after = self.router_stats_fresh(Duration::from_millis(1500));
        while no_entry(&after) <= no_entry(&before) && Instant::now() < deadline {
            after = self.router_stats_fresh(Duration::from_millis(1500));
        }
        let grown = no_entry(&after).saturating_sub(no_entry(&before));

        let passed = control.is_some() && late.is_none() && grown > 0;
        let mut detail = format!(
            "CLIENT {}:{local_port} is {public}; server -> {public} at {:.1} s: {}; at {:.1} s (udp timeout {} s): {}; drop_no_entry +{grown} ({})",
            addr::CLIENT,
            control_sent.as_secs_f64(),
            if control.is_some() { "arrived" } else { "did NOT arrive" },
            late_sent.as_secs_f64(),
            udp_timeout.as_secs_f64(),
            if late.is_some() { "ARRIVED" } else { "refused" },
            drop_deltas(&before, &after),
        );
        if !passed {
            detail.push_str(&format!(
                "\ncontrol send: {}\nlate send: {}\nCLIENT listener log: {}",
                control_send.describe(),
                late_send.describe(),
                excerpt(&self.background_log(listener), 600)
            ));
        }
        Ok((passed, detail))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn peer_reports_are_parsed() {
        let out = CmdOutput {
            status: Some(0),
            stdout: concat!(
                r#"{"name": "peer1", "public": "198.18.0.2:1024", "peer": "198.18.0.3:2048", "#,
                r#""received": true, "received_from": "198.18.0.3:2048", "peer_received": true, "#,
                r#""sent": 4, "error": null}"#,
                "\n"
            )
            .to_string(),
            ..CmdOutput::default()
        };
        let r = PeerReport::from_output("peer1", &out);
        assert!(r.registered());
        assert!(r.received && r.peer_received);
        assert_eq!(r.received_from.as_deref(), Some("198.18.0.3:2048"));
        assert_eq!(r.sent, 4);
        assert_eq!(r.error, None);

        let none = PeerReport::from_output("peer2", &CmdOutput::default());
        assert!(!none.registered());
        assert!(none.error.is_some());
        let hp = HolePunch {
            peers: [r, none],
            rendezvous_log: String::new(),
        };
        assert!(!hp.registered());
        assert!(!hp.both_received());
        assert!(!hp.none_received());
    }

    #[test]
    fn datagram_lines_are_parsed() {
        let log = "{\"public\": \"198.18.0.2:1\"}\n{\"from\": \"198.18.0.2:7\", \"data\": \"x\"}\nnoise\n";
        assert_eq!(
            datagrams(log),
            vec![("198.18.0.2:7".to_string(), "x".to_string())]
        );
        assert_eq!(
            public_of(&json::objects(log)).as_deref(),
            Some("198.18.0.2:1")
        );
    }
}
