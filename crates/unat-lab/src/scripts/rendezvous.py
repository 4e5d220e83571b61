#!/usr/bin/python3
"""Rendezvous server for UDP hole punching in the unat lab.

Usage: rendezvous.py BIND_ADDR PORT

Peers send {"type": "register", "session": S, "name": N} from the UDP port
they will punch from. The server notes the source address and port it saw
(the peer's public endpoint, as its NAT mapped it). Once two peers of the
same session have registered, every register from either of them is
answered with {"type": "peer", "you": "ip:port", "name": OTHER,
"peer": "ip:port"}; until then with {"type": "wait"}.

Each event is printed as one line to stdout (flushed), for the lab's log.
Runs until killed.
"""

import json
import socket
import sys


def endpoint(addr):
    return f"{addr[0]}:{addr[1]}"


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    print(f"rendezvous listening on {host}:{port}", flush=True)
    sessions = {}  # session -> {name: (ip, port)}
    while True:
        data, src = sock.recvfrom(4096)
        try:
            msg = json.loads(data.decode())
        except (UnicodeDecodeError, ValueError):
            print(f"ignored non-JSON datagram from {endpoint(src)}", flush=True)
            continue
        if not isinstance(msg, dict) or msg.get("type") != "register":
            print(f"ignored {msg!r} from {endpoint(src)}", flush=True)
            continue
        session = str(msg.get("session", ""))
        name = str(msg.get("name", ""))
        peers = sessions.setdefault(session, {})
        if peers.get(name) != src:
            print(f"register session={session} name={name} from {endpoint(src)}", flush=True)
        peers[name] = src
        others = [(n, e) for n, e in peers.items() if n != name]
        if not others:
            sock.sendto(json.dumps({"type": "wait"}).encode(), src)
            continue
        # Tell every registered peer of the session about its partner, so
        # the one that registered first learns it without waiting.
        for n, e in peers.items():
            other_name, other_ep = next((on, oe) for on, oe in peers.items() if on != n)
            reply = {
                "type": "peer",
                "you": endpoint(e),
                "name": other_name,
                "peer": endpoint(other_ep),
            }
            sock.sendto(json.dumps(reply).encode(), e)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
