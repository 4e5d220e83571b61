//! The error type for opening and configuring link-layer devices.
//!
//! Every [`DeviceError`] names the interface it is about and says what the
//! operator can do about it. Failed system calls keep their [`io::Error`] as
//! the [`source`](std::error::Error::source), so the errno text appears when
//! the caller prints the error's source chain (it is not repeated in the
//! error's own `Display`).

use std::io;

/// Why a device could not be opened or configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The interface name cannot be used at all.
    #[error(
        "invalid interface name {ifname:?}: {reason}; use a name of 1 to 15 bytes \
         such as `veth0` or `tap0`"
    )]
    InvalidName {
        /// The name as given.
        ifname: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// No interface of that name exists (in the current network namespace).
    #[error(
        "no network interface named {ifname}: check the name with `ip link`, or create \
         the interface first"
    )]
    NoSuchInterface {
        /// The name as given.
        ifname: String,
    },

    /// The interface exists but does not carry Ethernet frames.
    #[error(
        "{ifname} is not an Ethernet interface (ARP hardware type {hwtype}): use an \
         Ethernet-like interface such as a veth end, a TAP device or a NIC"
    )]
    NotEthernet {
        /// The interface name.
        ifname: String,
        /// The `ARPHRD_*` hardware type the kernel reported.
        hwtype: u16,
    },

    /// The kernel refused an operation for lack of privileges (`EPERM`/`EACCES`).
    #[error(
        "{ifname}: {action} was refused: this needs CAP_NET_ADMIN/CAP_NET_RAW, so run \
         unat-router as root (or grant it those capabilities)"
    )]
    PermissionDenied {
        /// The interface name.
        ifname: String,
        /// What was being done, e.g. "opening an AF_PACKET socket".
        action: &'static str,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
    },

    /// Any other failed system call.
    #[error("{ifname}: {action} failed: {hint}")]
    Io {
        /// The interface name.
        ifname: String,
        /// What was being done, e.g. "reading the MTU".
        action: &'static str,
        /// What the operator can try.
        hint: &'static str,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
    },
}

impl DeviceError {
    /// Wraps a failed system call: `EPERM`/`EACCES` become
    /// [`DeviceError::PermissionDenied`], anything else [`DeviceError::Io`].
    pub(crate) fn os(
        ifname: &str,
        action: &'static str,
        hint: &'static str,
        source: io::Error,
    ) -> DeviceError {
        match source.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => DeviceError::PermissionDenied {
                ifname: ifname.to_owned(),
                action,
                source,
            },
            _ => DeviceError::Io {
                ifname: ifname.to_owned(),
                action,
                hint,
                source,
            },
        }
    }

    /// The name of the interface the error is about.
    pub fn ifname(&self) -> &str {
        match self {
            DeviceError::InvalidName { ifname, .. }
            | DeviceError::NoSuchInterface { ifname }
            | DeviceError::NotEthernet { ifname, .. }
            | DeviceError::PermissionDenied { ifname, .. }
            | DeviceError::Io { ifname, .. } => ifname,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn eperm_and_eacces_ask_for_root() {
        for errno in [libc::EPERM, libc::EACCES] {
            let err = DeviceError::os(
                "veth0",
                "opening an AF_PACKET socket",
                "unused",
                io::Error::from_raw_os_error(errno),
            );
            assert!(matches!(err, DeviceError::PermissionDenied { .. }));
            let text = err.to_string();
            assert!(text.contains("veth0"), "{text}");
            assert!(text.contains("CAP_NET_ADMIN/CAP_NET_RAW"), "{text}");
            assert!(text.contains("root"), "{text}");
            assert!(err.source().is_some());
            assert_eq!(err.ifname(), "veth0");
        }
    }

    #[test]
    fn other_errors_keep_hint_and_source() {
        let err = DeviceError::os(
            "tap0",
            "reading the MTU",
            "check that the interface still exists",
            io::Error::from_raw_os_error(libc::ENODEV),
        );
        assert!(matches!(err, DeviceError::Io { .. }));
        let text = err.to_string();
        assert!(text.contains("tap0"), "{text}");
        assert!(text.contains("check that the interface"), "{text}");
        let source = err.source().map(ToString::to_string).unwrap_or_default();
        assert!(!source.is_empty());
    }

    #[test]
    fn messages_name_the_interface() {
        let errs = [
            DeviceError::InvalidName {
                ifname: "a/b".into(),
                reason: "it contains `/`",
            },
            DeviceError::NoSuchInterface {
                ifname: "nope0".into(),
            },
            DeviceError::NotEthernet {
                ifname: "lo".into(),
                hwtype: 772,
            },
        ];
        for err in errs {
            let text = err.to_string();
            assert!(text.contains(err.ifname()), "{text}");
        }
    }
}
