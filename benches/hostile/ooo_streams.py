#!/usr/bin/env python3
"""TCP streams that never deliver: the first data segment after the handshake is never sent,
while BYTES of later segments arrive out of order on each of STREAMS connections.

Every stream completes its three-way handshake, then the client sends the bytes from offset
SEGMENT on (the first SEGMENT bytes, the hole, never come); the server acknowledges nothing
past the handshake, so no gap is ever declared and the receiver must buffer or refuse what
arrives ahead of the hole. Streams are interleaved round robin, so all of them are in
progress at once, and the capture spans a few seconds (far below any timeout).

What it tests: the out-of-order buffers, bounded per direction by
`StreamLimits::max_buffered` and for all streams by `StreamConfig::memcap`. With the
defaults (1,024 streams x 400 KiB = 400 MiB offered), the global memcap is the limit that
binds. With --segment 1 each segment carries a single byte, which tests whether the memcap
counts what the buffers really cost (allocation and index overhead per segment) or only
their payload. --in-order sends the first segment too: the same streams with no hole, the
control that shows what the engine costs when nothing has to be buffered. --server-speaks
has the server send 8 bytes of its own right after the handshake, so that both directions
of every stream have spoken (and a protocol guess can be settled on both sides).

usage: ooo_streams.py --out FILE [--streams 1024] [--bytes 409600] [--segment 1448]
                      [--in-order] [--server-speaks]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapw  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--streams", type=int, default=1024)
    ap.add_argument("--bytes", type=int, default=400 * 1024, help="out-of-order bytes sent per stream")
    ap.add_argument("--segment", type=int, default=1448, help="payload bytes per segment")
    ap.add_argument("--in-order", action="store_true", help="send the first segment too (no hole)")
    ap.add_argument("--server-speaks", action="store_true", help="the server sends 8 bytes first")
    a = ap.parse_args()

    server = pcapw.ip4(203, 0, 113, 20)
    payload = bytes((i * 7 + 13) & 0xFF for i in range(a.segment))
    t = 0
    isn_c = [(s * 2654435761 + 1) & 0xFFFFFFFF for s in range(a.streams)]
    isn_s = [(s * 40503 + 7) & 0xFFFFFFFF for s in range(a.streams)]

    def client(s):
        return pcapw.ip4(10, 2, (s >> 8) & 0xFF, s & 0xFF), 30000 + s % 30000

    with pcapw.PcapWriter(a.out) as w:
        for s in range(a.streams):
            c, sport = client(s)
            w.write(t, pcapw.ether(pcapw.tcp(c, server, sport, 443, isn_c[s], 0, pcapw.TCP_SYN)))
            w.write(t + 1, pcapw.ether(pcapw.tcp(server, c, 443, sport, isn_s[s], isn_c[s] + 1,
                                                 pcapw.TCP_SYN | pcapw.TCP_ACK), to_server=False))
            w.write(t + 2, pcapw.ether(pcapw.tcp(c, server, sport, 443, isn_c[s] + 1, isn_s[s] + 1,
                                                 pcapw.TCP_ACK)))
            t += 3
            if a.server_speaks:
                w.write(t, pcapw.ether(pcapw.tcp(server, c, 443, sport, isn_s[s] + 1, isn_c[s] + 1,
                                                 pcapw.TCP_ACK | pcapw.TCP_PSH, b"\x00banner\n"),
                                       to_server=False))
                t += 1
        segments = a.bytes // a.segment
        # Offset 0..SEGMENT is the hole; segment k (k >= 1) covers [k*SEGMENT, (k+1)*SEGMENT).
        first = 0 if a.in_order else 1
        for k in range(first, segments + 1):
            for s in range(a.streams):
                c, sport = client(s)
                seq = isn_c[s] + 1 + k * a.segment
                pkt = pcapw.tcp(c, server, sport, 443, seq, isn_s[s] + 1 + (8 if a.server_speaks else 0),
                                pcapw.TCP_ACK | pcapw.TCP_PSH, payload)
                w.write(t, pcapw.ether(pkt))
                t += 1


if __name__ == "__main__":
    main()
