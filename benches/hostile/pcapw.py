"""Classic pcap writing and packet building for the hostile-capture generators.

Python standard library only. Frames are Ethernet II carrying IPv4; IPv4, TCP and UDP
checksums are computed, so a capture is exactly as valid as the attack it models and no
engine drops its packets for a bad checksum. Output is deterministic for given arguments.
"""

import array
import struct
import sys

LINKTYPE_ETHERNET = 1
SNAPLEN = 262144
# 2026-01-01T00:00:00Z, the same epoch as make-bench-pcap.py.
EPOCH_US = 1767225600 * 1_000_000

MAC_CLIENT = bytes.fromhex("020000000001")
MAC_SERVER = bytes.fromhex("020000000002")

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def ip4(a, b, c, d):
    """An IPv4 address as 4 bytes."""
    return bytes((a, b, c, d))


def checksum(data):
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    words = array.array("H", data)
    if sys.byteorder == "little":
        words.byteswap()
    s = sum(words)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0, frag=0, more=False, ttl=64):
    """An IPv4 header (no options) followed by `payload`; `frag` is the offset in bytes."""
    flags_frag = (0x2000 if more else 0) | (frag // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF,
                      flags_frag, ttl, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def _l4_checksum(src, dst, proto, segment):
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, proto, len(segment))
    return checksum(pseudo + segment)


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", window=65535, ident=0):
    """An IPv4 packet carrying one TCP segment."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, window, 0, 0)
    c = _l4_checksum(src, dst, 6, hdr + payload)
    seg = hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload
    return ipv4(src, dst, 6, seg, ident=ident)


def udp_segment(src, dst, sport, dport, payload):
    """A UDP header and payload (checksummed), without the IP header."""
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = _l4_checksum(src, dst, 17, hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + payload


def udp(src, dst, sport, dport, payload, ident=0):
    """An IPv4 packet carrying one UDP datagram."""
    return ipv4(src, dst, 17, udp_segment(src, dst, sport, dport, payload), ident=ident)


def ether(ip_packet, to_server=True):
    """An Ethernet II frame around an IPv4 packet."""
    dst, src = (MAC_SERVER, MAC_CLIENT) if to_server else (MAC_CLIENT, MAC_SERVER)
    return dst + src + b"\x08\x00" + ip_packet


class PcapWriter:
    """Writes a classic little-endian microsecond pcap, Ethernet link type."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        self.packets = 0
        self.bytes = 24

    def write(self, t_us, frame):
        """Writes one frame captured `t_us` microseconds after the epoch."""
        ts = EPOCH_US + t_us
        self.f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(frame), len(frame)))
        self.f.write(frame)
        self.packets += 1
        self.bytes += 16 + len(frame)

    def close(self):
        """Closes the file and reports its size on stderr."""
        self.f.close()
        print(f"wrote {self.path}: {self.packets} packets, {self.bytes} bytes", file=sys.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
