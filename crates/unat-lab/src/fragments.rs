//! Checks of fragmentation and path MTU discovery through the router:
//! pings and UDP datagrams bigger than the links (so fragmented on the way
//! in and out, reassembled by the router), and, in a lab whose public link
//! has a smaller MTU ([`LabConfig::public_mtu`](crate::LabConfig)), the
//! router's Fragmentation Needed errors as `ping -M do` and `tracepath`
//! see them. Like the other checks, each returns a [`Check`] with the
//! evidence in its detail.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::checks::{no_loss, ping_summary, Check};
use crate::cmd::{self, excerpt, CmdOutput};
use crate::json;
use crate::stats::drop_deltas;
use crate::topology::{addr, port, Lab, Role};

/// The ICMP payload of the big pings and the size of the big UDP
/// datagrams: well over a 1500-byte link, so each one travels as three
/// fragments.
pub(crate) const BIG_PAYLOAD: usize = 4000;

/// The `ping -M do -s` payload of [`Lab::check_pmtu`] that must not fit the
/// public link (1428-byte packets).
const PMTU_TOO_BIG: u32 = 1400;
/// The `ping -M do -s` payload of [`Lab::check_pmtu`] that must fit it
/// (1228-byte packets).
const PMTU_FITS: u32 = 1200;
/// IPv4 + ICMP header bytes around a ping payload.
const PING_OVERHEAD: u32 = 28;

/// The router counters the fragment checks show as evidence.
const FRAGMENT_COUNTERS: [&str; 5] = [
    "fragments_held",
    "datagrams_reassembled",
    "fragments_sent",
    "icmp_errors_sent",
    "icmp_errors_rate_limited",
];

/// `name +delta` for each of `names` that changed between `before` and
/// `after`.
fn counter_deltas(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    names: &[&str],
) -> String {
    let parts: Vec<String> = names
        .iter()
        .filter_map(|name| {
            let old = before.get(*name).copied().unwrap_or(0);
            let new = after.get(*name).copied().unwrap_or(0);
            (new != old).then(|| format!("{name} +{}", new.saturating_sub(old)))
        })
        .collect();
    let changed = if parts.is_empty() {
        "no fragment/ICMP counter changed".to_string()
    } else {
        parts.join(", ")
    };
    if after.keys().any(|k| k.starts_with("drop_")) || before != after {
        format!("{changed}; {}", drop_deltas(before, after))
    } else {
        changed
    }
}

/// The line of ping's output reporting an ICMP Fragmentation Needed from
/// `from` that names `mtu`, e.g. `From 10.0.0.1 icmp_seq=1 Frag needed and
/// DF set (mtu = 1280)` (iputils).
fn frag_needed_line<'a>(output: &'a str, from: &str, mtu: u32) -> Option<&'a str> {
    let spaced = format!("mtu = {mtu}");
    let tight = format!("mtu={mtu}");
    output.lines().map(str::trim).find(|l| {
        let mut w = l.split_whitespace();
        w.next() == Some("From")
            && w.next() == Some(from)
            && (l.contains(&spaced) || l.contains(&tight))
    })
}

/// The line of ping's output reporting that the kernel refused a send
/// because of a cached path MTU of `mtu` (`ping: local error: message too
/// long, mtu=1280`), as after a Fragmentation Needed.
fn local_mtu_line(output: &str, mtu: u32) -> Option<&str> {
    let want = format!("mtu={mtu}");
    output
        .lines()
        .map(str::trim)
        .find(|l| l.contains("message too long") && l.contains(&want))
}

/// The path MTU in tracepath's summary (`Resume: pmtu 1280 hops 3 back 3`).
fn tracepath_resume_pmtu(output: &str) -> Option<u32> {
    output.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next()? == "Resume:").then_some(())?;
        (w.next()? == "pmtu").then_some(())?;
        w.next()?.parse().ok()
    })
}

/// The hop line where tracepath learned `pmtu` (e.g. ` 1:  10.0.0.1
/// 0.112ms pmtu 1280`): its address and the line.
fn tracepath_pmtu_hop(output: &str, pmtu: u32) -> Option<(&str, &str)> {
    let want = format!("pmtu {pmtu}");
    output.lines().map(str::trim).find_map(|l| {
        let mut w = l.split_whitespace();
        let n = w.next()?;
        n.strip_suffix(':')?.parse::<u8>().ok()?;
        let address = w.next()?;
        (address != "[LOCALHOST]" && l.contains(&want)).then_some((address, l))
    })
}

/// The report line of `nettool.py udp-big`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct BigUdp {
    matched: bool,
    size: u64,
    sha256: String,
    echo_size: Option<u64>,
    echo_sha256: Option<String>,
    tries: u64,
    error: Option<String>,
}

impl BigUdp {
    fn from_output(out: &CmdOutput) -> Option<BigUdp> {
        let o = json::objects(&out.stdout)
            .into_iter()
            .rfind(|o| o.has("match"))?;
        Some(BigUdp {
            matched: o.flag("match"),
            size: o.num("size").unwrap_or(0),
            sha256: o.str("sha256").unwrap_or("").to_string(),
            echo_size: o.num("echo_size"),
            echo_sha256: o.str("echo_sha256").map(str::to_string),
            tries: o.num("tries").unwrap_or(0),
            error: o.str("error").map(str::to_string),
        })
    }

    fn summary(&self) -> String {
        let short = |h: &str| h.chars().take(16).collect::<String>();
        if self.matched {
            format!(
                "{} bytes sha256 {}... echoed intact (try {})",
                self.size,
                short(&self.sha256),
                self.tries
            )
        } else {
            format!(
                "{} bytes sha256 {}...: echo {} ({} tries){}",
                self.size,
                short(&self.sha256),
                match (&self.echo_size, &self.echo_sha256) {
                    (Some(n), Some(h)) => format!("of {n} bytes sha256 {}... DIFFERS", short(h)),
                    _ => "NEVER came back".to_string(),
                },
                self.tries,
                self.error
                    .as_deref()
                    .map(|e| format!(" [{e}]"))
                    .unwrap_or_default()
            )
        }
    }
}

impl Lab {
    /// `ping -n -c COUNT -W 2 [extra] TARGET` from `role`, bounded by 15 s.
    fn ping_with(&self, role: Role, count: &str, extra: &[&str], target: &str) -> CmdOutput {
        let mut args = vec!["ping", "-n", "-c", count, "-W", "2"];
        args.extend_from_slice(extra);
        args.push(target);
        self.exec_timeout(role, &args, Duration::from_secs(15))
    }

    /// Counters fresh enough to include what happened just before (none,
    /// without waiting, when there is no stats file: a stand-in router).
    fn fresh_counters(&self) -> BTreeMap<String, u64> {
        if !self.stats_path().exists() {
            return BTreeMap::new();
        }
        self.router_stats_fresh(Duration::from_millis(2500))
    }

    /// Big pings in fragments, both ways: CLIENT pings the server with a
    /// 4000-byte payload (`ping -s 4000`, 3/3 replies; request and reply
    /// are fragmented on the 1500-byte links and travel through the NAT),
    /// and the server pings the router's public address the same way (the
    /// router reassembles the request and answers in fragments).
    pub fn check_big_ping(&self) -> Check {
        let size = BIG_PAYLOAD.to_string();
        let before = self.fresh_counters();
        let through = self.ping_with(Role::Client, "3", &["-s", &size], &addr::SERVER.to_string());
        let to_router = self.ping_with(
            Role::Server,
            "3",
            &["-s", &size],
            &addr::ROUTER_PUBLIC.to_string(),
        );
        let after = self.fresh_counters();
        let passed = no_loss(&through) && no_loss(&to_router);
        let mut detail = format!(
            "client -> {} ping -s {size}: {}; server -> {} (the router) ping -s {size}: {}; router: {}",
            addr::SERVER,
            ping_summary(&through),
            addr::ROUTER_PUBLIC,
            ping_summary(&to_router),
            counter_deltas(&before, &after, &FRAGMENT_COUNTERS),
        );
        for out in [&through, &to_router] {
            // A reply line, e.g. "4008 bytes from 198.18.1.2: icmp_seq=1 ttl=62 time=0.3 ms".
            if let Some(line) = out.stdout.lines().find(|l| l.contains(" bytes from ")) {
                detail.push_str(&format!("\n  {}", line.trim()));
            }
            if !no_loss(out) {
                detail.push('\n');
                detail.push_str(&out.describe());
            }
        }
        self.verdict("big_ping", passed, detail)
    }

    /// Sends one datagram of [`BIG_PAYLOAD`] random bytes from `role` to the
    /// UDP echo server at `target` and compares the echo.
    fn big_udp_round_trip(&self, role: Role, target: (&str, u16)) -> (bool, String) {
        let out = self.nettool(
            role,
            &[
                "udp-big",
                target.0,
                &target.1.to_string(),
                &BIG_PAYLOAD.to_string(),
                "3",
            ],
            Duration::from_secs(12),
        );
        match BigUdp::from_output(&out) {
            Some(r) if r.matched && out.success() => (true, r.summary()),
            Some(r) => (false, format!("{}\n{}", r.summary(), out.describe())),
            None => (false, format!("no report\n{}", out.describe())),
        }
    }

    /// Big UDP datagrams, fragmented both ways: a 4000-byte datagram from
    /// CLIENT to the server's UDP echo (7777) comes back byte for byte
    /// (compared by sha256), and so does one from the server through the
    /// UDP port forward 198.18.0.2:5353 to the client's echo.
    pub fn check_big_udp(&self) -> Check {
        let before = self.fresh_counters();
        let server = addr::SERVER.to_string();
        let (out_ok, out_detail) =
            self.big_udp_round_trip(Role::Client, (&server, port::SERVER_UDP_ECHO));
        let public = addr::ROUTER_PUBLIC.to_string();
        let (fwd_ok, fwd_detail) =
            self.big_udp_round_trip(Role::Server, (&public, port::FORWARD_UDP));
        let after = self.fresh_counters();
        let detail = format!(
            "client -> {server}:{} (udp echo): {out_detail}\nserver -> {public}:{} (forward to {}:{}): {fwd_detail}\nrouter: {}",
            port::SERVER_UDP_ECHO,
            port::FORWARD_UDP,
            addr::CLIENT,
            port::CLIENT_UDP_ECHO,
            counter_deltas(&before, &after, &FRAGMENT_COUNTERS),
        );
        self.verdict("big_udp", out_ok && fwd_ok, detail)
    }

    /// Forgets the path MTUs the client has learned (`ip route flush
    /// cache`), so the next probe goes out at the link MTU again.
    fn flush_client_pmtu(&self) -> CmdOutput {
        crate::netns::ip(&[
            "-n",
            self.namespace(Role::Client),
            "route",
            "flush",
            "cache",
        ])
    }

    /// Path MTU discovery through the NAT, in a lab whose public link has
    /// a smaller MTU ([`LabConfig::public_mtu`](crate::LabConfig), e.g.
    /// 1280):
    ///
    /// - `ping -M do -s 1400` from CLIENT to the server gets `From 10.0.0.1
    ///   ... Frag needed and DF set (mtu = 1280)` (the router's error, from
    ///   its private address, naming the next-hop MTU; after the kernel
    ///   has cached it, a later probe may instead fail locally with
    ///   `message too long, mtu=1280`, accepted only when the router
    ///   counted an ICMP error);
    /// - `tracepath -n` from CLIENT reports `pmtu 1280` and reaches the
    ///   server;
    /// - `ping -M do -s 1200` (fits) gets every reply;
    /// - `ping -M dont -s 1400` (DF clear) gets every reply: the router
    ///   fragments it for the smaller link.
    ///
    /// The client's learned path MTU is flushed before each step.
    pub fn check_pmtu(&self) -> Check {
        const NAME: &str = "pmtu";
        let Some(mtu) = self.public_mtu() else {
            return self.verdict(
                NAME,
                false,
                "this check needs a lab with a smaller public link MTU (LabConfig::public_mtu = Some(1280))"
                    .to_string(),
            );
        };
        if !(PMTU_FITS + PING_OVERHEAD..PMTU_TOO_BIG + PING_OVERHEAD).contains(&mtu) {
            return self.verdict(
                NAME,
                false,
                format!(
                    "public link MTU {mtu}: this check needs {} to {}",
                    PMTU_FITS + PING_OVERHEAD,
                    PMTU_TOO_BIG + PING_OVERHEAD - 1
                ),
            );
        }
        if cmd::find_tool("tracepath").is_none() {
            return self.verdict(
                NAME,
                false,
                "tracepath is not installed (package iputils-tracepath)".to_string(),
            );
        }
        let server = addr::SERVER.to_string();
        let router = addr::ROUTER_PRIVATE.to_string();
        let too_big = PMTU_TOO_BIG.to_string();
        let fits = PMTU_FITS.to_string();
        let mut flushes = Vec::new();

        // 1. DF set, too big: the router's Fragmentation Needed.
        flushes.push(self.flush_client_pmtu());
        let before = self.fresh_counters();
        let df = self.ping_with(Role::Client, "2", &["-M", "do", "-s", &too_big], &server);
        let after_df = self.fresh_counters();
        let df_text = df.combined();
        let icmp_sent = after_df
            .get("icmp_errors_sent")
            .copied()
            .unwrap_or(0)
            .saturating_sub(before.get("icmp_errors_sent").copied().unwrap_or(0));
        let from_router = frag_needed_line(&df_text, &router, mtu);
        let local = local_mtu_line(&df_text, mtu);
        let no_reply = !df.stdout.contains(" bytes from ");
        let (df_ok, df_evidence) = match (from_router, local) {
            (Some(line), _) => (no_reply, line.to_string()),
            (None, Some(line)) if icmp_sent > 0 => (
                no_reply,
                format!("{line} (router counted {icmp_sent} ICMP error(s))"),
            ),
            (None, Some(line)) => (
                false,
                format!(
                    "{line}, but NO Frag needed from {router} and the router counted no ICMP error"
                ),
            ),
            (None, None) => (
                false,
                format!("NO Frag needed from {router} with mtu {mtu}"),
            ),
        };

        // 2. tracepath discovers the path MTU.
        flushes.push(self.flush_client_pmtu());
        let trace = self.exec_timeout(
            Role::Client,
            &["tracepath", "-n", "-m", "6", &server],
            Duration::from_secs(25),
        );
        let resume = tracepath_resume_pmtu(&trace.stdout);
        let reached = trace.stdout.contains("reached");
        let learned = tracepath_pmtu_hop(&trace.stdout, mtu);
        let trace_ok = trace.success() && resume == Some(mtu) && reached;

        // 3. DF set and small enough: plain replies.
        flushes.push(self.flush_client_pmtu());
        let small = self.ping_with(Role::Client, "2", &["-M", "do", "-s", &fits], &server);
        let small_ok = no_loss(&small);

        // 4. DF clear and too big: the router fragments it.
        flushes.push(self.flush_client_pmtu());
        let before_dont = self.fresh_counters();
        let dont = self.ping_with(Role::Client, "2", &["-M", "dont", "-s", &too_big], &server);
        let after = self.fresh_counters();
        let dont_ok = no_loss(&dont);

        let flush_errors: Vec<String> = flushes
            .iter()
            .filter(|f| !f.success())
            .map(CmdOutput::describe)
            .collect();
        let passed = df_ok && trace_ok && small_ok && dont_ok && flush_errors.is_empty();
        let mut detail = format!(
            "public link mtu {mtu}; client ping -M do -s {too_big}: {df_evidence}; tracepath: {}; ping -M do -s {fits}: {}; ping -M dont -s {too_big}: {} (router: {})",
            match (resume, reached) {
                (Some(p), true) => format!("pmtu {p}, reached {server}"),
                (Some(p), false) => format!("pmtu {p}, did NOT reach {server}"),
                (None, _) => "NO pmtu summary".to_string(),
            },
            ping_summary(&small),
            ping_summary(&dont),
            counter_deltas(&before_dont, &after, &FRAGMENT_COUNTERS),
        );
        if let Some((hop, line)) = learned {
            detail.push_str(&format!(
                "\n  tracepath learned pmtu {mtu} at {hop}: {line}"
            ));
        }
        if let Some(line) = trace.stdout.lines().find(|l| l.contains("Resume:")) {
            detail.push_str(&format!("\n  {}", line.trim()));
        }
        if !df_ok {
            detail.push_str(&format!("\n{}", df.describe()));
        }
        if !trace_ok {
            detail.push_str(&format!(
                "\n`{}` -> {}:\n{}",
                trace.command,
                if trace.timed_out {
                    "timed out".to_string()
                } else {
                    format!("exit {:?}", trace.status)
                },
                excerpt(&trace.combined(), 1200)
            ));
        }
        for out in [&small, &dont] {
            if !no_loss(out) {
                detail.push_str(&format!("\n{}", out.describe()));
            }
        }
        for e in &flush_errors {
            detail.push_str(&format!("\nflushing the client's route cache: {e}"));
        }
        self.verdict(NAME, passed, detail)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const PING_DF: &str = "PING 198.18.1.2 (198.18.1.2) 1400(1428) bytes of data.\n\
        From 10.0.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1280)\n\
        ping: local error: message too long, mtu=1280\n\n\
        --- 198.18.1.2 ping statistics ---\n\
        2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1001ms\n";

    const TRACEPATH: &str = " 1?: [LOCALHOST]                      pmtu 1500\n \
        1:  10.0.0.1                                              0.090ms pmtu 1280\n \
        1:  10.0.0.1                                              0.062ms \n \
        2:  198.18.0.1                                            0.101ms \n \
        3:  198.18.1.2                                            0.133ms reached\n     \
        Resume: pmtu 1280 hops 3 back 3 \n";

    #[test]
    fn finds_the_routers_frag_needed() {
        assert_eq!(
            frag_needed_line(PING_DF, "10.0.0.1", 1280),
            Some("From 10.0.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1280)")
        );
        assert_eq!(frag_needed_line(PING_DF, "198.18.0.1", 1280), None);
        assert_eq!(frag_needed_line(PING_DF, "10.0.0.1", 1500), None);
        assert_eq!(
            local_mtu_line(PING_DF, 1280),
            Some("ping: local error: message too long, mtu=1280")
        );
        assert_eq!(local_mtu_line(PING_DF, 1400), None);
    }

    #[test]
    fn reads_tracepath() {
        assert_eq!(tracepath_resume_pmtu(TRACEPATH), Some(1280));
        assert_eq!(
            tracepath_pmtu_hop(TRACEPATH, 1280).map(|(a, _)| a),
            Some("10.0.0.1")
        );
        assert_eq!(tracepath_pmtu_hop(TRACEPATH, 1500), None);
        assert_eq!(tracepath_resume_pmtu("1: no reply\n"), None);
    }

    #[test]
    fn reads_the_big_udp_report() {
        let out = CmdOutput {
            status: Some(0),
            stdout: "{\"size\": 4000, \"sha256\": \"abcd\", \"echo_size\": 4000, \"echo_sha256\": \"abcd\", \"tries\": 1, \"match\": true, \"local\": \"10.0.0.2:5000\", \"error\": null}\n".into(),
            ..CmdOutput::default()
        };
        let r = BigUdp::from_output(&out).unwrap();
        assert!(r.matched);
        assert_eq!((r.size, r.echo_size, r.tries), (4000, Some(4000), 1));
        assert!(r.summary().contains("echoed intact"));
        let lost = BigUdp {
            size: 4000,
            tries: 3,
            ..BigUdp::default()
        };
        assert!(lost.summary().contains("NEVER came back"));
    }

    #[test]
    fn counter_deltas_name_what_changed() {
        let before: BTreeMap<String, u64> = [("fragments_sent".to_string(), 2)].into();
        let after: BTreeMap<String, u64> = [
            ("fragments_sent".to_string(), 8),
            ("datagrams_reassembled".to_string(), 3),
        ]
        .into();
        assert_eq!(
            counter_deltas(&before, &after, &FRAGMENT_COUNTERS),
            "datagrams_reassembled +3, fragments_sent +6; no drop counter changed"
        );
        assert_eq!(
            counter_deltas(&after, &after, &FRAGMENT_COUNTERS),
            "no fragment/ICMP counter changed"
        );
        let mut dropped = after.clone();
        dropped.insert("drop_dont_fragment".to_string(), 3);
        assert_eq!(
            counter_deltas(&after, &dropped, &FRAGMENT_COUNTERS),
            "no fragment/ICMP counter changed; drop_dont_fragment +3"
        );
        let empty = BTreeMap::new();
        assert_eq!(
            counter_deltas(&empty, &empty, &FRAGMENT_COUNTERS),
            "no fragment/ICMP counter changed"
        );
    }
}
