//! Tests of the bench itself, run against a stand-in for unat-router: plain
//! Linux forwarding in the ROUTER namespace (no NAT), and for the TAP
//! backend a socat process that creates the TAP device and bridges it to
//! the kernel router. They check the plumbing (the checks that need only
//! routing pass, the NAT-specific ones fail) and that cleanup leaves no
//! namespace, file or process behind, also on failure and panic.
//!
//! They need root; as another user they print a note and pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::topology::RouterKind;
use crate::{Backend, Lab, LabConfig, LabError, Layout, Role};

fn can_run() -> bool {
    crate::can_run_or_skip()
}

fn linux_lab(backend: Backend) -> Lab {
    let mut cfg = LabConfig::new("/nonexistent/unused");
    cfg.private_backend = backend;
    Lab::build(&cfg, RouterKind::Linux).expect("lab with the Linux stand-in router")
}

/// What a lab leaves to check after it is dropped.
struct Footprint {
    namespaces: Vec<String>,
    pids: Vec<u32>,
    tmp: PathBuf,
}

fn footprint(lab: &Lab) -> Footprint {
    let namespaces: Vec<String> = lab
        .roles()
        .iter()
        .map(|r| lab.namespace(*r).to_string())
        .collect();
    let mut pids = lab.tracked_pids();
    for ns in &namespaces {
        pids.extend(
            crate::netns::pids(ns)
                .into_iter()
                .filter_map(|p| u32::try_from(p).ok()),
        );
    }
    Footprint {
        namespaces,
        pids,
        tmp: lab.tmp_dir().to_path_buf(),
    }
}

/// A pid is gone when /proc has no entry or only a zombie (reaped by init
/// later; it no longer runs).
fn pid_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

fn assert_clean(f: &Footprint) {
    let list = crate::netns::ip(&["netns", "list"]).stdout;
    for ns in &f.namespaces {
        assert!(
            !list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(ns)),
            "namespace {ns} left behind:\n{list}"
        );
        assert!(
            !Path::new("/etc/netns").join(ns).exists(),
            "/etc/netns/{ns} left behind"
        );
    }
    assert!(!f.tmp.exists(), "{} left behind", f.tmp.display());
    // Killed processes may take a moment to be reaped by init.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && !f.pids.iter().all(|p| pid_gone(*p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in &f.pids {
        assert!(pid_gone(*pid), "process {pid} left running");
    }
}

fn by_name<'a>(checks: &'a [crate::Check], name: &str) -> &'a crate::Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .expect("check present")
}

#[test]
fn packet_topology_routes_and_cleans_up() {
    if !can_run() {
        return;
    }
    let lab = linux_lab(Backend::Packet);
    let checks = lab.run_all_checks();
    for c in &checks {
        eprintln!(
            "{} {}: {}",
            if c.passed { "PASS" } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    let names: Vec<&str> = checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "ping",
            "ping_router",
            "http",
            "udp",
            "traceroute",
            "forward",
            "unsolicited_blocked",
            "malformed"
        ]
    );
    // Plain routing carries the outbound checks...
    for name in ["ping", "ping_router", "http", "udp", "traceroute"] {
        assert!(
            by_name(&checks, name).passed,
            "{name} should pass through Linux routing"
        );
    }
    // ...but it is no NAT: no forwards, unsolicited traffic gets through,
    // and there are no drop counters.
    for name in ["forward", "unsolicited_blocked", "malformed"] {
        assert!(
            !by_name(&checks, name).passed,
            "{name} must fail without unat-router"
        );
    }
    let unsolicited = by_name(&checks, "unsolicited_blocked");
    assert!(
        unsolicited.detail.contains("ARRIVED at the client"),
        "{}",
        unsolicited.detail
    );
    assert!(
        unsolicited.detail.contains("GOT REPLIES"),
        "{}",
        unsolicited.detail
    );
    // The hop route of the stand-in survives the unsolicited check.
    let route = crate::netns::ip(&[
        "-n",
        lab.namespace(Role::Hop),
        "route",
        "show",
        "10.0.0.0/24",
    ]);
    assert!(!route.stdout.trim().is_empty());
    // The malformed frames went out (no send errors) and the stand-in
    // kernel router keeps forwarding.
    let malformed = by_name(&checks, "malformed");
    assert!(
        !malformed.detail.contains("sending "),
        "{}",
        malformed.detail
    );
    assert!(
        malformed.detail.contains("afterwards: 3/3 replies"),
        "{}",
        malformed.detail
    );

    let f = footprint(&lab);
    assert!(f.pids.len() >= 4, "servers tracked: {:?}", f.pids);
    drop(lab);
    assert_clean(&f);
}

#[test]
fn tap_topology_moves_the_tap_into_the_client() {
    if !can_run() {
        return;
    }
    let lab = linux_lab(Backend::Tap);
    let link = lab.exec(Role::Client, &["ip", "-d", "link", "show", "eth0"]);
    assert!(link.stdout.contains("tun type tap"), "{}", link.describe());
    assert!(
        !crate::netns::ip(&["-n", lab.namespace(Role::Router), "link", "show", "tap0"]).success()
    );
    for check in [
        lab.check_ping(),
        lab.check_http(),
        lab.check_udp(),
        lab.check_traceroute(),
    ] {
        assert!(check.passed, "{}: {}", check.name, check.detail);
    }
    let f = footprint(&lab);
    // The stand-in's socat holds the TAP like unat-router would.
    let stopped = lab.stop_router();
    assert!(
        !stopped.clean_exit(),
        "socat dies of SIGTERM, no clean exit"
    );
    assert!(lab.router_exit().is_none(), "stopped router is forgotten");
    drop(lab);
    assert_clean(&f);
}

#[test]
fn two_private_hosts_share_a_bridge_and_clean_up() {
    if !can_run() {
        return;
    }
    let mut cfg = LabConfig::new("/nonexistent/unused");
    cfg.private_hosts = 2;
    let lab = Lab::build(&cfg, RouterKind::Linux).expect("two-host lab with the stand-in");
    assert_eq!(
        lab.roles(),
        [
            Role::Client,
            Role::Client2,
            Role::Lan,
            Role::Router,
            Role::Hop,
            Role::Server
        ]
    );
    // Both private hosts reach the router, each other and the server.
    for (from, to) in [
        (Role::Client, "10.0.0.1"),
        (Role::Client2, "10.0.0.1"),
        (Role::Client, "10.0.0.3"),
        (Role::Client2, "198.18.1.2"),
    ] {
        let out = lab.exec(from, &["ping", "-n", "-c", "1", "-W", "2", to]);
        assert!(out.success(), "{from} -> {to}: {}", out.describe());
    }
    let bridge = lab.exec(Role::Lan, &["ip", "-o", "link", "show", "master", "br0"]);
    for port in ["r0", "c1", "c2"] {
        assert!(bridge.stdout.contains(port), "{}", bridge.describe());
    }
    // Without NAT there is nothing to hairpin through.
    let hairpin = lab.check_hairpin_forward();
    assert!(!hairpin.passed, "{}", hairpin.detail);
    // run_all_checks adds the two hairpin checks.
    assert_eq!(lab.check_list().len(), 10);
    let f = footprint(&lab);
    assert_eq!(f.namespaces.len(), 6);
    drop(lab);
    assert_clean(&f);
}

#[test]
fn two_nat_topology_punches_without_nat_and_cleans_up() {
    if !can_run() {
        return;
    }
    let cfg = LabConfig::new("/nonexistent/unused");
    let lab = Lab::build_layout(&cfg, RouterKind::Linux, Layout::TwoNats)
        .expect("two-NAT lab with the stand-in");
    assert_eq!(lab.layout(), Layout::TwoNats);
    // Plain routing: the peers' registrations show their private
    // addresses, and punches go straight through.
    let hp = lab.hole_punch().expect("a two-NAT lab");
    assert!(hp.registered(), "{hp:?}");
    assert!(hp.both_received(), "{hp:?}");
    assert_eq!(hp.peers[0].public.as_deref(), Some("10.0.0.2:40000"));
    assert_eq!(hp.peers[1].received_from.as_deref(), Some("10.0.0.2:40000"));
    assert!(hp.peers.iter().all(|p| p.peer_received), "{hp:?}");
    // A second attempt in the same lab uses a new session and port.
    let again = lab.check_hole_punching();
    assert!(again.passed, "{}", again.detail);
    assert!(again.detail.contains("10.1.0.2:40001"), "{}", again.detail);
    let blocked = lab.check_hole_punching_blocked();
    assert!(!blocked.passed, "{}", blocked.detail);
    assert!(
        blocked.detail.contains("punches GOT THROUGH"),
        "{}",
        blocked.detail
    );
    // The one-NAT checks say what they need.
    let hairpin = lab.check_udp_hairpin();
    assert!(
        hairpin.detail.contains("two private hosts"),
        "{}",
        hairpin.detail
    );
    let f = footprint(&lab);
    assert_eq!(f.namespaces.len(), 6);
    drop(lab);
    assert_clean(&f);
}

#[test]
fn fragment_checks_against_linux_routing() {
    if !can_run() {
        return;
    }
    let mut cfg = LabConfig::new("/nonexistent/unused");
    cfg.public_mtu = Some(1280);
    let lab = Lab::build(&cfg, RouterKind::Linux).expect("small-MTU lab with the stand-in");
    assert_eq!(lab.public_mtu(), Some(1280));
    for (role, ifname) in [(Role::Router, "pub0"), (Role::Hop, "in0")] {
        let link = crate::netns::ip(&["-n", lab.namespace(role), "-o", "link", "show", ifname]);
        assert!(link.stdout.contains("mtu 1280 "), "{}", link.describe());
    }
    let out0 = crate::netns::ip(&["-n", lab.namespace(Role::Hop), "-o", "link", "show", "out0"]);
    assert!(out0.stdout.contains("mtu 1500 "), "{}", out0.describe());
    // The kernel router fragments, reassembles and sends Fragmentation
    // Needed from its private address just as unat-router must.
    let big = lab.check_big_ping();
    assert!(big.passed, "{}", big.detail);
    let pmtu = lab.check_pmtu();
    assert!(pmtu.passed, "{}", pmtu.detail);
    assert!(
        pmtu.detail
            .contains("From 10.0.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1280)"),
        "{}",
        pmtu.detail
    );
    assert!(pmtu.detail.contains("Resume: pmtu 1280"), "{}", pmtu.detail);
    // Big UDP goes through, but without NAT there is no port forward.
    let udp = lab.check_big_udp();
    assert!(!udp.passed, "{}", udp.detail);
    assert!(udp.detail.contains("echoed intact"), "{}", udp.detail);
    assert!(udp.detail.contains("NEVER came back"), "{}", udp.detail);
    let f = footprint(&lab);
    drop(lab);
    assert_clean(&f);

    // Without a smaller public link the PMTU check says what it needs.
    let lab = linux_lab(Backend::Packet);
    let pmtu = lab.check_pmtu();
    assert!(!pmtu.passed);
    assert!(pmtu.detail.contains("public_mtu"), "{}", pmtu.detail);
}

#[test]
fn unsupported_configurations_are_refused() {
    if !can_run() {
        return;
    }
    let mut cfg = LabConfig::new("/nonexistent/unused");
    cfg.private_hosts = 3;
    let err = Lab::build(&cfg, RouterKind::Linux).unwrap_err();
    assert!(matches!(err, LabError::Unsupported(_)), "{err}");
    cfg.private_hosts = 2;
    cfg.private_backend = Backend::Tap;
    let err = Lab::build(&cfg, RouterKind::Linux).unwrap_err();
    assert!(matches!(err, LabError::Unsupported(_)), "{err}");
    let mut cfg = LabConfig::new("/nonexistent/unused");
    cfg.public_mtu = Some(100);
    let err = Lab::build(&cfg, RouterKind::Linux).unwrap_err();
    assert!(matches!(err, LabError::Unsupported(_)), "{err}");
}

#[test]
fn cleanup_runs_on_panic() {
    if !can_run() {
        return;
    }
    let seen = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let lab = linux_lab(Backend::Packet);
        *seen.lock().unwrap() = Some(footprint(&lab));
        panic!("test failure while the lab is up");
    }));
    assert!(result.is_err());
    let f = seen.lock().unwrap().take().expect("footprint recorded");
    assert_clean(&f);
}

#[test]
fn missing_router_binary_is_reported() {
    if !can_run() {
        return;
    }
    let err = Lab::start(LabConfig::new("/nonexistent/unat-router")).unwrap_err();
    assert!(matches!(err, LabError::RouterBinary(_)), "{err}");
}

/// Writes an executable shell script standing in for the router.
fn fake_router(name: &str, body: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("unat-lab-test-{}-{name}.sh", std::process::id()));
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
    path
}

/// A `sleep` argument unique to this test process and `n`, to find the
/// fake router's process by its command line.
fn sleep_marker(n: u32) -> String {
    format!("{}.{}{n}", 50 + n, std::process::id())
}

/// True when some process runs `sleep <marker>`.
fn sleep_running(marker: &str) -> bool {
    let needle = format!("sleep\0{marker}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| !pid_gone(e.file_name().to_string_lossy().parse().unwrap_or(0)))
        .any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
}

#[test]
fn router_that_exits_is_reported_with_its_log() {
    if !can_run() {
        return;
    }
    let router = fake_router("exits", "echo \"fake router got: $*\" >&2\nexit 3");
    let err = Lab::start(LabConfig::new(&router)).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, LabError::RouterExited { .. }), "{text}");
    assert!(
        text.contains("fake router got: --private-if packet:priv0"),
        "{text}"
    );
    assert!(text.contains("--forward tcp:8080=10.0.0.2:80"), "{text}");
    assert!(text.contains("--stats-file"), "{text}");
    let _ = std::fs::remove_file(router);
}

#[test]
fn silent_router_times_out_and_cleans_up() {
    if !can_run() {
        return;
    }
    let marker = sleep_marker(1);
    let router = fake_router("silent", &format!("exec sleep {marker}"));
    let start = Instant::now();
    let err = Lab::start(LabConfig::new(&router)).unwrap_err();
    assert!(matches!(err, LabError::RouterNotReady { .. }), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert!(!sleep_running(&marker), "fake router left running");
    let _ = std::fs::remove_file(router);
}

#[test]
fn tap_router_that_never_creates_the_tap() {
    if !can_run() {
        return;
    }
    let marker = sleep_marker(2);
    let router = fake_router("notap", &format!("exec sleep {marker}"));
    let mut cfg = LabConfig::new(&router);
    cfg.private_backend = Backend::Tap;
    let err = Lab::start(cfg).unwrap_err();
    assert!(matches!(err, LabError::TapNotCreated { .. }), "{err}");
    assert!(!sleep_running(&marker), "fake router left running");
    let _ = std::fs::remove_file(router);
}
