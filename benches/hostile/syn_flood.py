#!/usr/bin/env python3
"""A SYN flood: COUNT bare SYNs, each opening a distinct flow, none ever answered.

--vary ports   one source address to one destination, every SYN on a new (source port,
               destination port) pair: destination ports 1..65535 in turn, the source port
               moving on after each sweep (1,000,000 SYNs = 15.3 sweeps of the port range).
--vary sources every SYN from a new source address in 10.0.0.0/8, to port 443.

What it tests: the flow table's cap (`FlowConfig::max_flows`). Every SYN creates a flow; the
capture spans COUNT / RATE seconds, far less than the TCP inactivity timeout, so only the cap
bounds the number of live flows.

usage: syn_flood.py --out FILE [--count 1000000] [--vary ports|sources] [--rate 200000]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapw  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--vary", choices=("ports", "sources"), default="ports")
    ap.add_argument("--rate", type=int, default=200_000, help="SYNs per second of capture time")
    a = ap.parse_args()

    server = pcapw.ip4(203, 0, 113, 10)
    attacker = pcapw.ip4(10, 1, 0, 1)
    with pcapw.PcapWriter(a.out) as w:
        for i in range(a.count):
            if a.vary == "ports":
                src, sport, dport = attacker, 1024 + i // 65535, 1 + i % 65535
            else:
                n = i + 1
                src, sport, dport = pcapw.ip4(10, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF), 40000, 443
            seq = (i * 2654435761) & 0xFFFFFFFF
            pkt = pcapw.tcp(src, server, sport, dport, seq, 0, pcapw.TCP_SYN, window=1024, ident=i)
            w.write(i * 1_000_000 // a.rate, pcapw.ether(pkt))


if __name__ == "__main__":
    main()
