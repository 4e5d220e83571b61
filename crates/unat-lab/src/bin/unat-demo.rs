//! `unat-demo`: builds the namespace lab around `unat-router`, runs every
//! check with real traffic, prints `PASS`/`FAIL` per check and the router's
//! counters, and cleans up.
//!
//! ```text
//! unat-demo [--router PATH] [--tap | --two-hosts | --two-nats]
//! ```
//!
//! Must run as root. Exit status: 0 when every check passed and the router
//! exited cleanly on SIGTERM, 1 otherwise, 2 when the lab could not be built or the arguments are wrong,
//! 130 when interrupted.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use unat_lab::{preflight, remove_stale_labs, Backend, Lab, LabConfig, LabError};

const USAGE: &str = "usage: unat-demo [--router PATH] [--tap | --two-hosts | --two-nats]

Builds a network of Linux namespaces (client -- unat-router -- hop router -- server),
runs real traffic through unat-router and prints PASS/FAIL per check. Needs root.

  --router PATH   the unat-router binary (default: unat-router next to unat-demo)
  --tap           attach the router to the private network with a TAP device
                  instead of a veth/AF_PACKET pair
  --two-hosts     put a second private host (10.0.0.3) on the private link (through
                  a bridge) and also check hairpinning between the two
  --two-nats      instead: two private hosts behind two unat-routers on one public
                  segment with a rendezvous server, and check UDP hole punching";

/// Which lab to build.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One private host (veth or TAP).
    OneHost,
    /// Two private hosts behind one router.
    TwoHosts,
    /// Two routers, one private host behind each.
    TwoNats,
}

/// Parsed command line.
struct Args {
    router: PathBuf,
    backend: Backend,
    shape: Shape,
}

fn parse_args() -> Result<Args, String> {
    let mut router = None;
    let mut backend = Backend::Packet;
    let mut shape = Shape::OneHost;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--router" => {
                router = Some(PathBuf::from(it.next().ok_or("--router needs a PATH")?));
            }
            "--tap" => backend = Backend::Tap,
            "--two-hosts" => shape = Shape::TwoHosts,
            "--two-nats" => shape = Shape::TwoNats,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let router = match router {
        Some(r) => r,
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find own executable: {e}"))?
            .with_file_name("unat-router"),
    };
    if backend == Backend::Tap && shape != Shape::OneHost {
        return Err("--tap works with one private host only".to_string());
    }
    Ok(Args {
        router,
        backend,
        shape,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if msg.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("unat-demo: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = preflight() {
        match e {
            LabError::NotRoot(_) => eprintln!(
                "unat-demo: {e}\nThe lab creates network namespaces, veth pairs and raw sockets; run it with sudo."
            ),
            _ => eprintln!("unat-demo: {e}"),
        }
        return ExitCode::from(2);
    }
    if !args.router.is_file() {
        eprintln!(
            "unat-demo: router binary {} not found (build it with `cargo build -p unat-router`, or pass --router PATH)",
            args.router.display()
        );
        return ExitCode::from(2);
    }

    // Ctrl-C / SIGTERM: finish the current check, then clean up (the Lab's
    // Drop) instead of dying with namespaces left behind.
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&interrupted)) {
            eprintln!("unat-demo: warning: cannot handle signal {sig}: {e}");
        }
    }

    for stale in remove_stale_labs() {
        println!("removed leftover from an earlier run: {stale}");
    }

    let mut cfg = LabConfig::new(&args.router);
    cfg.private_backend = args.backend;
    let built = match args.shape {
        Shape::OneHost | Shape::TwoHosts => {
            let clients = if args.shape == Shape::TwoHosts {
                cfg.private_hosts = 2;
                "client + client2 -- bridge"
            } else {
                "client"
            };
            println!(
                "building lab: {clients} -- unat-router ({}, {:?} backend) -- hop -- server",
                args.router.display(),
                args.backend
            );
            Lab::start(cfg)
        }
        Shape::TwoNats => {
            println!(
                "building lab: client -- unat-router ({}) and peer2 -- unat-router, on one public segment with a rendezvous server",
                args.router.display(),
            );
            Lab::start_two_nats(cfg)
        }
    };
    let lab = match built {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("unat-demo: lab setup failed: {e}");
            return ExitCode::from(2);
        }
    };
    let namespaces: Vec<&str> = lab.roles().iter().map(|r| lab.namespace(*r)).collect();
    println!("namespaces: {}", namespaces.join(", "));

    let checks = lab.run_checks(|c| {
        if c.passed {
            println!("PASS  {}  ({})", c.name, c.summary());
        } else {
            println!("FAIL  {}: {}", c.name, c.detail);
        }
        if interrupted.load(Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });

    let stopped = lab.stop_router();
    println!(
        "router stopped: {}",
        match stopped.status {
            Some(s) => s.to_string(),
            None => "did not exit on SIGTERM (killed)".to_string(),
        }
    );
    let nonzero: Vec<String> = stopped
        .stats
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| format!("  {k} {v}"))
        .collect();
    if nonzero.is_empty() {
        println!("router counters: none non-zero (stats file missing or empty?)");
    } else {
        println!("router counters (non-zero):\n{}", nonzero.join("\n"));
    }
    drop(lab);

    let passed = checks.iter().filter(|c| c.passed).count();
    println!("{passed}/{} checks passed", checks.len());
    if interrupted.load(Ordering::Relaxed) {
        eprintln!("unat-demo: interrupted");
        return ExitCode::from(130);
    }
    if passed == checks.len() && stopped.clean_exit() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
