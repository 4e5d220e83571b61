//! Running external commands with a hard time bound and captured output.
//!
//! Every command the lab runs goes through [`run`]: it is killed when its
//! deadline passes, and reading its output never blocks past a short grace
//! period even if a grandchild keeps the pipes open.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// What a bounded command did: exit status, whether it timed out, and its
/// output (lossily decoded as UTF-8).
#[derive(Debug, Clone, Default)]
pub struct CmdOutput {
    /// The command line, for reports.
    pub command: String,
    /// The exit code, `None` if it was killed by a signal, timed out or
    /// could not be started.
    pub status: Option<i32>,
    /// True when the lab killed it because its deadline passed.
    pub timed_out: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error (or why the command could not be started).
    pub stderr: String,
}

impl CmdOutput {
    /// True when the command exited with code 0 within its deadline.
    pub fn success(&self) -> bool {
        !self.timed_out && self.status == Some(0)
    }

    /// Standard output and standard error together.
    pub fn combined(&self) -> String {
        let mut s = self.stdout.clone();
        if !self.stderr.trim().is_empty() {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&self.stderr);
        }
        s
    }

    /// A one-paragraph description for error messages and check details:
    /// the command, how it ended, and an excerpt of its output.
    pub fn describe(&self) -> String {
        let ended = if self.timed_out {
            "timed out".to_string()
        } else {
            match self.status {
                Some(c) => format!("exit {c}"),
                None => "killed by signal / not started".to_string(),
            }
        };
        format!(
            "`{}` -> {ended}: {}",
            self.command,
            excerpt(&self.combined(), 600)
        )
    }
}

/// The `PATH` given to every child: the caller's plus the usual system
/// directories, so `ip`, `ethtool` and `sysctl` resolve even when the test
/// harness runs with a short `PATH`.
pub(crate) fn child_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let mut p = std::env::var("PATH").unwrap_or_default();
        for dir in [
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ] {
            if !p.split(':').any(|d| d == dir) {
                if !p.is_empty() {
                    p.push(':');
                }
                p.push_str(dir);
            }
        }
        p
    })
}

/// Finds `tool` the way a child would (an absolute path is checked as is).
pub(crate) fn find_tool(tool: &str) -> Option<std::path::PathBuf> {
    if tool.starts_with('/') {
        let p = std::path::PathBuf::from(tool);
        return p.is_file().then_some(p);
    }
    child_path()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| std::path::Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// A `Command` for `program` with the lab's `PATH`.
pub(crate) fn command<S: AsRef<OsStr>>(program: S) -> Command {
    let mut c = Command::new(program);
    c.env("PATH", child_path());
    c
}

/// The printable command line of `cmd`.
pub(crate) fn command_line(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` to completion or until `timeout`, feeding it `stdin` (then
/// closing it) and capturing its output. Never panics and never blocks much
/// longer than `timeout` (plus one second to collect output).
pub(crate) fn run(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> CmdOutput {
    let mut out = CmdOutput {
        command: command_line(cmd),
        ..CmdOutput::default()
    };
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            out.stderr = format!("could not start: {e}");
            return out;
        }
    };
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // Small payloads only: fits in the pipe buffer, so this cannot block
        // for long. Errors (the child closed stdin) are irrelevant.
        let _ = pipe.write_all(data);
    }
    let stdout_rx = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr_rx = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );

    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                out.status = status.code();
                break;
            }
            Ok(None) if Instant::now() >= deadline => {
                out.timed_out = true;
                kill_and_reap(&mut child);
                break;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                out.stderr = format!("wait failed: {e}");
                kill_and_reap(&mut child);
                return out;
            }
        }
    }
    let grace = Duration::from_secs(1);
    out.stdout = stdout_rx
        .and_then(|rx| rx.recv_timeout(grace).ok())
        .unwrap_or_default();
    out.stderr = stderr_rx
        .and_then(|rx| rx.recv_timeout(grace).ok())
        .unwrap_or_default();
    out
}

/// Reads `pipe` to its end on a helper thread; the result arrives on the
/// returned channel (or never, if a grandchild keeps the pipe open).
fn reader(pipe: Option<Box<dyn Read + Send>>) -> Option<mpsc::Receiver<String>> {
    let mut pipe = pipe?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
    });
    Some(rx)
}

/// SIGKILLs `child` and reaps it. Errors (already exited) are ignored.
pub(crate) fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends SIGTERM to `child`, waits up to `grace` for it to exit, then
/// SIGKILLs it. Returns its exit status if it exited by itself.
pub(crate) fn terminate(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a pid we own (our unreaped child, so the pid
        // cannot have been reused) and a valid signal number.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    kill_and_reap(child);
    None
}

/// The text shortened to about `max` characters (keeping the end, where
/// tools print their summaries), trimmed.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let t = text.trim();
    let count = t.chars().count();
    if count <= max {
        return t.to_string();
    }
    let tail: String = t.chars().skip(count - max).collect();
    format!("...{tail}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn run_captures_output_and_status() {
        let out = run(
            command("sh").args(["-c", "cat; echo err >&2; exit 3"]),
            Some(b"hello"),
            Duration::from_secs(5),
        );
        assert_eq!(out.status, Some(3));
        assert_eq!(out.stdout, "hello");
        assert_eq!(out.stderr.trim(), "err");
        assert!(!out.success());
    }

    #[test]
    fn run_kills_on_timeout() {
        let start = Instant::now();
        let out = run(command("sleep").arg("30"), None, Duration::from_millis(200));
        assert!(out.timed_out);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn run_reports_missing_program() {
        let out = run(
            &mut command("/nonexistent/tool"),
            None,
            Duration::from_secs(1),
        );
        assert!(!out.success());
        assert!(out.stderr.contains("could not start"));
    }

    #[test]
    fn excerpt_keeps_the_end() {
        assert_eq!(excerpt("  abc  ", 10), "abc");
        assert_eq!(excerpt("0123456789", 4), "...6789");
    }
}
