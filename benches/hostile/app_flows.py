#!/usr/bin/env python3
"""Many application flows: FLOWS flows in a repeating DNS, TLS, HTTP pattern, each with its
own name, none closed.

- DNS: a query for `qN.dns-flood.example` (type A) and its answer, on UDP port 53 from a new
  source port each time.
- TLS: a three-way handshake, a ClientHello with SNI `tN.tls-flood.example`, ALPN, key share
  and the usual extensions, the server's ACK, and a ServerHello; then nothing (no FIN).
- HTTP: a three-way handshake, `GET /item/N` with Host `hN.http-flood.example`, a 200
  response with a small body, the ACKs; then nothing (no FIN).

The capture spans FLOWS / RATE seconds, well below the UDP and TCP inactivity timeouts, so
the flows pile up until the flow table's cap (`FlowConfig::max_flows`) evicts them. What it
tests: the per-flow cost of parser state, and the cap on live flows with real protocol state
behind each.

usage: app_flows.py --out FILE [--flows 300000] [--rate 50000]
"""

import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapw  # noqa: E402

ACK, PSH, SYN = pcapw.TCP_ACK, pcapw.TCP_PSH, pcapw.TCP_SYN


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_pair(n):
    qid = n & 0xFFFF
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(f"q{n}.dns-flood.example") + struct.pack("!HH", 1, 1)
    a = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q[12:]
    a += struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + bytes((198, 51, (n >> 8) & 0xFF, n & 0xFF))
    return q, a


def ext(t, body):
    return struct.pack("!HH", t, len(body)) + body


def client_hello(n):
    host = f"t{n}.tls-flood.example".encode()
    sni = ext(0, struct.pack("!HBH", len(host) + 3, 0, len(host)) + host)
    groups = ext(10, struct.pack("!H", 8) + struct.pack("!4H", 0x001D, 0x0017, 0x0018, 0x0019))
    points = ext(11, b"\x01\x00")
    sigalgs = ext(13, struct.pack("!H", 8) + struct.pack("!4H", 0x0403, 0x0804, 0x0401, 0x0503))
    protos = b"\x02h2\x08http/1.1"
    alpn = ext(16, struct.pack("!H", len(protos)) + protos)
    versions = ext(43, b"\x04\x03\x04\x03\x03")
    share = struct.pack("!HH", 0x001D, 32) + bytes((n + i) & 0xFF for i in range(32))
    key_share = ext(51, struct.pack("!H", len(share)) + share)
    exts = sni + groups + points + sigalgs + alpn + versions + key_share
    ciphers = struct.pack("!8H", 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0x009C)
    body = (b"\x03\x03" + bytes((n * 3 + i) & 0xFF for i in range(32)) + b"\x20" + bytes(32)
            + struct.pack("!H", len(ciphers)) + ciphers + b"\x01\x00"
            + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def server_hello(n):
    exts = ext(0xFF01, b"\x00") + ext(16, b"\x00\x03\x02h2")
    body = (b"\x03\x03" + bytes((n * 5 + i) & 0xFF for i in range(32)) + b"\x00"
            + struct.pack("!H", 0xC02F) + b"\x00" + struct.pack("!H", len(exts)) + exts)
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs


def http_pair(n):
    req = (f"GET /item/{n} HTTP/1.1\r\nHost: h{n}.http-flood.example\r\n"
           "User-Agent: Mozilla/5.0 (Linux; Android 14) bench\r\nAccept: */*\r\n\r\n").encode()
    body = b"ok " + str(n).encode()
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)
    return req, resp


def tcp_exchange(w, t, c, s, sport, dport, isn_c, isn_s, req, resp):
    """Handshake, one request and one response, their ACKs; no FIN. Returns the next time."""
    def to_s(seq, ack, flags, data=b""):
        return pcapw.ether(pcapw.tcp(c, s, sport, dport, seq, ack, flags, data))

    def to_c(seq, ack, flags, data=b""):
        return pcapw.ether(pcapw.tcp(s, c, dport, sport, seq, ack, flags, data), to_server=False)

    cs, ss = isn_c + 1, isn_s + 1
    w.write(t, to_s(isn_c, 0, SYN))
    w.write(t + 1, to_c(isn_s, cs, SYN | ACK))
    w.write(t + 2, to_s(cs, ss, ACK))
    w.write(t + 3, to_s(cs, ss, ACK | PSH, req))
    cs += len(req)
    w.write(t + 4, to_c(ss, cs, ACK | PSH, resp))
    ss += len(resp)
    w.write(t + 5, to_s(cs, ss, ACK))
    return t + 6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--flows", type=int, default=300_000)
    ap.add_argument("--rate", type=int, default=50_000, help="new flows per second of capture time")
    a = ap.parse_args()

    resolver = pcapw.ip4(10, 5, 0, 53)
    with pcapw.PcapWriter(a.out) as w:
        for n in range(a.flows):
            t = n * 1_000_000 // a.rate
            # One client address per 60,000 flows, source ports cycling in 1024..61023.
            c = pcapw.ip4(10, 6, (n // 60000) & 0xFF, 10)
            sport = 1024 + n % 60000
            kind = n % 3
            if kind == 0:
                q, r = dns_pair(n)
                w.write(t, pcapw.ether(pcapw.udp(c, resolver, sport, 53, q)))
                w.write(t + 1, pcapw.ether(pcapw.udp(resolver, c, 53, sport, r), to_server=False))
            elif kind == 1:
                srv = pcapw.ip4(198, 51, 100, 1 + n % 200)
                tcp_exchange(w, t, c, srv, sport, 443, n * 7919, n * 104729,
                             client_hello(n), server_hello(n))
            else:
                srv = pcapw.ip4(192, 0, 2, 1 + n % 200)
                req, resp = http_pair(n)
                tcp_exchange(w, t, c, srv, sport, 80, n * 7919, n * 104729, req, resp)


if __name__ == "__main__":
    main()
