//! `unat-router`: the unat NAT between a private and a public interface.
//!
//! Flags are parsed and checked (`unat_router::config`), the two devices
//! opened (`unat_router::device`), and the gateway runs until SIGINT or
//! SIGTERM, writing its counters on the way and at exit.

use std::io::IsTerminal;
use std::os::fd::RawFd;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::{Rng, SeedableRng};
use tracing::{info, warn};
use unat::{LruStore, Nat};

use unat_router::config::{Cli, Config, DeviceSpec};
use unat_router::device::af_packet::{interface_warnings, PacketDevice};
use unat_router::device::tap::TapDevice;
use unat_router::device::{Device, DeviceError};
use unat_router::gateway::{Gateway, Link, Side};

/// How long the loop sleeps at most when nothing arrives, so that timers
/// and signals are looked at.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// How often the stats file is rewritten.
const STATS_EVERY: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    let cli = Cli::parse();
    // --log-level, else RUST_LOG, else info.
    let filter = match &cli.log_level {
        Some(level) => tracing_subscriber::EnvFilter::try_new(level),
        None => tracing_subscriber::EnvFilter::try_from_default_env()
            .or_else(|_| tracing_subscriber::EnvFilter::try_new("info")),
    };
    let filter = match filter {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: log filter: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = match Config::from_cli(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", chain(&*e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its sources, joined with ": ".
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn open(spec: &DeviceSpec) -> Result<Box<dyn Device + Send>, DeviceError> {
    Ok(match spec {
        DeviceSpec::Packet(name) => {
            for w in interface_warnings(name) {
                warn!("{w}");
            }
            Box::new(PacketDevice::open(name)?)
        }
        DeviceSpec::Tap(name) => Box::new(TapDevice::create(name)?),
    })
}

fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let private = open(&config.private_if)?;
    let public = open(&config.public_if)?;
    let (tcp, udp, icmp) = config.tables;
    let mut nat = Nat::with_config(LruStore::new(tcp, udp, icmp)?, config.nat)?;
    for f in &config.forwards {
        if !nat.add_forward(f.proto, f.port, f.target) {
            return Err(format!("--forward {}:{}: the port is taken", f.proto, f.port).into());
        }
    }
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut gw = Gateway::new(
        nat,
        Link::new(private, config.private),
        Link::new(public, config.public),
        config.public_gateway,
        Box::new(move || rng.random::<u32>()),
        Instant::now(),
    );
    gw.set_icmp_error_rate(config.icmp_errors_per_sec);
    for side in [Side::Private, Side::Public] {
        let d = gw.link(side).device();
        let mac = d.mac();
        info!(
            ?side,
            device = d.name(),
            mac = format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
            ),
            mtu = d.mtu(),
            "link up"
        );
    }
    for f in &config.forwards {
        info!(proto = %f.proto, port = f.port, target = %f.target, "port forward");
    }
    if config.public_gateway.is_none() {
        warn!(
            "no --public-gateway: only destinations in {} are reachable",
            config.public
        );
    }
    if let Some(path) = &config.stats_file {
        write_stats(&mut gw, path)?;
    }
    let n = &config.nat;
    info!(
        mapping = ?n.mapping.udp,
        filtering_udp = ?n.filtering.udp,
        filtering_tcp = ?n.filtering.tcp,
        udp_timeout = n.timeouts.udp.as_secs(),
        tcp_established_timeout = n.timeouts.tcp_established.as_secs(),
        tcp_transitory_timeout = n.timeouts.tcp_transitory.as_secs(),
        tcp_closing_timeout = n.timeouts.tcp_closing.as_secs(),
        icmp_timeout = n.timeouts.icmp.as_secs(),
        inbound_refresh = n.inbound_refresh,
        when_full = ?n.when_full,
        per_host = ?n.per_host_limit,
        per_mapping_sessions = ?n.per_mapping_sessions,
        port_preservation = n.ports.preserve,
        port_parity = n.ports.parity,
        "behaviour"
    );
    info!(private = %config.private, public = %config.public, gateway = ?config.public_gateway, "unat-router running");

    let fds: Vec<RawFd> = [Side::Private, Side::Public]
        .iter()
        .filter_map(|s| gw.link(*s).device().poll_fd())
        .collect();
    let mut last_stats = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if gw.poll(Instant::now()) == 0 {
            wait_readable(&fds, IDLE_WAIT);
        }
        if let Some(path) = &config.stats_file {
            if last_stats.elapsed() >= STATS_EVERY {
                last_stats = Instant::now();
                if let Err(e) = write_stats(&mut gw, path) {
                    warn!("{e}");
                }
            }
        }
    }
    info!("stopping");
    gw.update_gauges();
    for line in gw.stats().render().lines() {
        info!("counter {line}");
    }
    if let Some(path) = &config.stats_file {
        write_stats(&mut gw, path)?;
    }
    Ok(())
}

/// Writes the counters (gauges brought up to date) to `path`; the error
/// names the file.
fn write_stats<S: unat::Store>(gw: &mut Gateway<S>, path: &std::path::Path) -> Result<(), String> {
    gw.update_gauges();
    gw.stats()
        .write_to(path)
        .map_err(|e| format!("cannot write the stats file {}: {e}", path.display()))
}

/// Waits until one of `fds` is readable, or `timeout`, or a signal.
fn wait_readable(fds: &[RawFd], timeout: Duration) {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `pfds` is a valid, exclusively borrowed array of `pfds.len()`
    // pollfd structures for the duration of the call. An error (EINTR from a
    // signal) only ends the wait early, which the loop handles.
    unsafe {
        libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms);
    }
}
