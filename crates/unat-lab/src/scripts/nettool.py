#!/usr/bin/python3
"""Small UDP/TCP helpers for the unat lab. Every mode prints JSON lines to
stdout (flushed) and is bounded in time, except `reflect`, which runs until
killed.

  nettool.py reflect ADDR PORT
      UDP server: answers every datagram with "ip:port", the source
      endpoint it saw (for a host behind the NAT: its public endpoint).
      Prints {"from": "ip:port", "data": ...} per datagram.

  nettool.py probe BIND_ADDR BIND_PORT REFLECTOR_ADDR REFLECTOR_PORT [LISTEN_SECS]
      From BIND_ADDR:BIND_PORT asks the reflector for our public endpoint
      (up to 3 tries, 1 s apart) and prints {"public": "ip:port"} (or
      {"error": ...} and exit 1). With LISTEN_SECS, then keeps the same
      socket open for that long, sending nothing, and prints
      {"from": "ip:port", "data": ...} for every datagram that arrives.

  nettool.py send BIND_ADDR BIND_PORT TO_ADDR TO_PORT TEXT [COUNT [INTERVAL]]
      Sends TEXT COUNT times (default 1), INTERVAL seconds apart (default
      0.1), from BIND_ADDR:BIND_PORT (port 0: any). Prints {"sent": n}.

  nettool.py udp-big TO_ADDR TO_PORT SIZE [TRIES]
      Sends one datagram of SIZE random bytes to a UDP echo server and waits
      (2 s per try, up to TRIES tries, default 3, a fresh payload each) for
      the same bytes to come back. Prints {"size", "sha256", "echo_size",
      "echo_sha256", "tries", "match", "local", "error"}; exit 0 on a match.

  nettool.py tcp-idle TO_ADDR TO_PORT IDLE_SECS
      Connects to a TCP echo server, sends a line and reads its echo, stays
      idle IDLE_SECS, then sends a second line and reads its echo on the
      same connection. Prints {"local", "first", "second", "error"}; exit 0
      when both echoes came back.
"""

import hashlib
import json
import os
import socket
import sys
import time


def endpoint(addr):
    return f"{addr[0]}:{addr[1]}"


def out(obj):
    print(json.dumps(obj), flush=True)


def udp_socket(addr, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, int(port)))
    return sock


def reflect(addr, port):
    sock = udp_socket(addr, port)
    while True:
        data, src = sock.recvfrom(4096)
        out({"from": endpoint(src), "data": data.decode(errors="replace")})
        sock.sendto(endpoint(src).encode(), src)


def listen(sock, secs):
    deadline = time.monotonic() + secs
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(left)
        try:
            data, src = sock.recvfrom(4096)
        except socket.timeout:
            return
        except OSError as e:
            out({"socket_error": str(e)})
            continue
        out({"from": endpoint(src), "data": data.decode(errors="replace")})


def probe(bind_addr, bind_port, to_addr, to_port, listen_secs=None):
    sock = udp_socket(bind_addr, bind_port)
    target = (to_addr, int(to_port))
    public = None
    for _ in range(3):
        sock.sendto(b"probe", target)
        deadline = time.monotonic() + 1.0
        while public is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data, src = sock.recvfrom(4096)
            except socket.timeout:
                break
            except OSError:
                continue
            if src == target:
                public = data.decode(errors="replace")
        if public is not None:
            break
    if public is None:
        out({"error": f"no answer from the reflector {to_addr}:{to_port}"})
        return 1
    out({"public": public})
    if listen_secs is not None:
        listen(sock, float(listen_secs))
    return 0


def send(bind_addr, bind_port, to_addr, to_port, text, count=1, interval=0.1):
    sock = udp_socket(bind_addr, bind_port)
    sent = 0
    for i in range(int(count)):
        if i:
            time.sleep(float(interval))
        sock.sendto(text.encode(), (to_addr, int(to_port)))
        sent += 1
    out({"sent": sent, "local": endpoint(sock.getsockname())})
    return 0


def udp_big(to_addr, to_port, size, tries=3):
    target = (to_addr, int(to_port))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(target)
    report = {"size": int(size), "sha256": None, "echo_size": None,
              "echo_sha256": None, "tries": 0, "match": False,
              "local": endpoint(sock.getsockname()), "error": None}
    for _ in range(int(tries)):
        payload = os.urandom(int(size))
        report["sha256"] = hashlib.sha256(payload).hexdigest()
        report["tries"] += 1
        try:
            sock.send(payload)
        except OSError as e:
            report["error"] = f"send: {e}"
            continue
        deadline = time.monotonic() + 2.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data = sock.recv(65535)
            except socket.timeout:
                break
            except OSError as e:
                report["error"] = f"recv: {e}"
                break
            report["echo_size"] = len(data)
            report["echo_sha256"] = hashlib.sha256(data).hexdigest()
            if data == payload:
                report["match"] = True
                report["error"] = None
                out(report)
                return 0
        if report["error"] is None:
            report["error"] = "no matching echo within 2 s"
    out(report)
    return 1


def recv_line(sock, deadline):
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out waiting for the echo")
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed by the peer")
        buf += chunk
    return buf.decode(errors="replace").strip()


def tcp_idle(to_addr, to_port, idle_secs):
    report = {"local": None, "first": None, "second": None, "error": None}
    try:
        sock = socket.create_connection((to_addr, int(to_port)), timeout=3)
        report["local"] = endpoint(sock.getsockname())
        sock.sendall(b"first\n")
        report["first"] = recv_line(sock, time.monotonic() + 3)
        time.sleep(float(idle_secs))
        sock.sendall(b"second\n")
        report["second"] = recv_line(sock, time.monotonic() + 3)
        sock.close()
    except (OSError, ConnectionError) as e:
        report["error"] = f"{type(e).__name__}: {e}"
    out(report)
    ok = report["first"] == "first" and report["second"] == "second"
    return 0 if ok else 1


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "reflect":
        return reflect(*args)
    if mode == "probe":
        return probe(*args)
    if mode == "send":
        return send(*args)
    if mode == "udp-big":
        return udp_big(*args)
    if mode == "tcp-idle":
        return tcp_idle(*args)
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        pass
