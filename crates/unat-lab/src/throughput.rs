//! End-to-end rates through the router, measured with iperf3 between the
//! client and the server namespaces: TCP goodput, and the UDP packet rate
//! with small and large datagrams. Every run is bounded by its duration.

use std::fmt;
use std::time::Duration;

use crate::error::LabError;
use crate::topology::{addr, Lab, Role};

/// One iperf3 run's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Rate {
    /// What was measured.
    pub name: String,
    /// Bits per second received.
    pub bits_per_second: f64,
    /// Datagrams per second received (UDP only).
    pub packets_per_second: Option<f64>,
    /// Share of datagrams lost, in percent (UDP only).
    pub lost_percent: Option<f64>,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<28} {:>9.1} Mbit/s",
            self.name,
            self.bits_per_second / 1e6
        )?;
        if let (Some(pps), Some(lost)) = (self.packets_per_second, self.lost_percent) {
            write!(f, "  {:>9.0} packets/s  {:>5.1}% lost", pps, lost)?;
        }
        Ok(())
    }
}

/// The iperf3 server port, on the server's address.
const IPERF_PORT: &str = "5201";

impl Lab {
    /// Measures TCP goodput and UDP packet rates client -> server through
    /// the NAT, each for `seconds` (1 to 60).
    pub fn measure_throughput(&self, seconds: u32) -> Result<Vec<Rate>, LabError> {
        let secs = seconds.clamp(1, 60).to_string();
        let server = addr::SERVER.to_string();
        self.spawn_background(
            Role::Server,
            "iperf3",
            &["iperf3", "-s", "-B", &server, "-p", IPERF_PORT],
        )?;
        std::thread::sleep(Duration::from_millis(300));
        let runs: [(&str, &[&str]); 3] = [
            ("tcp", &[]),
            ("udp 64-byte datagrams", &["-u", "-b", "0", "-l", "64"]),
            ("udp 1400-byte datagrams", &["-u", "-b", "0", "-l", "1400"]),
        ];
        let mut rates = Vec::new();
        for (name, extra) in runs {
            let mut args = vec!["iperf3", "-c", &server, "-p", IPERF_PORT, "-t", &secs, "-J"];
            args.extend_from_slice(extra);
            let timeout = Duration::from_secs(u64::from(seconds.clamp(1, 60)) + 15);
            let out = self.exec_timeout(Role::Client, &args, timeout);
            if !out.success() {
                self.stop_background("iperf3");
                return Err(LabError::Command {
                    step: format!("iperf3 {name}"),
                    output: out.describe(),
                });
            }
            rates.push(parse_iperf_json(name, &out.stdout)?);
        }
        self.stop_background("iperf3");
        Ok(rates)
    }
}

/// Reads the receiver's numbers (`end.sum_received`; for UDP its
/// `packets` counts what was sent, less `lost_packets` what arrived) from
/// `iperf3 -J` output. A small scanner
/// for the three fields needed, rather than a JSON dependency.
fn parse_iperf_json(name: &str, json: &str) -> Result<Rate, LabError> {
    let bad = || LabError::Command {
        step: format!("reading iperf3 {name} results"),
        output: json.chars().take(500).collect(),
    };
    let end = json.find("\"end\"").ok_or_else(bad)?;
    let end = json.get(end..).ok_or_else(bad)?;
    let udp = end.contains("\"lost_percent\"");
    let at = end.find("\"sum_received\"").ok_or_else(bad)?;
    let sum = end.get(at..).ok_or_else(bad)?;
    let bps = number_after(sum, "\"bits_per_second\"").ok_or_else(bad)?;
    let (pps, lost) = if udp {
        let packets = number_after(sum, "\"packets\"").ok_or_else(bad)?;
        let lost_packets = number_after(sum, "\"lost_packets\"").unwrap_or(0.0);
        let seconds = number_after(sum, "\"seconds\"")
            .filter(|s| *s > 0.0)
            .ok_or_else(bad)?;
        let lost = number_after(sum, "\"lost_percent\"").ok_or_else(bad)?;
        (Some((packets - lost_packets) / seconds), Some(lost))
    } else {
        (None, None)
    };
    Ok(Rate {
        name: name.to_string(),
        bits_per_second: bps,
        packets_per_second: pps,
        lost_percent: lost,
    })
}

/// The number that follows `"key":` in `text`.
fn number_after(text: &str, key: &str) -> Option<f64> {
    let at = text.find(key)? + key.len();
    let rest = text.get(at..)?.trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(rest.len());
    rest.get(..end)?.parse().ok()
}

#[cfg(test)]
mod unit {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_tcp_and_udp_summaries() {
        let tcp = r#"{"start":{},"end":{"sum_sent":{"bits_per_second":2e9},"sum_received":{"seconds":3.0,"bits_per_second":1.5e9}}}"#;
        let r = parse_iperf_json("tcp", tcp).unwrap();
        assert_eq!(r.bits_per_second, 1.5e9);
        assert_eq!(r.packets_per_second, None);
        let udp = r#"{"end":{"sum":{"packets":5},"sum_received":{"seconds":2.0,"bits_per_second":8000000,"lost_packets":10,"packets":1010,"lost_percent":0.99}}}"#;
        let r = parse_iperf_json("udp", udp).unwrap();
        assert_eq!(r.packets_per_second, Some(500.0));
        assert_eq!(r.lost_percent, Some(0.99));
        assert!(parse_iperf_json("x", "garbage").is_err());
    }
}
