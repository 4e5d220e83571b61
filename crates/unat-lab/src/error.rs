//! The error type for building and driving a [`Lab`](crate::Lab).

use std::path::PathBuf;

/// Why a [`Lab`](crate::Lab) could not be built or an operation on it failed.
///
/// Errors that involve the router carry its log output, so a failing test
/// shows why the router did not come up.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab needs root (namespaces, veths, raw sockets).
    #[error("the lab must run as root (effective uid is {0})")]
    NotRoot(u32),

    /// A command-line tool the lab relies on was not found.
    #[error("required tool `{0}` not found (install iproute2, iputils-ping, curl, traceroute, ethtool, socat, procps, python3)")]
    MissingTool(String),

    /// The router binary does not exist or is not a file.
    #[error("router binary {0} not found")]
    RouterBinary(PathBuf),

    /// A setup or control command failed.
    #[error("{step} failed: {output}")]
    Command {
        /// What the lab was doing.
        step: String,
        /// The command line and its output.
        output: String,
    },

    /// A file-system or system-call operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the lab was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A server the lab started did not come up.
    #[error("{what} did not start: {log}")]
    ServerNotReady {
        /// Which server.
        what: String,
        /// Its log output.
        log: String,
    },

    /// The router process exited while the lab was starting.
    #[error("unat-router exited during start-up ({status}); log:\n{log}")]
    RouterExited {
        /// Its exit status.
        status: String,
        /// Its log output.
        log: String,
    },

    /// The router did not create its TAP device in time.
    #[error("unat-router did not create TAP device {name} within {secs} s; log:\n{log}")]
    TapNotCreated {
        /// The TAP device name the lab waited for.
        name: String,
        /// How long the lab waited.
        secs: u64,
        /// The router's log output.
        log: String,
    },

    /// The router did not answer a ping from its private host (the client,
    /// or PEER2 for ROUTER2) in time.
    #[error("unat-router did not answer ping from its private host within {secs} s ({last}); log:\n{log}")]
    RouterNotReady {
        /// How long the lab waited.
        secs: u64,
        /// The output of the last ping.
        last: String,
        /// The router's log output.
        log: String,
    },

    /// A lab configuration the lab cannot build.
    #[error("unsupported lab configuration: {0}")]
    Unsupported(String),
}

impl LabError {
    /// An [`LabError::Io`] with context.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LabError::Io {
            context: context.into(),
            source,
        }
    }
}
