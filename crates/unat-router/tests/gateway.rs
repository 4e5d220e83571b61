//! The gateway over in-memory devices: ARP, ping, source NAT both ways,
//! port forwards, and dropping (and counting) what must not pass. No root
//! needed: frames are injected and collected in process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::Ipv4Addr;
use std::time::Instant;

use etherparse::{
    ArpEthIpv4Packet, ArpOperation, ArpPacketSlice, EtherType, Icmpv4Type, NetSlice, PacketBuilder,
    SlicedPacket, TransportSlice,
};
use unat::{Config, LruStore, Nat};
use unat_router::config::{Cidr, Forward};
use unat_router::device::memory::{MemoryDevice, MemoryLink};
use unat_router::gateway::{Gateway, Link};

const ROUTER_PRIV_MAC: [u8; 6] = [2, 0, 0, 0, 1, 1];
const ROUTER_PUB_MAC: [u8; 6] = [2, 0, 0, 0, 2, 2];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x0a];
const UPSTREAM_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x0b];
const CLIENT: [u8; 4] = [10, 0, 0, 2];
const SERVER: [u8; 4] = [198, 18, 1, 2];
const PUBLIC: [u8; 4] = [198, 18, 0, 2];
const UPSTREAM: [u8; 4] = [198, 18, 0, 1];

struct Bench {
    gw: Gateway<LruStore>,
    private: MemoryLink,
    public: MemoryLink,
    now: Instant,
}

impl Bench {
    fn new() -> Bench {
        let (pd, private) = MemoryDevice::new("priv", ROUTER_PRIV_MAC, 1500);
        let (ud, public) = MemoryDevice::new("pub", ROUTER_PUB_MAC, 1500);
        let mut nat = Nat::with_config(
            LruStore::new(64, 64, 16).unwrap(),
            Config::new(Ipv4Addr::from(PUBLIC)),
        )
        .unwrap();
        let f = "tcp:8080=10.0.0.2:80".parse::<Forward>().unwrap();
        assert!(nat.add_forward(f.proto, f.port, f.target));
        let mut x = 0x9e37_79b9u32;
        let gw = Gateway::new(
            nat,
            Link::new(Box::new(pd), "10.0.0.1/24".parse::<Cidr>().unwrap()),
            Link::new(Box::new(ud), "198.18.0.2/24".parse::<Cidr>().unwrap()),
            Some(Ipv4Addr::from(UPSTREAM)),
            Box::new(move || {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            }),
            Instant::now(),
        );
        Bench {
            gw,
            private,
            public,
            now: Instant::now(),
        }
    }

    fn run(&mut self) {
        self.gw.poll(self.now);
    }

    /// Both neighbours known to the router, by answering its ARP requests.
    fn learn_neighbours(&mut self) {
        self.private
            .inject(arp_request(CLIENT_MAC, CLIENT, [10, 0, 0, 1]));
        self.public
            .inject(arp_request(UPSTREAM_MAC, UPSTREAM, PUBLIC));
        self.run();
        assert_eq!(self.private.take_sent().len(), 1, "ARP reply to the client");
        assert_eq!(self.public.take_sent().len(), 1, "ARP reply upstream");
    }
}

fn arp_request(mac: [u8; 6], ip: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let arp = ArpEthIpv4Packet {
        operation: ArpOperation::REQUEST,
        sender_mac: mac,
        sender_ipv4: ip,
        target_mac: [0; 6],
        target_ipv4: target,
    };
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&0x0806u16.to_be_bytes());
    f.extend_from_slice(&arp.to_bytes());
    f
}

fn udp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut f, payload)
        .unwrap();
    f
}

/// (src, sport, dst, dport, ttl, payload) of a UDP or TCP frame, checking
/// every checksum with etherparse on the way.
fn parse(frame: &[u8]) -> ([u8; 4], u16, [u8; 4], u16, u8, Vec<u8>) {
    let p = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        panic!("not IPv4")
    };
    let h = ip.header().to_header();
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    match p.transport.unwrap() {
        TransportSlice::Udp(u) => {
            let c = u.to_header().calc_checksum_ipv4(&h, u.payload()).unwrap();
            assert_eq!(u.checksum(), c, "UDP checksum");
            (
                h.source,
                u.source_port(),
                h.destination,
                u.destination_port(),
                h.time_to_live,
                u.payload().to_vec(),
            )
        }
        TransportSlice::Tcp(t) => {
            let c = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
            assert_eq!(t.checksum(), c, "TCP checksum");
            (
                h.source,
                t.source_port(),
                h.destination,
                t.destination_port(),
                h.time_to_live,
                t.payload().to_vec(),
            )
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn answers_arp_for_its_own_addresses_only() {
    let mut b = Bench::new();
    b.private
        .inject(arp_request(CLIENT_MAC, CLIENT, [10, 0, 0, 1]));
    b.private
        .inject(arp_request(CLIENT_MAC, CLIENT, [10, 0, 0, 99]));
    b.run();
    let sent = b.private.take_sent();
    assert_eq!(sent.len(), 1);
    let reply = ArpPacketSlice::from_slice(&sent[0][14..])
        .unwrap()
        .to_packet()
        .try_eth_ipv4()
        .unwrap();
    assert_eq!(reply.operation, ArpOperation::REPLY);
    assert_eq!(
        (reply.sender_mac, reply.sender_ipv4),
        (ROUTER_PRIV_MAC, [10, 0, 0, 1])
    );
    assert_eq!(reply.target_mac, CLIENT_MAC);
}

#[test]
fn answers_pings_to_its_addresses() {
    let mut b = Bench::new();
    let mut f = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, ROUTER_PRIV_MAC)
        .ipv4(CLIENT, [10, 0, 0, 1], 64)
        .icmpv4_echo_request(7, 1)
        .write(&mut f, b"ping!")
        .unwrap();
    b.private.inject(f);
    b.run();
    let sent = b.private.take_sent();
    assert_eq!(sent.len(), 1);
    let p = SlicedPacket::from_ethernet(&sent[0]).unwrap();
    let Some(TransportSlice::Icmpv4(icmp)) = p.transport else {
        panic!()
    };
    assert!(matches!(icmp.icmp_type(), Icmpv4Type::EchoReply(h) if h.id == 7 && h.seq == 1));
    assert_eq!(icmp.payload(), b"ping!");
    assert_eq!(b.gw.stats().get("echo_replies_sent"), 1);
}

#[test]
fn source_nat_out_and_back_with_arp_resolution() {
    let mut b = Bench::new();
    // The client's first datagram: the router must resolve the upstream
    // router first, holding the packet meanwhile.
    b.private.inject(udp_frame(
        CLIENT_MAC,
        ROUTER_PRIV_MAC,
        CLIENT,
        5000,
        SERVER,
        53,
        b"query",
    ));
    b.run();
    let sent = b.public.take_sent();
    assert_eq!(sent.len(), 1, "an ARP request for the gateway");
    let req = ArpPacketSlice::from_slice(&sent[0][14..])
        .unwrap()
        .to_packet()
        .try_eth_ipv4()
        .unwrap();
    assert_eq!(
        (req.operation, req.target_ipv4),
        (ArpOperation::REQUEST, UPSTREAM)
    );
    // The gateway answers: the held datagram goes out, translated.
    let reply = ArpEthIpv4Packet {
        operation: ArpOperation::REPLY,
        sender_mac: UPSTREAM_MAC,
        sender_ipv4: UPSTREAM,
        target_mac: ROUTER_PUB_MAC,
        target_ipv4: PUBLIC,
    };
    let mut f = vec![];
    f.extend_from_slice(&ROUTER_PUB_MAC);
    f.extend_from_slice(&UPSTREAM_MAC);
    f.extend_from_slice(&EtherType::ARP.0.to_be_bytes());
    f.extend_from_slice(&reply.to_bytes());
    b.public.inject(f);
    b.run();
    let sent = b.public.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(&sent[0][0..6], &UPSTREAM_MAC);
    assert_eq!(&sent[0][6..12], &ROUTER_PUB_MAC);
    let (src, sport, dst, dport, ttl, data) = parse(&sent[0]);
    assert_eq!(
        (src, dst, dport, ttl, data.as_slice()),
        (PUBLIC, SERVER, 53, 63, &b"query"[..])
    );
    assert!(sport >= 1024);

    // The answer comes back to the public endpoint and reaches the client
    // (whose MAC the router learns by asking).
    b.public.inject(udp_frame(
        UPSTREAM_MAC,
        ROUTER_PUB_MAC,
        SERVER,
        53,
        PUBLIC,
        sport,
        b"answer",
    ));
    b.private
        .inject(arp_request(CLIENT_MAC, CLIENT, [10, 0, 0, 1]));
    b.run();
    b.run();
    let sent: Vec<_> = b
        .private
        .take_sent()
        .into_iter()
        .filter(|f| f[12..14] == [8, 0])
        .collect();
    assert_eq!(sent.len(), 1);
    let (src, sport2, dst, dport2, _, data) = parse(&sent[0]);
    assert_eq!(
        (src, sport2, dst, dport2, data.as_slice()),
        (SERVER, 53, CLIENT, 5000, &b"answer"[..])
    );
    assert_eq!(b.gw.stats().get("sessions_created"), 1);
    assert_eq!(b.gw.stats().get("translated_inbound"), 1);
}

#[test]
fn unsolicited_public_traffic_is_dropped_and_counted() {
    let mut b = Bench::new();
    b.learn_neighbours();
    b.public.inject(udp_frame(
        UPSTREAM_MAC,
        ROUTER_PUB_MAC,
        SERVER,
        53,
        PUBLIC,
        40001,
        b"x",
    ));
    b.public.inject(udp_frame(
        UPSTREAM_MAC,
        ROUTER_PUB_MAC,
        SERVER,
        53,
        CLIENT,
        5000,
        b"x",
    ));
    b.run();
    assert!(b.private.take_sent().is_empty());
    assert_eq!(b.gw.stats().dropped("no_entry"), 1);
    assert_eq!(b.gw.stats().dropped("not_addressed_to_router"), 1);
}

#[test]
fn port_forward_delivers_to_the_private_host_with_the_client_as_source() {
    let mut b = Bench::new();
    b.learn_neighbours();
    let mut syn = Vec::new();
    PacketBuilder::ethernet2(UPSTREAM_MAC, ROUTER_PUB_MAC)
        .ipv4(SERVER, PUBLIC, 60)
        .tcp(33000, 8080, 1, 1000)
        .syn()
        .write(&mut syn, b"")
        .unwrap();
    b.public.inject(syn);
    b.run();
    let sent = b.private.take_sent();
    assert_eq!(sent.len(), 1);
    let (src, sport, dst, dport, ttl, _) = parse(&sent[0]);
    assert_eq!(
        (src, sport, dst, dport, ttl),
        (SERVER, 33000, CLIENT, 80, 59)
    );
    // The server's answer leaves as the public address and port.
    let mut synack = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, ROUTER_PRIV_MAC)
        .ipv4(CLIENT, SERVER, 64)
        .tcp(80, 33000, 9, 1000)
        .syn()
        .ack(2)
        .write(&mut synack, b"")
        .unwrap();
    b.private.inject(synack);
    b.run();
    let sent = b.public.take_sent();
    assert_eq!(sent.len(), 1);
    let (src, sport, dst, dport, _, _) = parse(&sent[0]);
    assert_eq!((src, sport, dst, dport), (PUBLIC, 8080, SERVER, 33000));
    assert_eq!(b.gw.stats().get("sessions_created"), 1);
}

#[test]
fn malformed_input_is_dropped_counted_and_the_router_goes_on() {
    let mut b = Bench::new();
    b.learn_neighbours();
    // Random bytes (a frame of 60 bytes from a fixed xorshift sequence).
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut junk: Vec<u8> = (0..60)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    junk[0..6].copy_from_slice(&ROUTER_PUB_MAC);
    b.public.inject(junk);
    // A truncated IPv4 header.
    let mut trunc = Vec::new();
    trunc.extend_from_slice(&ROUTER_PUB_MAC);
    trunc.extend_from_slice(&UPSTREAM_MAC);
    trunc.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    b.public.inject(trunc);
    // A 14-byte bare Ethernet header, and a 5-byte runt.
    b.public.inject(trunc_eth());
    b.public.inject(vec![1, 2, 3, 4, 5]);
    // An ICMP error quoting a datagram that no rule knows.
    let mut quoted = Vec::new();
    PacketBuilder::ipv4(PUBLIC, SERVER, 63)
        .udp(40000, 9)
        .write(&mut quoted, b"")
        .unwrap();
    let mut err = Vec::new();
    PacketBuilder::ethernet2(UPSTREAM_MAC, ROUTER_PUB_MAC)
        .ipv4(SERVER, PUBLIC, 64)
        .icmpv4_raw(3, 3, [0; 4])
        .write(&mut err, &quoted)
        .unwrap();
    b.public.inject(err);
    b.run();
    assert!(b.private.take_sent().is_empty());
    let s = b.gw.stats();
    assert_eq!(s.dropped_total(), 5, "{}", s.render());
    // The junk's ethertype is neither IPv4 nor ARP; the bare header and
    // the cut-short one are both IPv4 too short to be a packet.
    assert_eq!(s.dropped("unsupported_ethertype"), 1, "{}", s.render());
    assert_eq!(s.dropped("ipv4_truncated"), 2, "{}", s.render());
    assert_eq!(s.dropped("bad_frame"), 1, "{}", s.render());
    assert_eq!(s.dropped("no_entry"), 1, "{}", s.render());
    // And traffic still flows.
    b.private.inject(udp_frame(
        CLIENT_MAC,
        ROUTER_PRIV_MAC,
        CLIENT,
        5000,
        SERVER,
        53,
        b"q",
    ));
    b.run();
    assert_eq!(b.public.take_sent().len(), 1);
}

fn trunc_eth() -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&ROUTER_PUB_MAC);
    f.extend_from_slice(&UPSTREAM_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    f
}

#[test]
fn private_host_spoofing_or_ttl_one_creates_no_rule() {
    let mut b = Bench::new();
    b.learn_neighbours();
    b.private.inject(udp_frame(
        CLIENT_MAC,
        ROUTER_PRIV_MAC,
        [192, 0, 2, 1],
        5000,
        SERVER,
        53,
        b"q",
    ));
    let mut f = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, ROUTER_PRIV_MAC)
        .ipv4(CLIENT, SERVER, 1)
        .udp(5000, 33434)
        .write(&mut f, b"probe")
        .unwrap();
    b.private.inject(f);
    b.run();
    assert!(b.public.take_sent().is_empty());
    assert_eq!(b.gw.stats().dropped("source_not_private"), 1);
    assert_eq!(b.gw.stats().dropped("ttl_exceeded"), 1);
    assert_eq!(b.gw.stats().get("sessions_created"), 0);
}

#[test]
fn spoofed_public_sources_never_reach_a_forward() {
    let mut b = Bench::new();
    b.learn_neighbours();
    for src in [
        [10, 0, 0, 77],    // the private prefix
        [10, 0, 0, 2],     // the private host itself
        PUBLIC,            // the router
        [198, 18, 0, 255], // the public prefix's broadcast
        [127, 0, 0, 1],
        [0, 1, 2, 3],
        [240, 0, 0, 1],
    ] {
        let mut syn = Vec::new();
        PacketBuilder::ethernet2(UPSTREAM_MAC, ROUTER_PUB_MAC)
            .ipv4(src, PUBLIC, 60)
            .tcp(33000, 8080, 1, 1000)
            .syn()
            .write(&mut syn, b"")
            .unwrap();
        b.public.inject(syn);
    }
    b.run();
    assert!(b.private.take_sent().is_empty());
    assert_eq!(
        b.gw.stats().dropped("bad_source"),
        7,
        "{}",
        b.gw.stats().render()
    );
    assert_eq!(b.gw.stats().get("sessions_created"), 0);
}

#[test]
fn link_layer_broadcasts_and_broadcast_addresses_are_not_forwarded() {
    let mut b = Bench::new();
    b.learn_neighbours();
    // A unicast IP packet in a broadcast frame (RFC 1812 §5.3.4).
    b.private.inject(udp_frame(
        CLIENT_MAC, [0xff; 6], CLIENT, 5000, SERVER, 53, b"q",
    ));
    // Directed broadcast and network addresses of either prefix.
    for dst in [
        [198, 18, 0, 255],
        [198, 18, 0, 0],
        [10, 0, 0, 255],
        [255, 255, 255, 255],
        [224, 0, 0, 1],
    ] {
        b.private.inject(udp_frame(
            CLIENT_MAC,
            ROUTER_PRIV_MAC,
            CLIENT,
            5000,
            dst,
            53,
            b"q",
        ));
    }
    // The private prefix's network address as a source.
    b.private.inject(udp_frame(
        CLIENT_MAC,
        ROUTER_PRIV_MAC,
        [10, 0, 0, 0],
        5000,
        SERVER,
        53,
        b"q",
    ));
    b.run();
    assert!(b.public.take_sent().is_empty());
    let s = b.gw.stats();
    assert_eq!(s.dropped("link_broadcast"), 1, "{}", s.render());
    assert_eq!(s.dropped("broadcast_or_multicast"), 5, "{}", s.render());
    assert_eq!(s.dropped("source_not_private"), 1, "{}", s.render());
    assert_eq!(s.get("sessions_created"), 0);
}

#[test]
fn an_icmp_error_from_an_inside_router_leaves_with_the_public_address() {
    let mut b = Bench::new();
    b.learn_neighbours();
    // A flow from the client to the server.
    b.private.inject(udp_frame(
        CLIENT_MAC,
        ROUTER_PRIV_MAC,
        CLIENT,
        40000,
        SERVER,
        9000,
        b"out",
    ));
    b.run();
    let out = b.public.take_sent();
    let (_, public_port, ..) = parse(&out[0]);
    // The server answers; an inside router (10.0.0.77) reports it cannot
    // deliver that answer to the client, quoting it as it saw it.
    let mut answer = Vec::new();
    PacketBuilder::ipv4(SERVER, CLIENT, 62)
        .udp(9000, 40000)
        .write(&mut answer, b"back")
        .unwrap();
    let mut err = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, ROUTER_PRIV_MAC)
        .ipv4([10, 0, 0, 77], SERVER, 64)
        .icmpv4_raw(11, 0, [0; 4])
        .write(&mut err, &answer[..28])
        .unwrap();
    b.private.inject(err);
    b.run();
    let sent = b.public.take_sent();
    assert_eq!(sent.len(), 1, "{}", b.gw.stats().render());
    let p = SlicedPacket::from_ethernet(&sent[0]).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        panic!()
    };
    let h = ip.header().to_header();
    assert_eq!(h.source, PUBLIC, "no private address leaks");
    assert_eq!(h.destination, SERVER);
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    // The quote now names the flow as the server knows it.
    let quote = &ip.payload().payload[8..];
    assert_eq!(&quote[12..16], &SERVER);
    assert_eq!(&quote[16..20], &PUBLIC);
    assert_eq!(u16::from_be_bytes([quote[22], quote[23]]), public_port);
}

/// An ICMP error frame: (IP source, IP destination, type, code, the 4
/// "rest" bytes, the quoted IP source and destination).
type IcmpErrorFields = ([u8; 4], [u8; 4], u8, u8, [u8; 4], [u8; 4], [u8; 4]);

/// Parses an ICMP error frame, checking its checksums.
fn icmp_error_of(frame: &[u8]) -> IcmpErrorFields {
    let p = SlicedPacket::from_ethernet(frame).unwrap();
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        panic!("not IPv4")
    };
    let h = ip.header().to_header();
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    let m = ip.payload().payload;
    let sum: u32 = m
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    assert_eq!((folded & 0xffff) + (folded >> 16), 0xffff, "ICMP checksum");
    let q = &m[8..];
    (
        h.source,
        h.destination,
        m[0],
        m[1],
        [m[4], m[5], m[6], m[7]],
        [q[12], q[13], q[14], q[15]],
        [q[16], q[17], q[18], q[19]],
    )
}

#[test]
fn ttl_expiry_answers_time_exceeded_from_the_routers_address_on_that_side() {
    let mut b = Bench::new();
    b.learn_neighbours();
    let mut f = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, ROUTER_PRIV_MAC)
        .ipv4(CLIENT, SERVER, 1)
        .udp(5000, 33434)
        .write(&mut f, b"probe")
        .unwrap();
    b.private.inject(f);
    b.run();
    assert!(b.public.take_sent().is_empty());
    let sent = b.private.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(&sent[0][0..6], &CLIENT_MAC);
    let (src, dst, ty, code, _, qsrc, qdst) = icmp_error_of(&sent[0]);
    assert_eq!((src, dst, ty, code), ([10, 0, 0, 1], CLIENT, 11, 0));
    assert_eq!(
        (qsrc, qdst),
        (CLIENT, SERVER),
        "it quotes the probe as sent"
    );
    assert_eq!(b.gw.stats().get("icmp_errors_sent"), 1);
    assert_eq!(b.gw.stats().get("sessions_created"), 0);
}

#[test]
fn too_big_with_df_answers_fragmentation_needed_with_the_next_hop_mtu() {
    let (pd, private) = MemoryDevice::new("priv", ROUTER_PRIV_MAC, 1500);
    let (ud, public) = MemoryDevice::new("pub", ROUTER_PUB_MAC, 1280);
    let nat = Nat::with_config(
        LruStore::new(64, 64, 16).unwrap(),
        Config::new(Ipv4Addr::from(PUBLIC)),
    )
    .unwrap();
    let mut x = 7u32;
    let gw = Gateway::new(
        nat,
        Link::new(Box::new(pd), "10.0.0.1/24".parse::<Cidr>().unwrap()),
        Link::new(Box::new(ud), "198.18.0.2/24".parse::<Cidr>().unwrap()),
        Some(Ipv4Addr::from(UPSTREAM)),
        Box::new(move || {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            x
        }),
        Instant::now(),
    );
    let mut b = Bench {
        gw,
        private,
        public,
        now: Instant::now(),
    };
    b.learn_neighbours();
    let mut f = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, ROUTER_PRIV_MAC)
        .ipv4(CLIENT, SERVER, 64)
        .udp(5000, 53)
        .write(&mut f, &[0u8; 1400])
        .unwrap();
    f[14 + 6] |= 0x40; // DF
    f[14 + 10] = 0;
    f[14 + 11] = 0;
    let c = {
        let h = &f[14..34];
        let s: u32 = h
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        let s = (s & 0xffff) + (s >> 16);
        !(((s & 0xffff) + (s >> 16)) as u16)
    };
    f[24..26].copy_from_slice(&c.to_be_bytes());
    b.private.inject(f);
    b.run();
    assert!(b.public.take_sent().is_empty());
    let sent = b.private.take_sent();
    assert_eq!(sent.len(), 1);
    let (src, dst, ty, code, rest, ..) = icmp_error_of(&sent[0]);
    assert_eq!((src, dst, ty, code), ([10, 0, 0, 1], CLIENT, 3, 4));
    assert_eq!(u16::from_be_bytes([rest[2], rest[3]]), 1280, "next-hop MTU");
    assert_eq!(sent[0].len(), 14 + 576, "quotes up to 576 bytes");
}

/// Reassembles IPv4 fragment frames with the library's reassembler and
/// returns the whole datagram.
fn reassembled(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut r = unat::fragment::Reassembler::default();
    let mut whole = None;
    for f in frames {
        if let Some(d) = r.push(&f[14..], unat::Instant::ZERO).unwrap() {
            whole = Some(d);
        }
    }
    whole.expect("a whole datagram")
}

#[test]
fn big_datagrams_are_fragmented_out_and_reassembled_in_any_order() {
    let mut b = Bench::new();
    b.learn_neighbours();
    // Out: a 3000-byte UDP datagram (DF clear) leaves in MTU-sized fragments.
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let mut big = udp_frame(
        CLIENT_MAC,
        ROUTER_PRIV_MAC,
        CLIENT,
        5000,
        SERVER,
        9000,
        &data,
    );
    clear_df(&mut big[14..]);
    b.private.inject(big);
    b.run();
    let out = b.public.take_sent();
    assert_eq!(out.len(), 3, "{}", b.gw.stats().render());
    assert!(out.iter().all(|f| f.len() <= 14 + 1500));
    let whole = reassembled(&out);
    let (src, sport, dst, dport, _, payload) = parse(&[&out[0][..14], &whole[..]].concat());
    assert_eq!((src, dst, dport), (PUBLIC, SERVER, 9000));
    assert_eq!(payload, data, "payload intact, UDP checksum valid");

    // In: the server's 3000-byte answer arrives as three fragments, last first.
    let mut answer = Vec::new();
    PacketBuilder::ipv4(SERVER, PUBLIC, 60)
        .udp(9000, sport)
        .write(&mut answer, &data)
        .unwrap();
    clear_df(&mut answer);
    let mut frags = Vec::new();
    unat::fragment::fragment(&answer, 1200, &mut |p| {
        let mut f = Vec::new();
        f.extend_from_slice(&ROUTER_PUB_MAC);
        f.extend_from_slice(&UPSTREAM_MAC);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(p);
        frags.push(f);
    })
    .unwrap();
    assert_eq!(frags.len(), 3);
    for f in frags.into_iter().rev() {
        b.public.inject(f);
    }
    b.run();
    let inside: Vec<Vec<u8>> = b
        .private
        .take_sent()
        .into_iter()
        .filter(|f| f[12..14] == [8, 0])
        .collect();
    assert_eq!(inside.len(), 3, "{}", b.gw.stats().render());
    let whole = reassembled(&inside);
    let (src, sport2, dst, dport2, _, payload) = parse(&[&inside[0][..14], &whole[..]].concat());
    assert_eq!((src, sport2, dst, dport2), (SERVER, 9000, CLIENT, 5000));
    assert_eq!(payload, data);
    assert_eq!(b.gw.stats().get("datagrams_reassembled"), 1);
}

/// Clears DF in an IPv4 header (etherparse sets it) and fixes the checksum.
fn clear_df(ip: &mut [u8]) {
    ip[6] &= !0x40;
    ip[10] = 0;
    ip[11] = 0;
    let s: u32 = ip[..20]
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let s = (s & 0xffff) + (s >> 16);
    let c = !(((s & 0xffff) + (s >> 16)) as u16);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}
