//! NAT rules: which packets may start one, and the pair of entries a rule
//! puts in the store.

use core::net::Ipv4Addr;

use crate::engine::error::CannotNat;
use crate::flow::{Endpoint, FlowKey, Protocol};

/// What kind of rule [`Nat::add`](crate::Nat::add) makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Source NAT: `src -> dst` leaves as `xl -> dst`; replies
    /// `dst -> xl` come back as `dst -> src`.
    Nat,
    /// Destination NAT (a port forward): `src -> dst` goes on as
    /// `xl -> target`; replies `target -> xl` go back as `dst -> src`.
    ///
    /// With `xl` set to the packet's own source endpoint, the target sees
    /// the real client (a classic port forward); with `xl` one of the NAT's
    /// addresses, it sees the NAT (the original's behaviour).
    Redirect {
        /// Where the packets are finally delivered.
        target: Endpoint,
    },
}

/// Whether `a` may appear in a translated flow: unicast with global or
/// organisation scope. Refused: 0.0.0.0/8 ("this network", RFC 1122),
/// loopback, link-local, multicast, and 240.0.0.0/4 (reserved, which holds
/// the limited broadcast 255.255.255.255).
pub fn is_translatable(a: Ipv4Addr) -> bool {
    let [first, ..] = a.octets();
    !(first == 0 || first >= 240 || a.is_loopback() || a.is_link_local() || a.is_multicast())
}

/// Refuses addresses that must never be translated.
pub(crate) fn check_address(a: Ipv4Addr) -> Result<(), CannotNat> {
    if is_translatable(a) {
        Ok(())
    } else {
        Err(CannotNat::Address(a))
    }
}

/// The translation of `key` by a rule that maps its source to `xl`.
///
/// NAT: `src -> dst` becomes `xl -> dst`; Redirect: `xl -> target`. ICMP
/// keys carry the query identifier in both endpoints (see
/// [`FlowKey::icmp`]), so the translated identifier `xl.port` goes in both.
pub(crate) fn translation(proto: Protocol, key: &FlowKey, xl: Endpoint, mode: Mode) -> FlowKey {
    let target = match mode {
        Mode::Nat => match proto {
            Protocol::Icmp => Endpoint::new(key.dst.addr, xl.port),
            Protocol::Tcp | Protocol::Udp => key.dst,
        },
        Mode::Redirect { target } => target,
    };
    FlowKey::new(xl, target)
}
