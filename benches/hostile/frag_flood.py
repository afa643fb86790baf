#!/usr/bin/env python3
"""IPv4 fragment floods.

--mode incomplete (default)
    DATAGRAMS datagrams of 65,000 bytes of UDP, each sent as every fragment but the first
    (offset 0 never comes), in order of offset, one datagram after the other. None can
    complete, so each is held until it is evicted (more than `max_datagrams` in progress)
    or times out. The capture spans about a second. What it tests: the reassembler's bound,
    `DefragConfig::max_datagrams` datagrams of at most 64 KiB each.

--mode churn
    DATAGRAMS two-fragment datagrams (16 bytes + 8 bytes of UDP), each completed at once by
    its second fragment, all within a few seconds. Nothing is pending for long, so
    `max_datagrams` is never reached; what it tests is whether the bookkeeping of completed
    datagrams is bounded too, or only by the timeout.

usage: frag_flood.py --out FILE [--mode incomplete|churn] [--datagrams N]
"""

import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapw  # noqa: E402

FRAG_PAYLOAD = 1480  # a multiple of 8: what fits a 1500-byte MTU after the IPv4 header


def incomplete(w, datagrams):
    src, dst = pcapw.ip4(10, 3, 0, 1), pcapw.ip4(203, 0, 113, 30)
    total = 65000
    body = bytes((i * 31 + 5) & 0xFF for i in range(total))
    t = 0
    for d in range(datagrams):
        ident = d & 0xFFFF
        # Distinct sources beyond 65,536 datagrams so that (src, dst, proto, id) stays unique.
        s = pcapw.ip4(10, 3, (d >> 16) & 0xFF, 1) if d >= 0x10000 else src
        for off in range(FRAG_PAYLOAD, total, FRAG_PAYLOAD):
            chunk = body[off:off + FRAG_PAYLOAD]
            more = off + len(chunk) < total
            w.write(t, pcapw.ether(pcapw.ipv4(s, dst, 17, chunk, ident=ident, frag=off, more=more)))
            t += 4


def churn(w, datagrams):
    dst = pcapw.ip4(203, 0, 113, 31)
    t = 0
    for d in range(datagrams):
        # A new source every 65,536 datagrams keeps the (src, dst, proto, id) key fresh.
        src = pcapw.ip4(10, 4, (d >> 24) & 0xFF, (d >> 16) & 0xFF)
        ident = d & 0xFFFF
        data = struct.pack("!Q", d) * 2
        udp = pcapw.udp_segment(src, dst, 5000, 6000, data)  # 8 + 16 = 24 bytes
        w.write(t, pcapw.ether(pcapw.ipv4(src, dst, 17, udp[:16], ident=ident, frag=0, more=True)))
        w.write(t + 1, pcapw.ether(pcapw.ipv4(src, dst, 17, udp[16:], ident=ident, frag=16)))
        t += 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=("incomplete", "churn"), default="incomplete")
    ap.add_argument("--datagrams", type=int, default=None,
                    help="default: 5,000 (incomplete) or 2,000,000 (churn)")
    a = ap.parse_args()
    with pcapw.PcapWriter(a.out) as w:
        if a.mode == "incomplete":
            incomplete(w, a.datagrams or 5000)
        else:
            churn(w, a.datagrams or 2_000_000)


if __name__ == "__main__":
    main()
