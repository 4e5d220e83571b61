//! Network namespaces: unique names, creation with their own
//! `/etc/netns/<name>` files, and idempotent, panic-free removal.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::{command, run, CmdOutput};
use crate::error::LabError;

/// Prefix of every namespace (and temp dir) the lab creates.
pub(crate) const PREFIX: &str = "unat-";

/// Time bound for `ip` / `sysctl` control commands.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// A tag unique among all labs on this machine while this process lives:
/// `<pid>-<n>` with `n` from a process-wide counter.
pub(crate) fn unique_tag() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// The `/etc/netns/<name>` directory that `ip netns exec` bind-mounts over
/// `/etc` files.
pub(crate) fn etc_dir(name: &str) -> PathBuf {
    Path::new("/etc/netns").join(name)
}

/// Runs an `ip` control command in the root namespace.
pub(crate) fn ip(args: &[&str]) -> CmdOutput {
    run(command("ip").args(args), None, CONTROL_TIMEOUT)
}

/// Runs an `ip` control command and turns failure into an error for `step`.
pub(crate) fn ip_ok(step: &str, args: &[&str]) -> Result<CmdOutput, LabError> {
    let out = ip(args);
    if out.success() {
        Ok(out)
    } else {
        Err(LabError::Command {
            step: step.to_string(),
            output: out.describe(),
        })
    }
}

/// Writes the namespace's own `resolv.conf` and `hosts`, so that nothing
/// run inside it consults the host's resolver.
pub(crate) fn write_etc(name: &str) -> Result<(), LabError> {
    let dir = etc_dir(name);
    std::fs::create_dir_all(&dir)
        .map_err(|e| LabError::io(format!("creating {}", dir.display()), e))?;
    let files = [
        ("resolv.conf", "nameserver 127.0.0.1\n"),
        (
            "hosts",
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
        ),
    ];
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::write(&path, text)
            .map_err(|e| LabError::io(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

/// Creates namespace `name`. A namespace of that name can only be left over
/// from a dead process that had our pid (the tag includes the pid and a
/// per-process counter), so it is removed and creation retried once.
pub(crate) fn add(name: &str) -> Result<(), LabError> {
    let first = ip(&["netns", "add", name]);
    if first.success() {
        return Ok(());
    }
    if first.combined().contains("File exists") {
        remove(name);
        ip_ok(
            &format!("creating namespace {name}"),
            &["netns", "add", name],
        )?;
        return Ok(());
    }
    Err(LabError::Command {
        step: format!("creating namespace {name}"),
        output: first.describe(),
    })
}

/// The pids of the processes in namespace `name`.
pub(crate) fn pids(name: &str) -> Vec<libc::pid_t> {
    ip(&["netns", "pids", name])
        .stdout
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// SIGKILLs every process still in namespace `name` (the backstop after the
/// lab has killed its own children) and waits briefly for them to go.
pub(crate) fn kill_all(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = pids(name);
        if left.is_empty() || Instant::now() >= deadline {
            return;
        }
        for pid in left {
            if pid > 1 && pid != std::process::id() as libc::pid_t {
                // SAFETY: kill(2) has no memory-safety preconditions; the
                // pid was just listed as living in our namespace.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Removes namespace `name`: kills what runs in it, deletes it (which
/// deletes its veths) and its `/etc/netns` directory. Idempotent; never
/// panics; errors are ignored (there is nothing better to do in cleanup).
pub(crate) fn remove(name: &str) {
    if exists(name) {
        kill_all(name);
        let _ = ip(&["netns", "del", name]);
    }
    let _ = std::fs::remove_dir_all(etc_dir(name));
}

/// True when `/var/run/netns/<name>` exists.
pub(crate) fn exists(name: &str) -> bool {
    Path::new("/var/run/netns").join(name).exists()
}

/// The pid encoded in a lab namespace or temp-dir name
/// (`unat-<pid>-<n>-<role>` / `unat-lab-<pid>-<n>`).
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let rest = rest.strip_prefix("lab-").unwrap_or(rest);
    rest.split('-').next()?.parse().ok()
}

/// Removes the namespaces, `/etc/netns` directories and temp dirs left by
/// labs whose process no longer exists (e.g. a test run killed with
/// SIGKILL, which skips `Drop`). Labs of living processes are left alone.
/// Returns the names removed. Needs root; never panics.
pub fn remove_stale_labs() -> Vec<String> {
    let alive = |pid: u32| Path::new("/proc").join(pid.to_string()).exists();
    let mut removed = Vec::new();
    let mut names: Vec<String> = ip(&["netns", "list"])
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    if let Ok(dir) = std::fs::read_dir("/etc/netns") {
        names.extend(
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned()),
        );
    }
    names.sort();
    names.dedup();
    for name in names {
        if let Some(pid) = owner_pid(&name) {
            if !alive(pid) {
                remove(&name);
                removed.push(name);
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with("unat-lab-") {
                continue;
            }
            if let Some(pid) = owner_pid(&name) {
                if !alive(pid) && std::fs::remove_dir_all(entry.path()).is_ok() {
                    removed.push(entry.path().display().to_string());
                }
            }
        }
    }
    removed
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_parses_names() {
        assert_eq!(owner_pid("unat-1234-0-client"), Some(1234));
        assert_eq!(owner_pid("unat-lab-99-3"), Some(99));
        assert_eq!(owner_pid("other-1-2"), None);
        assert_eq!(owner_pid("unat-x-1"), None);
    }

    #[test]
    fn tags_are_unique() {
        assert_ne!(unique_tag(), unique_tag());
    }
}
