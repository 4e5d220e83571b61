//! The router's counters: frames in and out per side, rules added, and
//! every dropped packet counted under the reason it was dropped for.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// Named counters. Drops are kept apart and rendered as `drop_<reason>`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    counters: BTreeMap<&'static str, u64>,
    drops: BTreeMap<&'static str, u64>,
}

impl Stats {
    /// Counters that exist from the start, at 0.
    pub fn with_counters(names: &[&'static str]) -> Self {
        Stats {
            counters: names.iter().map(|n| (*n, 0)).collect(),
            drops: BTreeMap::new(),
        }
    }

    /// Adds one to a counter.
    pub fn inc(&mut self, name: &'static str) {
        *self.counters.entry(name).or_insert(0) += 1;
    }

    /// Adds `n` to a counter.
    pub fn add(&mut self, name: &'static str, n: u64) {
        *self.counters.entry(name).or_insert(0) += n;
    }

    /// Sets a counter that mirrors a total kept elsewhere.
    pub fn set(&mut self, name: &'static str, value: u64) {
        self.counters.insert(name, value);
    }

    /// Counts a packet dropped for `reason`.
    pub fn drop(&mut self, reason: &'static str) {
        *self.drops.entry(reason).or_insert(0) += 1;
    }

    /// A counter's value (0 if never counted).
    pub fn get(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// How many packets were dropped for `reason`.
    pub fn dropped(&self, reason: &str) -> u64 {
        self.drops.get(reason).copied().unwrap_or(0)
    }

    /// All drops, whatever the reason.
    pub fn dropped_total(&self) -> u64 {
        self.drops.values().sum()
    }

    /// One `name value` line per counter, drops last, sorted by name.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.counters {
            let _ = writeln!(out, "{k} {v}");
        }
        for (k, v) in &self.drops {
            let _ = writeln!(out, "drop_{k} {v}");
        }
        out
    }

    /// Writes [`render`](Stats::render) to `path`, atomically (through a
    /// temporary file renamed over it), so readers never see half a file.
    pub fn write_to(&self, path: &Path) -> io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, self.render())?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_then_drops() {
        let mut s = Stats::default();
        s.inc("rx_frames_public");
        s.inc("rx_frames_public");
        s.drop("no_entry");
        assert_eq!(s.render(), "rx_frames_public 2\ndrop_no_entry 1\n");
        assert_eq!(s.dropped_total(), 1);
        assert_eq!(s.get("nothing"), 0);
    }
}
