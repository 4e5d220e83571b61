//! Reading a packet's flow: which table it belongs to and under which key.

use crate::engine::error::PacketError;
use crate::flow::{Endpoint, FlowKey, Protocol};
use crate::wire::icmp::{self, IcmpMessage};
use crate::wire::ipv4::{Ipv4Packet, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
use crate::wire::tcp::TcpSegment;
use crate::wire::udp::UdpDatagram;
use crate::wire::WireError;

/// What a packet is, as far as the NAT is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Classified {
    /// A TCP segment, UDP datagram or ICMP query, keyed by its own header.
    Flow {
        proto: Protocol,
        key: FlowKey,
        /// For ICMP: the message is a query request (not a reply).
        icmp_request: bool,
        /// For TCP: the flags byte (0 for other protocols).
        tcp_flags: u8,
    },
    /// An ICMP error message; its flow is the quoted packet's.
    IcmpError,
}

/// Validates the IPv4 header (lengths, checksum, not a fragment, no source
/// route) and the transport header, and says which flow the packet belongs
/// to.
pub(crate) fn classify(ip: &Ipv4Packet<&[u8]>) -> Result<Classified, PacketError> {
    if !ip.verify_checksum() {
        return Err(WireError::BadHeaderChecksum.into());
    }
    if ip.is_fragment() {
        return Err(PacketError::Fragment);
    }
    if ip.has_source_route() {
        return Err(PacketError::SourceRoute);
    }
    let (src, dst) = (ip.src(), ip.dst());
    let payload = ip.payload();
    match ip.protocol() {
        PROTO_TCP => {
            let tcp = TcpSegment::new_checked(payload)?;
            Ok(Classified::Flow {
                proto: Protocol::Tcp,
                key: FlowKey::new(
                    Endpoint::new(src, tcp.src_port()),
                    Endpoint::new(dst, tcp.dst_port()),
                ),
                icmp_request: false,
                tcp_flags: tcp.flags(),
            })
        }
        PROTO_UDP => {
            let udp = UdpDatagram::new_checked(payload)?;
            Ok(Classified::Flow {
                proto: Protocol::Udp,
                key: FlowKey::new(
                    Endpoint::new(src, udp.src_port()),
                    Endpoint::new(dst, udp.dst_port()),
                ),
                icmp_request: false,
                tcp_flags: 0,
            })
        }
        PROTO_ICMP => {
            let msg = IcmpMessage::new_checked(payload)?;
            match icmp::kind(msg.msg_type()) {
                k @ (icmp::Kind::QueryRequest | icmp::Kind::QueryReply) => Ok(Classified::Flow {
                    proto: Protocol::Icmp,
                    key: FlowKey::icmp(src, dst, msg.ident()),
                    icmp_request: k == icmp::Kind::QueryRequest,
                    tcp_flags: 0,
                }),
                icmp::Kind::Error => Ok(Classified::IcmpError),
                icmp::Kind::Other => Err(PacketError::UnsupportedIcmp(msg.msg_type())),
            }
        }
        other => Err(PacketError::UnsupportedProtocol(other)),
    }
}
