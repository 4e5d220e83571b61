//! Reading the router's stats file: one `name value` pair per line.

use std::collections::BTreeMap;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// Parses stats text; lines that are not `name <u64>` are ignored.
pub(crate) fn parse(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let name = it.next()?;
            let value = it.next()?.parse().ok()?;
            Some((name.to_string(), value))
        })
        .collect()
}

/// Reads and parses the stats file; empty when it does not exist (yet).
///
/// Retries briefly when the file exists but reads empty, in case the
/// router is in the middle of rewriting it.
pub(crate) fn read(path: &Path) -> BTreeMap<String, u64> {
    for _ in 0..5 {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let map = parse(&text);
                if !map.is_empty() {
                    return map;
                }
            }
            Err(_) => return BTreeMap::new(),
        }
        thread::sleep(Duration::from_millis(20));
    }
    BTreeMap::new()
}

/// The modification time of `path`, if it exists.
fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Waits (at most `timeout`) until the router has rewritten the stats file
/// at least once after this call, then reads it. Returns whatever is there
/// when the wait times out.
pub(crate) fn read_fresh(path: &Path, timeout: Duration) -> BTreeMap<String, u64> {
    let before = mtime(path);
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let now = mtime(path);
        if now.is_some() && now != before {
            // Let a write that is in progress finish.
            thread::sleep(Duration::from_millis(20));
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    read(path)
}

/// The sum of all `drop_*` counters.
pub fn drop_total(stats: &BTreeMap<String, u64>) -> u64 {
    stats
        .iter()
        .filter(|(k, _)| k.starts_with("drop_"))
        .fold(0u64, |acc, (_, v)| acc.saturating_add(*v))
}

/// The `drop_*` counters that differ between `before` and `after`, as
/// `name +delta` items, for check details.
pub(crate) fn drop_deltas(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = after
        .iter()
        .filter(|(k, _)| k.starts_with("drop_"))
        .filter_map(|(k, v)| {
            let old = before.get(k).copied().unwrap_or(0);
            (*v != old).then(|| format!("{k} +{}", v.saturating_sub(old)))
        })
        .collect();
    if parts.is_empty() {
        "no drop counter changed".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_sums_drops() {
        let s = parse("rx_frames_public 10\ndrop_no_entry 3\ndrop_bad_header 2\ngarbage\nx y\n");
        assert_eq!(s.get("rx_frames_public"), Some(&10));
        assert_eq!(s.len(), 3);
        assert_eq!(drop_total(&s), 5);
        let after = parse("drop_no_entry 7\ndrop_bad_header 2\n");
        assert_eq!(drop_deltas(&s, &after), "drop_no_entry +4");
    }
}
