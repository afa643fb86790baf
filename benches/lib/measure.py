"""What the benchmark scripts share: running a command under `/usr/bin/time -v`, counting the
packets of a capture, describing the machine, and printing aligned tables.

Python standard library only. Nothing here judges a figure: no thresholds, no pass/fail.
"""

import os
import platform
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"


def require(tools):
    """Exits with a hint when one of `tools` (paths or names on PATH) is missing."""
    missing = []
    for t in tools:
        if os.path.isabs(t):
            if not os.access(t, os.X_OK):
                missing.append(t)
        elif not any(os.access(os.path.join(d, t), os.X_OK)
                     for d in os.environ.get("PATH", "").split(os.pathsep)):
            missing.append(t)
    if missing:
        sys.exit("missing: " + ", ".join(missing)
                 + " (Debian: apt-get install tcpdump time python3)")


def run_timed(cmd, stdout_path=None):
    """Runs `cmd` under GNU time. Returns a dict: wall seconds (measured here with a monotonic
    clock), user and system CPU seconds, peak RSS in bytes, exit status, and stderr's tail."""
    with tempfile.NamedTemporaryFile("r", suffix=".timev", delete=False) as tv:
        tv_path = tv.name
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        p = subprocess.run([GNU_TIME, "-v", "-o", tv_path] + list(cmd),
                           stdout=out, stderr=subprocess.PIPE, check=False)
        wall = time.perf_counter() - t0
        with open(tv_path) as f:
            report = f.read()
    finally:
        if stdout_path:
            out.close()
        os.unlink(tv_path)

    def field(name, conv=float, default=None):
        m = re.search(r"^\s*" + re.escape(name) + r":\s*(.+)$", report, re.M)
        return conv(m.group(1).strip()) if m else default

    return {
        "seconds": wall,
        "user_s": field("User time (seconds)", default=0.0),
        "sys_s": field("System time (seconds)", default=0.0),
        "peak_rss_bytes": field("Maximum resident set size (kbytes)", int, 0) * 1024,
        "exit": p.returncode,
        "stderr_tail": p.stderr.decode("utf-8", "replace")[-2000:],
    }


def median_run(runs):
    """Summarises repeated runs of one command: median wall time, the spread, the largest
    peak RSS, the median CPU time."""
    secs = [r["seconds"] for r in runs]
    return {
        "seconds": statistics.median(secs),
        "seconds_min": min(secs),
        "seconds_max": max(secs),
        "seconds_all": [round(s, 4) for s in secs],
        "cpu_s": statistics.median(r["user_s"] + r["sys_s"] for r in runs),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
        "exit": next((r["exit"] for r in runs if r["exit"] != 0), 0),
    }


def count_packets(path):
    """Packets in a classic pcap or a pcapng file, read from the record headers."""
    with open(path, "rb") as f:
        head = f.read(24)
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            e = "<" if magic[0] in (0xD4, 0x4D) else ">"
            n = 0
            while True:
                rec = f.read(16)
                if len(rec) < 16:
                    return n
                incl = struct.unpack(e + "I", rec[8:12])[0]
                f.seek(incl, os.SEEK_CUR)
                n += 1
        if magic == b"\x0a\x0d\x0d\x0a":
            f.seek(0)
            n, e = 0, "<"
            while True:
                bh = f.read(8)
                if len(bh) < 8:
                    return n
                if bh[:4] == b"\x0a\x0d\x0d\x0a":
                    bom = f.read(4)
                    e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                    f.seek(-4, os.SEEK_CUR)
                btype, blen = struct.unpack(e + "II", bh)
                if blen < 12:
                    return n
                if btype in (2, 3, 6):  # obsolete packet, simple packet, enhanced packet
                    n += 1
                f.seek(blen - 8, os.SEEK_CUR)
    raise SystemExit(f"{path}: neither a pcap nor a pcapng file")


def machine():
    """What the figures were measured on."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            model = m.group(1) if m else ""
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def warm_cache(path):
    """Reads a file once so that every timed run reads it from the page cache."""
    with open(path, "rb") as f:
        while f.read(8 << 20):
            pass


def table(headers, rows, right=()):
    """An aligned text table; columns whose index is in `right` are right-aligned."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]

    def line(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep] + [line(r) for r in cells])


def mb(n_bytes):
    """Bytes as MB (10^6 bytes)."""
    return n_bytes / 1e6


def mib(n_bytes):
    """Bytes as MiB (2^20 bytes)."""
    return n_bytes / (1 << 20)
