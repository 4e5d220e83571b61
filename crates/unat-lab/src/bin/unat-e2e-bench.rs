//! `unat-e2e-bench`: end-to-end rates through `unat-router` in the
//! namespace lab (iperf3 TCP goodput, UDP packet rates), printed as a table.
//!
//! ```text
//! unat-e2e-bench [--router PATH] [--seconds N] [--tap]
//! ```
//! Needs root. For orientation only: the rates depend on the machine, and
//! the router runs unoptimised unless it is a release build.

use std::path::PathBuf;
use std::process::ExitCode;

use unat_lab::{Backend, Lab, LabConfig};

fn main() -> ExitCode {
    let mut router = None;
    let mut seconds = 5u32;
    let mut backend = Backend::Packet;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--router", Some(p)) => router = Some(PathBuf::from(p)),
            ("--seconds", Some(n)) => match n.parse() {
                Ok(n) if (1..=60).contains(&n) => seconds = n,
                _ => return usage(&format!("--seconds {n}: give 1 to 60")),
            },
            ("--tap", next) => {
                backend = Backend::Tap;
                if let Some(n) = next {
                    return usage(&format!("unexpected `{n}`"));
                }
            }
            (other, _) => return usage(&format!("unknown argument `{other}`")),
        }
    }
    let router = match router.or_else(|| {
        std::env::current_exe()
            .ok()
            .map(|p| p.with_file_name("unat-router"))
    }) {
        Some(r) => r,
        None => return usage("cannot find unat-router; pass --router PATH"),
    };
    let mut cfg = LabConfig::new(router);
    cfg.private_backend = backend;
    let lab = match Lab::start(cfg) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("unat-e2e-bench: {e}");
            return ExitCode::from(2);
        }
    };
    println!("client 10.0.0.2 -> unat-router ({backend:?}) -> hop -> server 198.18.1.2, {seconds} s each");
    match lab.measure_throughput(seconds) {
        Ok(rates) => {
            for r in rates {
                println!("{r}");
            }
            let stopped = lab.stop_router();
            let drops: u64 = unat_lab::drop_total(&stopped.stats);
            println!("router drops during the runs: {drops}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unat-e2e-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("unat-e2e-bench: {msg}\nusage: unat-e2e-bench [--router PATH] [--seconds N] [--tap]");
    ExitCode::from(2)
}
