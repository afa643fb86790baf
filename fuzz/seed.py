#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets from the real captures in ../shared.

    python3 fuzz/seed.py [--shared /work/shared] [--out fuzz/seeds] [TARGET ...]

Writes one file per seed into OUT/<target>/, named by its SHA-1 (as libFuzzer names them).
The seeds are then merged into fuzz/corpus/<target>/ with `cargo fuzz cmin` (see README.md);
OUT itself is not committed.

Needs tshark (Debian package `tshark`) and Python's `cryptography` (QUIC Initial packets are
decrypted and re-encrypted). Deterministic: the same shared/ gives the same seeds.

How each target reads its input (engine/src/fuzzing.rs):
  capture      a whole pcap or pcapng file
  packet       byte 0 selects the link type (index into the list below), the rest is a frame
  dns tls http quic dhcp
               the bytes go to the stateless parser as they are, and also, split on every 0xfe
               byte, to the stateful path as a conversation whose pieces start with a
               direction byte (even: originator, odd: responder). So two kinds of seed:
               raw messages (for the parser) and framed conversations. 0xfe cannot be escaped:
               inside a framed piece every 0xfe is replaced by 0xff, and the QUIC Initial
               packets are re-encrypted under a fresh destination connection id until their
               bytes hold no 0xfe (a replaced byte would break the AEAD tag).
"""

import argparse
import hashlib
import hmac
import os
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

# The pcaps copied whole into the capture corpus: every link type the engine reads, pcapng,
# fragments, tunnels, VLANs, a malformed file, and each application protocol. Each < 100 KB.
CAPTURES = [
    "oracle/zeek/traces/pcapng-multi-interface.pcapng",
    "oracle/zeek/traces/tcp/http-on-irc-port-missing-syn.pcapng",
    "oracle/zeek/traces/ipv6-fragmented-dns.pcap",
    "oracle/zeek/traces/dns-edns-cookie.pcap",
    "oracle/zeek/traces/dns/tkey.pcap",
    "oracle/zeek/traces/quic/chromium-115.0.5790.110-api-cirrus-com.pcap",
    "oracle/zeek/traces/tls/tls13_wolfssl.pcap",
    "oracle/zeek/traces/tls/ecdsa-cert.pcap",
    "oracle/zeek/traces/tls/xmpp-starttls.pcap",
    "oracle/zeek/traces/tls/tls1_1.pcap",
    "oracle/zeek/traces/http/websocket.pcap",
    "oracle/zeek/traces/http/get.pcap",
    "oracle/zeek/traces/http/http-single-conn-22.pcap",
    "oracle/zeek/traces/tcp/retransmit-fast009.pcap",
    "oracle/zeek/traces/tcp/miss_end_data.pcap",
    "suricata-verify/tests/bug-2158/public-ex1_section8_Sofacy.pcap",
    "suricata-verify/tests/bug-6875-01/fuzz.pcap",
    "suricata-verify/tests/flow-pkt-recursion/tunnel-pkt-flows.pcap",
    "suricata-verify/tests/eve-flow-vlan-02/input.pcap",
    "suricata-verify/tests/tcp-fastopen-05/tfo.pcap",
    "suricata-verify/tests/defrag/bug-6887-defrag-ipv6-tcp/frag-ip-tcp.pcap",
    "suricata-verify/tests/dns/dns-udp-eve-log-srv/input.pcap",
    "suricata-verify/tests/http-connect/http-connect-tls/input.pcap",
    "suricata-verify/tests/http1-noint-status/input.pcap",
    "suricata-verify/tests/dns/dns-tcp-multirequest-buffer/dns-tcp-multirequest-buffer.pcap",
    "suricata-verify/tests/ja4-tls-quic/input.pcap",
    "suricata-verify/tests/tls/tls-client-hello-frag-01/dump_mtu300.pcap",
    "suricata-verify/tests/dns-tcp-ts-gap/input.pcap",
    "suricata-verify/tests/bug-5758/input.pcap",
    "suricata-verify/tests/udp-5379/udp-trailing-data/input.pcap",
    "suricata-verify/tests/like-ip-only-01/krb5-frag.pcap",
]
CAPTURE_MAX = 100 * 1024

# Order of fuzzing::packet's link list: the selector byte is the index.
LINK_SELECTOR = {1: 0, 101: 1, 12: 1, 14: 1, 0: 2, 108: 3, 113: 4, 276: 5, 228: 6, 229: 7}

# Largest seed per target (the -max_len used when fuzzing it).
MAX_LEN = {
    "capture": 65536,
    "packet": 4096,
    "dns": 4096,
    "tls": 16384,
    "http": 4096,
    "quic": 4096,
    "dhcp": 4096,
}
# Frames kept per capture for the packet target.
FRAMES_PER_FILE = 40
# Protocol extraction skips captures above this size (keeps tshark runs short).
SCAN_MAX = 2 * 1024 * 1024

TARGETS = ["capture", "packet", "dns", "tls", "http", "quic", "dhcp"]


class Seeds:
    """Seeds of one target, de-duplicated by content."""

    def __init__(self, out: Path, target: str):
        self.dir = out / target
        self.max = MAX_LEN[target]
        self.seen = set()
        self.dir.mkdir(parents=True, exist_ok=True)

    def add(self, data: bytes):
        data = data[: self.max]
        if not data:
            return
        h = hashlib.sha1(data).hexdigest()
        if h in self.seen:
            return
        self.seen.add(h)
        (self.dir / h).write_bytes(data)

    def __len__(self):
        return len(self.seen)


def framed(pieces, limit):
    """A conversation for fuzzing::{stream,datagrams}: (from_orig, bytes) pieces joined by 0xfe."""
    out = bytearray()
    for n, (orig, data) in enumerate(pieces[:256]):
        if n:
            out.append(0xFE)
        out.append(0 if orig else 1)
        out += data.replace(b"\xfe", b"\xff")
        if len(out) >= limit:
            break
    return bytes(out[:limit])


# ---------------------------------------------------------------------------------------------
# Raw frames: a small pcap / pcapng reader (tshark has no field with the raw frame).


def read_frames(path: Path):
    """Yields (linktype, frame bytes) of a pcap or pcapng file; stops quietly at damage."""
    data = path.read_bytes()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xD4, 0x4D) else ">"
        link = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
        at = 24
        while at + 16 <= len(data):
            incl = struct.unpack(e + "I", data[at + 8 : at + 12])[0]
            frame = data[at + 16 : at + 16 + incl]
            if len(frame) < incl:
                return
            yield link, frame
            at += 16 + incl
    elif magic == b"\x0a\x0d\x0d\x0a":
        e = "<"
        links = []
        at = 0
        while at + 12 <= len(data):
            btype = struct.unpack(e + "I", data[at : at + 4])[0]
            if btype == 0x0A0D0D0A:
                bom = data[at + 8 : at + 12]
                e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                links = []
            blen = struct.unpack(e + "I", data[at + 4 : at + 8])[0]
            if blen < 12 or at + blen > len(data):
                return
            body = data[at + 8 : at + blen - 4]
            if btype == 1 and len(body) >= 2:
                links.append(struct.unpack(e + "H", body[:2])[0])
            elif btype == 6 and len(body) >= 20:
                iface, _, _, cap, _ = struct.unpack(e + "IIIII", body[:20])
                if iface < len(links):
                    yield links[iface], body[20 : 20 + cap]
            elif btype == 3 and len(body) >= 4 and links:
                yield links[0], body[4:]
            at += blen


def packet_seeds(shared: Path, seeds: Seeds, files):
    for path in files:
        kept = 0
        for link, frame in read_frames(path):
            sel = LINK_SELECTOR.get(link)
            if sel is None:
                continue
            before = len(seeds)
            seeds.add(bytes([sel]) + frame)
            # An Ethernet frame's IP packet also seeds the raw-IP link types.
            if link == 1 and len(frame) > 14:
                ethertype = frame[12:14]
                if ethertype == b"\x08\x00":
                    seeds.add(bytes([LINK_SELECTOR[228]]) + frame[14:])
                elif ethertype == b"\x86\xdd":
                    seeds.add(bytes([LINK_SELECTOR[229]]) + frame[14:])
            kept += len(seeds) > before
            if kept >= FRAMES_PER_FILE:
                break


# ---------------------------------------------------------------------------------------------
# Payloads through tshark.

FIELDS = [
    "frame.number",
    "tcp.stream",
    "udp.stream",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "tcp.seq_raw",
    "tcp.analysis.retransmission",
    "tcp.payload",
    "udp.payload",
]


def tshark_packets(path: Path):
    """One dict per packet with the fields above (the innermost layer's values)."""
    cmd = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=l"]
    for f in FIELDS:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in res.stdout.splitlines():
        vals = line.split("\t")
        if len(vals) < len(FIELDS):
            continue
        yield dict(zip(FIELDS, vals))


def unhex(s):
    try:
        return bytes.fromhex(s.replace(":", ""))
    except ValueError:
        return b""


def flows(path: Path):
    """TCP and UDP conversations of a capture: lists of (from_orig, payload), ports of both ends."""
    tcp, udp = {}, {}
    for p in tshark_packets(path):
        if p["tcp.stream"]:
            f = tcp.setdefault(p["tcp.stream"], {"pieces": [], "orig": None, "seen": set()})
            sport, dport = int(p["tcp.srcport"] or 0), int(p["tcp.dstport"] or 0)
            if f["orig"] is None:
                syn_only = p["tcp.flags.syn"] in ("1", "True") and p["tcp.flags.ack"] in ("0", "False")
                if syn_only or dport < sport or not dport:
                    f["orig"], f["resp"] = sport, dport
                else:
                    f["orig"], f["resp"] = dport, sport
            data = unhex(p["tcp.payload"])
            key = (sport, p["tcp.seq_raw"])
            if data and not p["tcp.analysis.retransmission"] and key not in f["seen"]:
                f["seen"].add(key)
                f["pieces"].append((sport == f["orig"], data))
        elif p["udp.stream"]:
            f = udp.setdefault(p["udp.stream"], {"pieces": [], "orig": None})
            sport, dport = int(p["udp.srcport"] or 0), int(p["udp.dstport"] or 0)
            if f["orig"] is None:
                f["orig"], f["resp"] = sport, dport
            data = unhex(p["udp.payload"])
            if data:
                f["pieces"].append((sport == f["orig"], data))
    return list(tcp.values()), list(udp.values())


def direction(pieces, orig):
    return b"".join(d for o, d in pieces if o == orig)


HTTP_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ", b"TRACE ", b"PATCH ")


def is_http(f):
    c, s = direction(f["pieces"], True), direction(f["pieces"], False)
    return c.startswith(HTTP_METHODS) or s.startswith(b"HTTP/")


def is_tls(f):
    c, s = direction(f["pieces"], True), direction(f["pieces"], False)
    return c[:2] == b"\x16\x03" or s[:2] == b"\x16\x03" or 443 in (f["orig"], f["resp"]) or f["resp"] == 5222


def tls_records(stream):
    """Handshake messages of one direction of a TLS stream (until the first non-handshake record)."""
    hs = bytearray()
    at = 0
    while at + 5 <= len(stream):
        ctype, length = stream[at], struct.unpack(">H", stream[at + 3 : at + 5])[0]
        if ctype == 22:
            hs += stream[at + 5 : at + 5 + length]
        elif ctype != 20:
            break
        at += 5 + length
    msgs = []
    at = 0
    while at + 4 <= len(hs):
        length = int.from_bytes(hs[at + 1 : at + 4], "big")
        if at + 4 + length > len(hs):
            break
        msgs.append(bytes(hs[at : at + 4 + length]))
        at += 4 + length
    return msgs


def certificates(msg):
    """DER certificates of a TLS 1.0-1.2 Certificate message (type 11)."""
    out = []
    body = msg[4:]
    at = 3
    while at + 3 <= len(body):
        n = int.from_bytes(body[at : at + 3], "big")
        if n == 0 or at + 3 + n > len(body):
            break
        out.append(body[at + 3 : at + 3 + n])
        at += 3 + n
    return out


def http_heads(stream):
    heads = []
    at = 0
    while True:
        end = stream.find(b"\r\n\r\n", at)
        if end < 0:
            break
        head = stream[at : end + 4]
        if head.startswith(HTTP_METHODS) or head.startswith(b"HTTP/"):
            heads.append(head)
        nxt = [stream.find(m, end + 4) for m in HTTP_METHODS + (b"HTTP/",)]
        nxt = [n for n in nxt if n >= 0]
        if not nxt:
            break
        at = min(nxt)
    return heads


# ---------------------------------------------------------------------------------------------
# QUIC Initial packets: RFC 9001 section 5 (v1, draft-29) and RFC 9369 (v2).

QUIC = {
    0x00000001: (bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), "quic ", 0),
    0x6B3343CF: (bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), "quicv2 ", 1),
    0xFF00001D: (bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899"), "quic ", 0),
}


def hkdf_expand_label(secret, label, length):
    full = b"tls13 " + label.encode()
    info = struct.pack(">H", length) + bytes([len(full)]) + full + b"\x00"
    out, block, n = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([n]), hashlib.sha256).digest()
        out += block
        n += 1
    return out[:length]


def enc_varint(v):
    if v < 0x40:
        return bytes([v])
    if v < 0x4000:
        return struct.pack(">H", 0x4000 | v)
    return struct.pack(">I", 0x80000000 | v)


def initial_keys(version, dcid, client):
    salt, prefix, _ = QUIC[version]
    initial = hmac.new(salt, dcid, hashlib.sha256).digest()
    secret = hkdf_expand_label(initial, "client in" if client else "server in", 32)
    return (
        hkdf_expand_label(secret, prefix + "key", 16),
        hkdf_expand_label(secret, prefix + "iv", 12),
        hkdf_expand_label(secret, prefix + "hp", 16),
    )


def varint(b, at):
    if at >= len(b):
        return None, at
    n = 1 << (b[at] >> 6)
    if at + n > len(b):
        return None, at
    v = b[at] & 0x3F
    for x in b[at + 1 : at + n]:
        v = (v << 8) | x
    return v, at + n


def long_initial(dgram):
    """Splits the first packet of a datagram if it is a v1/v2/draft Initial: header fields."""
    if len(dgram) < 7 or not dgram[0] & 0x80:
        return None
    version = struct.unpack(">I", dgram[1:5])[0]
    if version not in QUIC:
        return None
    ptype = (dgram[0] >> 4) & 3
    if ptype != QUIC[version][2]:
        return None
    at = 5
    dl = dgram[at]
    dcid = dgram[at + 1 : at + 1 + dl]
    at += 1 + dl
    sl = dgram[at]
    scid = dgram[at + 1 : at + 1 + sl]
    at += 1 + sl
    tlen, at2 = varint(dgram, at)
    if tlen is None:
        return None
    token = dgram[at2 : at2 + tlen]
    at = at2 + tlen
    length, pn_at = varint(dgram, at)
    if length is None or pn_at + length > len(dgram):
        return None
    return {"version": version, "dcid": dcid, "scid": scid, "token": token, "pn_at": pn_at, "length": length}


def open_initial(dgram, odcid, client):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    h = long_initial(dgram)
    if h is None:
        return None
    key, iv, hp = initial_keys(h["version"], odcid, client)
    pn_at = h["pn_at"]
    sample = dgram[pn_at + 4 : pn_at + 20]
    if len(sample) < 16:
        return None
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    first = dgram[0] ^ (mask[0] & 0x0F)
    pn_len = (first & 3) + 1
    pn_bytes = bytes(a ^ b for a, b in zip(dgram[pn_at : pn_at + pn_len], mask[1 : 1 + pn_len]))
    header = bytes([first]) + dgram[1:pn_at] + pn_bytes
    pn = int.from_bytes(pn_bytes, "big")
    nonce = (int.from_bytes(iv, "big") ^ pn).to_bytes(12, "big")
    body = dgram[pn_at + pn_len : pn_at + h["length"]]
    try:
        plain = AESGCM(key).decrypt(nonce, body, header)
    except Exception:  # noqa: BLE001 - a damaged packet simply yields no seed
        return None
    h.update(pn=pn, pn_len=pn_len, plain=plain)
    return h


def strip_padding(plain):
    """The frames of an Initial payload without PADDING (keeps PING, ACK, CRYPTO, CLOSE)."""
    out = bytearray()
    at = 0
    while at < len(plain):
        t = plain[at]
        start = at
        if t == 0x00:
            at += 1
            continue
        if t == 0x01:
            at += 1
        elif t in (0x02, 0x03):
            at += 1
            vals = []
            for _ in range(4):
                v, at = varint(plain, at)
                vals.append(v)
            if None in vals:
                return bytes(plain)
            for _ in range(vals[2] * 2):
                _, at = varint(plain, at)
            if t == 0x03:
                for _ in range(3):
                    _, at = varint(plain, at)
        elif t == 0x06:
            _, at = varint(plain, at + 1)
            n, at = varint(plain, at)
            if n is None:
                return bytes(plain)
            at += n
        else:
            return bytes(plain)
        out += plain[start:at]
    return bytes(out)


def seal_initial(h, version, dcid_key, dcid_hdr, client, plain):
    """An Initial packet of `version` with header DCID `dcid_hdr`, keys from `dcid_key`."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, iv, hp = initial_keys(version, dcid_key, client)
    pn_len = h["pn_len"]
    plain = plain + b"\x00" * max(0, 4 - pn_len - len(plain))  # room for the HP sample
    length = pn_len + len(plain) + 16
    first = 0xC0 | (QUIC[version][2] << 4) | (pn_len - 1)
    header = (
        bytes([first])
        + struct.pack(">I", version)
        + bytes([len(dcid_hdr)])
        + dcid_hdr
        + bytes([len(h["scid"])])
        + h["scid"]
        + enc_varint(len(h["token"]))
        + h["token"]
        + struct.pack(">H", 0x4000 | length)
    )
    pn_bytes = h["pn"].to_bytes(pn_len, "big")
    nonce = (int.from_bytes(iv, "big") ^ h["pn"]).to_bytes(12, "big")
    sealed = AESGCM(key).encrypt(nonce, plain, header + pn_bytes)
    sample = sealed[4 - pn_len : 20 - pn_len]
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    out = bytearray(header + pn_bytes + sealed)
    out[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        out[len(header) + i] ^= mask[1 + i]
    return bytes(out)


def quic_seeds(udp_flows, quic: Seeds, tls: Seeds):
    rng = random.Random(9001)
    for f in udp_flows:
        pieces = f["pieces"]
        if not pieces:
            continue
        for _, d in pieces[:16]:
            quic.add(d)
        first = long_initial(pieces[0][1])
        if first is None or not pieces[0][0]:
            continue
        odcid = first["dcid"]
        initials = []  # (from_orig, header dict with plaintext)
        for orig, d in pieces:
            h = open_initial(d, odcid, orig)
            if h is not None:
                initials.append((orig, h))
        if not initials:
            continue
        crypto = {True: bytearray(), False: bytearray()}
        for orig, h in initials:
            quic.add(h["plain"])  # frames() on a decrypted payload
            quic.add(strip_padding(h["plain"]))
            p = h["plain"]
            at = 0
            while at < len(p):
                if p[at] == 0x06:
                    off, a2 = varint(p, at + 1)
                    n, a3 = varint(p, a2)
                    if off is None or n is None:
                        break
                    chunk = p[a3 : a3 + n]
                    buf = crypto[orig]
                    if len(buf) < off + n:
                        buf.extend(b"\x00" * (off + n - len(buf)))
                    buf[off : off + n] = chunk
                    at = a3 + n
                elif p[at] == 0x00 or p[at] == 0x01:
                    at += 1
                else:
                    break
        for orig in (True, False):
            for m in tls_records(b"\x16\x03\x03" + struct.pack(">H", len(crypto[orig])) + bytes(crypto[orig])):
                tls.add(m)
        # Re-encrypted conversations (no 0xfe anywhere) for the stateful path, in v1, v2, draft-29.
        for version in QUIC:
            for _ in range(20000):
                dcid = bytes(rng.getrandbits(8) for _ in range(len(odcid)))
                pkts = []
                for orig, h in initials:
                    # The client's Initials carry the chosen DCID until the server answers.
                    hdr_dcid = dcid if orig and h["dcid"] == odcid else h["dcid"]
                    pkts.append((orig, seal_initial(h, version, dcid, hdr_dcid, orig, strip_padding(h["plain"]))))
                if all(b"\xfe" not in p for _, p in pkts) and b"\xfe" not in dcid:
                    quic.add(framed(pkts, MAX_LEN["quic"]))
                    break


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("TCHECK_SHARED", "/work/shared"))
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "seeds"))
    ap.add_argument("targets", nargs="*", default=TARGETS)
    args = ap.parse_args()
    shared, out = Path(args.shared), Path(args.out)
    if shutil.which("tshark") is None:
        sys.exit("seed.py: tshark not found (apt-get install tshark)")
    want = set(args.targets)
    seeds = {t: Seeds(out, t) for t in TARGETS if t in want}

    if "capture" in seeds:
        for rel in CAPTURES:
            data = (shared / rel).read_bytes()
            if len(data) < CAPTURE_MAX:
                seeds["capture"].add(data)

    pcaps = sorted(
        p
        for p in shared.rglob("*")
        if p.suffix in (".pcap", ".pcapng", ".cap") and p.is_file() and p.stat().st_size <= SCAN_MAX
    )
    if "packet" in seeds:
        packet_seeds(shared, seeds["packet"], pcaps)

    proto = want & {"dns", "tls", "http", "quic", "dhcp"}
    for t in ("dns", "tls", "http", "quic", "dhcp"):
        if t not in seeds and proto:
            seeds[t] = Seeds(out / ".unused", t)
    if proto:
        for path in pcaps:
            tcp, udp = flows(path)
            for f in tcp:
                pieces = f["pieces"]
                if not pieces:
                    continue
                ports = (f["orig"], f["resp"])
                if 53 in ports:
                    seeds["dns"].add(framed(pieces, MAX_LEN["dns"]))
                    for orig in (True, False):
                        s = direction(pieces, orig)
                        at = 0
                        while at + 2 <= len(s):
                            n = struct.unpack(">H", s[at : at + 2])[0]
                            seeds["dns"].add(s[at + 2 : at + 2 + n])
                            at += 2 + n
                elif is_http(f):
                    seeds["http"].add(framed(pieces, MAX_LEN["http"]))
                    for orig in (True, False):
                        for head in http_heads(direction(pieces, orig)):
                            seeds["http"].add(head)
                elif is_tls(f):
                    seeds["tls"].add(framed(pieces, MAX_LEN["tls"]))
                    for orig in (True, False):
                        for m in tls_records(direction(pieces, orig)):
                            if m[0] in (1, 2):
                                seeds["tls"].add(m)
                            elif m[0] == 11:
                                for cert in certificates(m):
                                    seeds["tls"].add(cert)
            for f in udp:
                pieces = f["pieces"]
                ports = (f["orig"], f["resp"])
                if not pieces:
                    continue
                if ports[0] in (53, 5353, 5355) or ports[1] in (53, 5353, 5355):
                    seeds["dns"].add(framed(pieces, MAX_LEN["dns"]))
                    for _, d in pieces[:32]:
                        seeds["dns"].add(d)
                elif 67 in ports or 68 in ports:
                    # The harness's flow is client -> server port 67: orig is the client.
                    conv = [(sport_is_client, d) for sport_is_client, d in pieces]
                    if f["orig"] == 67:
                        conv = [(not o, d) for o, d in conv]
                    seeds["dhcp"].add(framed(conv, MAX_LEN["dhcp"]))
                    for _, d in pieces:
                        seeds["dhcp"].add(d)
                        seeds["dhcp"].add(framed([(True, d)], MAX_LEN["dhcp"]))
                elif 443 in ports:
                    quic_seeds([f], seeds["quic"], seeds["tls"])

    for t in TARGETS:
        if t in want:
            print(f"{t}: {len(seeds[t])} seeds in {seeds[t].dir}")
    shutil.rmtree(out / ".unused", ignore_errors=True)


if __name__ == "__main__":
    main()
