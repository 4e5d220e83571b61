#!/usr/bin/python3
"""A UDP hole-punching peer for the unat lab.

Usage: peer.py NAME SESSION BIND_ADDR BIND_PORT RENDEZVOUS_ADDR RENDEZVOUS_PORT
               [REGISTER_SECS [PUNCH_SECS [INTERVAL_SECS]]]

1. From BIND_ADDR:BIND_PORT, sends {"type": "register"} to the rendezvous
   server every INTERVAL (default 0.2 s) until it answers with the other
   peer's public endpoint (at most REGISTER_SECS, default 5 s).
2. Sends {"type": "punch"} datagrams from the same socket to that endpoint
   every INTERVAL for at most PUNCH_SECS (default 5 s), noting whether a
   punch from the other peer arrives. Each punch says whether its sender
   has already received one; the peer stops early (after two more punches)
   once both sides have.
3. Prints one JSON line: name, public (its own endpoint as the rendezvous
   saw it), peer (the other's endpoint), received (bool), received_from,
   peer_received (the other said it received ours), sent, error.

Exit status 0 when it received the other peer's punch, 1 otherwise.
"""

import json
import socket
import sys
import time


def endpoint(addr):
    return f"{addr[0]}:{addr[1]}"


def parse_endpoint(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def recv_json(sock):
    data, src = sock.recvfrom(4096)
    try:
        msg = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError):
        return None, src
    return (msg if isinstance(msg, dict) else None), src


def main():
    name, session, bind_addr, bind_port, rv_addr, rv_port = sys.argv[1:7]
    register_secs = float(sys.argv[7]) if len(sys.argv) > 7 else 5.0
    punch_secs = float(sys.argv[8]) if len(sys.argv) > 8 else 5.0
    interval = float(sys.argv[9]) if len(sys.argv) > 9 else 0.2
    rendezvous = (rv_addr, int(rv_port))

    report = {
        "name": name,
        "public": None,
        "peer": None,
        "received": False,
        "received_from": None,
        "peer_received": False,
        "sent": 0,
        "error": None,
    }
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind_addr, int(bind_port)))

    def handle_punch(msg, src):
        if msg.get("type") == "punch" and msg.get("from") != name:
            report["received"] = True
            report["received_from"] = endpoint(src)
            if msg.get("got"):
                report["peer_received"] = True

    # 1. Register until the rendezvous names the other peer.
    peer = None
    deadline = time.monotonic() + register_secs
    while peer is None and time.monotonic() < deadline:
        reg = {"type": "register", "session": session, "name": name}
        sock.sendto(json.dumps(reg).encode(), rendezvous)
        wait_until = min(deadline, time.monotonic() + interval)
        while time.monotonic() < wait_until:
            sock.settimeout(max(0.01, wait_until - time.monotonic()))
            try:
                msg, src = recv_json(sock)
            except socket.timeout:
                break
            except OSError:
                # e.g. ICMP port unreachable reported on the socket.
                continue
            if msg is None:
                continue
            if msg.get("type") == "peer" and src == rendezvous:
                report["public"] = msg.get("you")
                report["peer"] = msg.get("peer")
                peer = parse_endpoint(msg["peer"])
                break
            # A punch can overtake our rendezvous reply.
            handle_punch(msg, src)
    if peer is None:
        report["error"] = f"no peer endpoint from the rendezvous within {register_secs} s"
        print(json.dumps(report), flush=True)
        return 1

    # 2. Punch.
    deadline = time.monotonic() + punch_secs
    extra = None
    while time.monotonic() < deadline:
        punch = {"type": "punch", "from": name, "got": report["received"]}
        try:
            sock.sendto(json.dumps(punch).encode(), peer)
            report["sent"] += 1
        except OSError as e:
            report["error"] = f"send: {e}"
        if report["received"] and report["peer_received"]:
            extra = 2 if extra is None else extra - 1
            if extra <= 0:
                break
        wait_until = min(deadline, time.monotonic() + interval)
        while time.monotonic() < wait_until:
            sock.settimeout(max(0.01, wait_until - time.monotonic()))
            try:
                msg, src = recv_json(sock)
            except socket.timeout:
                break
            except OSError:
                continue
            if msg is not None:
                handle_punch(msg, src)

    print(json.dumps(report), flush=True)
    return 0 if report["received"] else 1


if __name__ == "__main__":
    sys.exit(main())
