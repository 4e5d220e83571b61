//! The behaviour checks: real traffic through the router, each returning a
//! [`Check`] with the evidence (command output excerpts) in its detail.

use std::ops::ControlFlow;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cmd::{excerpt, CmdOutput};
use crate::raw;
use crate::stats::{drop_deltas, drop_total};
use crate::topology::{addr, mac_after, port, Lab, Layout, Role};

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Short name, e.g. `ping` or `unsolicited_blocked`.
    pub name: &'static str,
    /// Whether the behaviour was as expected.
    pub passed: bool,
    /// The evidence: a one-line summary first, then excerpts of the command
    /// output that decided the result.
    pub detail: String,
}

impl Check {
    pub(crate) fn new(name: &'static str, passed: bool, detail: impl Into<String>) -> Check {
        Check {
            name,
            passed,
            detail: detail.into(),
        }
    }

    /// The first line of the detail, for one-line reports.
    pub fn summary(&self) -> &str {
        self.detail.lines().next().unwrap_or("")
    }
}

/// A check function.
type CheckFn = fn(&Lab) -> Check;

/// The checks in demo order.
const CHECKS: [CheckFn; 8] = [
    Lab::check_ping,
    Lab::check_ping_router,
    Lab::check_http,
    Lab::check_udp,
    Lab::check_traceroute,
    Lab::check_forward,
    Lab::check_unsolicited_blocked,
    Lab::check_malformed,
];

/// `received/transmitted replies` from ping's statistics line
/// ("3 packets transmitted, 3 received, 0% packet loss, ..."), or an
/// excerpt of the output when there is none.
pub(crate) fn ping_summary(out: &CmdOutput) -> String {
    let counts = out.stdout.lines().find_map(|l| {
        let mut parts = l.split(", ");
        let sent = parts.next()?.strip_suffix(" packets transmitted")?;
        let got = parts.next()?.strip_suffix(" received")?;
        Some(format!("{got}/{sent} replies"))
    });
    counts.unwrap_or_else(|| excerpt(&out.combined(), 200))
}

/// True when ping got every reply.
pub(crate) fn no_loss(out: &CmdOutput) -> bool {
    out.success() && out.stdout.contains(", 0% packet loss")
}

/// A seed for the random frame that differs between runs.
fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x5eed);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// The extra checks of a lab with two private hosts, after [`CHECKS`].
const TWO_HOST_CHECKS: [CheckFn; 2] = [Lab::check_hairpin_forward, Lab::check_udp_hairpin];

/// The checks of the two-NAT lab.
const TWO_NAT_CHECKS: [CheckFn; 1] = [Lab::check_hole_punching];

impl Lab {
    /// The checks [`Lab::run_all_checks`] runs for this lab's layout.
    pub(crate) fn check_list(&self) -> Vec<CheckFn> {
        match self.layout() {
            Layout::OneNat if self.private_hosts() > 1 => {
                CHECKS.iter().chain(&TWO_HOST_CHECKS).copied().collect()
            }
            Layout::OneNat => CHECKS.to_vec(),
            Layout::TwoNats => TWO_NAT_CHECKS.to_vec(),
        }
    }

    /// Runs every check in demo order: the eight basic checks; with two
    /// private hosts also [`Lab::check_hairpin_forward`] and
    /// [`Lab::check_udp_hairpin`]; in the two-NAT lab only
    /// [`Lab::check_hole_punching`]. (The timeout checks need router flags
    /// and are not among them.)
    pub fn run_all_checks(&self) -> Vec<Check> {
        self.run_checks(|_| ControlFlow::Continue(()))
    }

    /// Runs the checks in demo order, calling `each` after every check (to
    /// print progress); stops early when it returns `Break`.
    pub fn run_checks(&self, mut each: impl FnMut(&Check) -> ControlFlow<()>) -> Vec<Check> {
        let checks = self.check_list();
        let mut results = Vec::with_capacity(checks.len());
        for check in checks {
            let c = check(self);
            let flow = each(&c);
            results.push(c);
            if flow.is_break() {
                break;
            }
        }
        results
    }

    /// A check result; on failure, notes if the router process has died.
    pub(crate) fn verdict(&self, name: &'static str, passed: bool, mut detail: String) -> Check {
        if !passed {
            if let Some(exit) = self.router_exit() {
                detail.push_str(&format!(
                    "\n{exit}; router log tail:\n{}",
                    excerpt(&self.router_log(), 1500)
                ));
            }
        }
        Check::new(name, passed, detail)
    }

    pub(crate) fn ping_from(&self, role: Role, target: &str, count: &str, wait: &str) -> CmdOutput {
        self.exec_timeout(
            role,
            &["ping", "-n", "-c", count, "-W", wait, target],
            Duration::from_secs(10),
        )
    }

    /// Check 1: The client pings the server through the NAT with no loss.
    pub fn check_ping(&self) -> Check {
        let out = self.ping_from(Role::Client, &addr::SERVER.to_string(), "3", "2");
        let passed = no_loss(&out);
        let mut detail = format!("client -> {}: {}", addr::SERVER, ping_summary(&out));
        if !passed {
            detail.push('\n');
            detail.push_str(&out.describe());
        }
        self.verdict("ping", passed, detail)
    }

    /// Check 2: The router answers pings on both its addresses: from the client to
    /// 10.0.0.1 and from the hop to 198.18.0.2.
    pub fn check_ping_router(&self) -> Check {
        let private = self.ping_from(Role::Client, &addr::ROUTER_PRIVATE.to_string(), "3", "2");
        let public = self.ping_from(Role::Hop, &addr::ROUTER_PUBLIC.to_string(), "3", "2");
        let passed = no_loss(&private) && no_loss(&public);
        let mut detail = format!(
            "client -> {}: {}; hop -> {}: {}",
            addr::ROUTER_PRIVATE,
            ping_summary(&private),
            addr::ROUTER_PUBLIC,
            ping_summary(&public)
        );
        for out in [&private, &public] {
            if !no_loss(out) {
                detail.push('\n');
                detail.push_str(&out.describe());
            }
        }
        self.verdict("ping_router", passed, detail)
    }

    /// Check 3: The client fetches a file from the server's HTTP server.
    pub fn check_http(&self) -> Check {
        let url = format!("http://{}:{}/probe.txt", addr::SERVER, port::SERVER_HTTP);
        let out = self.exec_timeout(
            Role::Client,
            &["curl", "-sS", "--max-time", "5", &url],
            Duration::from_secs(10),
        );
        let passed = out.success() && out.stdout == self.probe_text();
        let detail = if passed {
            format!("client GET {url}: {:?}", out.stdout.trim())
        } else {
            format!(
                "client GET {url}: expected {:?}\n{}",
                self.probe_text().trim(),
                out.describe()
            )
        };
        self.verdict("http", passed, detail)
    }

    /// Sends `text` with socat from `role` to `target` (UDP) and returns the
    /// echo it got back.
    fn udp_round_trip(&self, role: Role, target: &str, text: &str) -> CmdOutput {
        self.exec_input(
            role,
            &[
                "socat",
                "-T",
                "3",
                "-t",
                "2",
                "-",
                &format!("UDP4:{target}"),
            ],
            Some(text.as_bytes()),
            Duration::from_secs(5),
        )
    }

    /// Check 4: A UDP datagram from the client to the server's echo server comes
    /// back.
    pub fn check_udp(&self) -> Check {
        let text = format!("hello-unat-{}\n", self.tag());
        let target = format!("{}:{}", addr::SERVER, port::SERVER_UDP_ECHO);
        let out = self.udp_round_trip(Role::Client, &target, &text);
        let passed = out.stdout == text;
        let detail = if passed {
            format!("client -> {target} (udp) echoed {:?}", text.trim())
        } else {
            format!(
                "client -> {target} (udp): expected echo {:?}\n{}",
                text.trim(),
                out.describe()
            )
        };
        self.verdict("udp", passed, detail)
    }

    /// Check 5: traceroute from the client shows the hop router (198.18.0.1) and
    /// reaches the server, so ICMP errors come back through the NAT.
    pub fn check_traceroute(&self) -> Check {
        let target = addr::SERVER.to_string();
        let out = self.exec_timeout(
            Role::Client,
            &["traceroute", "-n", "-w", "1", "-q", "1", "-m", "6", &target],
            Duration::from_secs(15),
        );
        // Hop lines look like " 2  198.18.0.1  0.062 ms" or " 1  *".
        let hops: Vec<(String, String)> = out
            .stdout
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let n = w.next()?;
                n.parse::<u8>().ok()?;
                Some((n.to_string(), w.next().unwrap_or("").to_string()))
            })
            .collect();
        // Hop 1 is the NAT itself (its Time Exceeded, from its private
        // address); the hop router's Time Exceeded and the server's Port
        // Unreachable come back translated.
        let nat_first = hops
            .first()
            .is_some_and(|(n, a)| n == "1" && *a == addr::ROUTER_PRIVATE.to_string());
        let hop_seen = hops.iter().any(|(_, a)| *a == addr::HOP_INNER.to_string());
        let reached = hops.last().is_some_and(|(_, a)| *a == target);
        let passed = out.success() && nat_first && hop_seen && reached;
        let path: Vec<String> = hops.iter().map(|(n, a)| format!("{n} {a}")).collect();
        let mut detail = format!(
            "hops: {} ({} the NAT {} first, {} hop router {}, {} {})",
            path.join(", "),
            if nat_first { "shows" } else { "MISSING" },
            addr::ROUTER_PRIVATE,
            if hop_seen { "shows" } else { "MISSING" },
            addr::HOP_INNER,
            if reached { "reached" } else { "did NOT reach" },
            target
        );
        if !passed {
            detail.push('\n');
            detail.push_str(&out.describe());
        }
        self.verdict("traceroute", passed, detail)
    }

    /// Check 6: Port forwards: the server fetches the client's file through
    /// 198.18.0.2:8080 (TCP) and gets an echo from the client through
    /// 198.18.0.2:5353 (UDP).
    pub fn check_forward(&self) -> Check {
        let url = format!(
            "http://{}:{}/private.txt",
            addr::ROUTER_PUBLIC,
            port::FORWARD_TCP
        );
        let http = self.exec_timeout(
            Role::Server,
            &["curl", "-sS", "--max-time", "5", &url],
            Duration::from_secs(10),
        );
        let tcp_ok = http.success() && http.stdout == self.private_text();

        let text = format!("hello-forward-{}\n", self.tag());
        let target = format!("{}:{}", addr::ROUTER_PUBLIC, port::FORWARD_UDP);
        let udp = self.udp_round_trip(Role::Server, &target, &text);
        let udp_ok = udp.stdout == text;

        let mut detail = format!(
            "tcp: server GET {url} {}; udp: server -> {target} {}",
            if tcp_ok {
                "got the client's file"
            } else {
                "FAILED"
            },
            if udp_ok {
                "echoed by the client"
            } else {
                "FAILED"
            },
        );
        if !tcp_ok {
            detail.push_str(&format!(
                "\ntcp: expected {:?}\n{}",
                self.private_text().trim(),
                http.describe()
            ));
        }
        if !udp_ok {
            detail.push_str(&format!(
                "\nudp: expected echo {:?}\n{}",
                text.trim(),
                udp.describe()
            ));
        }
        self.verdict("forward", tcp_ok && udp_ok, detail)
    }

    /// Check 7: Unsolicited traffic from the public side does not reach the client:
    /// with a route on the hop that sends 10.0.0.0/24 to the NAT, the server
    /// sends UDP to 10.0.0.2:9999 and 198.18.0.2:9999, pings 10.0.0.2 and
    /// connects to 10.0.0.2:2222. Nothing may arrive at the client's
    /// listeners, and the router's drop counters must grow.
    pub fn check_unsolicited_blocked(&self) -> Check {
        const NAME: &str = "unsolicited_blocked";
        let hop = self.namespace(Role::Hop);
        let had_route = !crate::netns::ip(&["-n", hop, "route", "show", "10.0.0.0/24"])
            .stdout
            .trim()
            .is_empty();
        let mut added_route = false;
        if !had_route {
            let out = crate::netns::ip(&[
                "-n",
                hop,
                "route",
                "add",
                "10.0.0.0/24",
                "via",
                &addr::ROUTER_PUBLIC.to_string(),
            ]);
            if !out.success() {
                return self.verdict(
                    NAME,
                    false,
                    format!("could not add the hop route\n{}", out.describe()),
                );
            }
            added_route = true;
        }

        let result = self.unsolicited_inner();

        self.stop_background("unsolicited-udp");
        self.stop_background("unsolicited-tcp");
        if added_route {
            let _ = crate::netns::ip(&["-n", hop, "route", "del", "10.0.0.0/24"]);
        }
        match result {
            Ok((passed, detail)) => self.verdict(NAME, passed, detail),
            Err(detail) => self.verdict(NAME, false, detail),
        }
    }

    fn unsolicited_inner(&self) -> Result<(bool, String), String> {
        let udp_file = self.tmp_dir().join("unsolicited-udp.txt");
        let tcp_file = self.tmp_dir().join("unsolicited-tcp.txt");
        for f in [&udp_file, &tcp_file] {
            std::fs::write(f, b"").map_err(|e| format!("creating {}: {e}", f.display()))?;
        }
        let udp_sink = format!("OPEN:{},creat,append", udp_file.display());
        let tcp_sink = format!("OPEN:{},creat,append", tcp_file.display());
        self.spawn_background(
            Role::Client,
            "unsolicited-udp",
            &["socat", "-u", "UDP4-RECV:9999", &udp_sink],
        )
        .map_err(|e| e.to_string())?;
        self.spawn_background(
            Role::Client,
            "unsolicited-tcp",
            &["socat", "-u", "TCP4-LISTEN:2222,reuseaddr,fork", &tcp_sink],
        )
        .map_err(|e| e.to_string())?;
        self.wait_listening(Role::Client, false, 9999, "unsolicited-udp")
            .map_err(|e| e.to_string())?;
        self.wait_listening(Role::Client, true, 2222, "unsolicited-tcp")
            .map_err(|e| e.to_string())?;

        let before = self.router_stats_fresh(Duration::from_millis(2500));

        let mut sends = Vec::new();
        for target in [addr::CLIENT, addr::ROUTER_PUBLIC] {
            for i in 0..2 {
                let out = self.exec_input(
                    Role::Server,
                    &["socat", "-u", "-", &format!("UDP4-SENDTO:{target}:9999")],
                    Some(format!("unsolicited-{i}\n").as_bytes()),
                    Duration::from_secs(5),
                );
                if !out.success() {
                    sends.push(out.describe());
                }
            }
        }
        let ping = self.ping_from(Role::Server, &addr::CLIENT.to_string(), "2", "1");
        let url = format!("http://{}:2222/", addr::CLIENT);
        let curl = self.exec_timeout(
            Role::Server,
            &["curl", "-sS", "--max-time", "3", &url],
            Duration::from_secs(8),
        );
        // Give stray datagrams time to land before looking.
        thread::sleep(Duration::from_millis(500));
        let udp_got = std::fs::read_to_string(&udp_file).unwrap_or_default();
        let tcp_got = std::fs::read_to_string(&tcp_file).unwrap_or_default();

        let before_total = drop_total(&before);
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut after = self.router_stats_fresh(Duration::from_millis(1500));
        while drop_total(&after) <= before_total && Instant::now() < deadline {
            after = self.router_stats_fresh(Duration::from_millis(1500));
        }
        let grown = drop_total(&after).saturating_sub(before_total);

        let ping_blocked = !ping.success() && !ping.stdout.contains("bytes from");
        // curl fails either way against the sink (it never answers), so a
        // connection shows as request bytes in the client's file.
        let curl_blocked = !curl.success() && tcp_got.is_empty();
        let passed = sends.is_empty()
            && ping_blocked
            && curl_blocked
            && udp_got.is_empty()
            && tcp_got.is_empty()
            && grown > 0;
        let mut detail = format!(
            "udp to {0}:9999 and {1}:9999: {2}; ping {0}: {3}; tcp {0}:2222: {4}; drops +{grown} ({5})",
            addr::CLIENT,
            addr::ROUTER_PUBLIC,
            if udp_got.is_empty() { "nothing arrived" } else { "ARRIVED at the client" },
            if ping_blocked { "no reply" } else { "GOT REPLIES" },
            if curl_blocked { "no connection" } else { "CONNECTED" },
            drop_deltas(&before, &after),
        );
        if !udp_got.is_empty() {
            detail.push_str(&format!(
                "\nclient received (udp): {}",
                excerpt(&udp_got, 200)
            ));
        }
        if !tcp_got.is_empty() {
            detail.push_str(&format!(
                "\nclient received (tcp): {}",
                excerpt(&tcp_got, 200)
            ));
        }
        if !ping_blocked {
            detail.push_str(&format!("\n{}", ping.describe()));
        }
        if !curl_blocked {
            detail.push_str(&format!("\n{}", curl.describe()));
        }
        for s in &sends {
            detail.push_str(&format!("\nsend failed: {s}"));
        }
        if grown == 0 {
            detail.push_str(&format!(
                "\nrouter drop counters did not grow (stats file {})",
                if after.is_empty() {
                    "missing or empty"
                } else {
                    "present"
                }
            ));
        }
        Ok((passed, detail))
    }

    /// Check 8: Malformed and unexpected frames from the hop (60 random bytes, a
    /// truncated IPv4 header, an ICMP error quoting a flow that has no
    /// mapping) are dropped and counted (`drop_*` grows by at least 3), and
    /// the router still forwards afterwards.
    pub fn check_malformed(&self) -> Check {
        const NAME: &str = "malformed";
        // Learn the router's public MAC the way a neighbour would.
        let _ = self.ping_from(Role::Hop, &addr::ROUTER_PUBLIC.to_string(), "1", "1");
        let neigh = crate::netns::ip(&[
            "-n",
            self.namespace(Role::Hop),
            "neigh",
            "show",
            &addr::ROUTER_PUBLIC.to_string(),
            "dev",
            "in0",
        ]);
        let (router_mac, mac_note) = match mac_after(&neigh.stdout, "lladdr") {
            Some(m) => (m, "router MAC from hop neighbour table"),
            None => (raw::BROADCAST, "router MAC unknown, sent to broadcast"),
        };
        let hop_mac = match self.mac_address(Role::Hop, "in0") {
            Ok(m) => m,
            Err(e) => return self.verdict(NAME, false, format!("reading hop MAC: {e}")),
        };

        let before = self.router_stats_fresh(Duration::from_millis(2500));
        let frames = [
            (
                "60 random bytes",
                raw::random_frame(router_mac, hop_mac, seed()),
            ),
            (
                "truncated IPv4 header",
                raw::truncated_ipv4_frame(router_mac, hop_mac),
            ),
            (
                "ICMP port unreachable for an unmapped flow",
                raw::icmp_port_unreachable_frame(
                    router_mac,
                    hop_mac,
                    addr::SERVER,
                    addr::ROUTER_PUBLIC,
                    (addr::ROUTER_PUBLIC, 40000),
                    (addr::SERVER, 9),
                ),
            ),
        ];
        let mut errors = Vec::new();
        for (what, frame) in &frames {
            if let Err(e) = self.send_raw_frame(Role::Hop, "in0", frame) {
                errors.push(format!("sending {what}: {e}"));
            }
        }

        let before_total = drop_total(&before);
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut after = self.router_stats_fresh(Duration::from_millis(1500));
        while drop_total(&after) < before_total.saturating_add(3) && Instant::now() < deadline {
            after = self.router_stats_fresh(Duration::from_millis(1500));
        }
        let grown = drop_total(&after).saturating_sub(before_total);

        let ping = self.ping_from(Role::Client, &addr::SERVER.to_string(), "3", "2");
        let still_works = no_loss(&ping);
        let passed = errors.is_empty() && grown >= 3 && still_works;
        let mut detail = format!(
            "sent {} frames ({mac_note}); drops +{grown} ({}); client -> server afterwards: {}",
            frames.len(),
            drop_deltas(&before, &after),
            ping_summary(&ping)
        );
        if grown < 3 {
            detail.push_str(&format!(
                "\nexpected drop_* to grow by >= 3 (stats file {})",
                if after.is_empty() {
                    "missing or empty"
                } else {
                    "present"
                }
            ));
        }
        for e in &errors {
            detail.push('\n');
            detail.push_str(e);
        }
        if !still_works {
            detail.push('\n');
            detail.push_str(&ping.describe());
        }
        self.verdict(NAME, passed, detail)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn ping_summary_counts_replies() {
        let out = CmdOutput {
            status: Some(1),
            stdout: "PING x\n\n--- x ping statistics ---\n3 packets transmitted, 1 received, 66.6667% packet loss, time 2003ms\n".into(),
            ..CmdOutput::default()
        };
        assert_eq!(ping_summary(&out), "1/3 replies");
        assert!(!no_loss(&out));
        let bad = CmdOutput {
            stderr: "ping: connect: Network is unreachable".into(),
            ..CmdOutput::default()
        };
        assert_eq!(ping_summary(&bad), "ping: connect: Network is unreachable");
    }
}
