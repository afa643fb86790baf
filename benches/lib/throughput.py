#!/usr/bin/env python3
"""Throughput of `tcheck analyze` on one capture, next to the read floor measured in the same
run (`tcpdump -r FILE -w /dev/null`). Called by benches/run.sh, which prepares the capture
and the binary.

Each configuration runs RUNS times, interleaved (tcpdump, tcheck 1 thread, tcheck all cores,
then again), after one untimed read of the capture so that every run reads it from the page
cache. Reported: the median wall time, MB/s (10^6 bytes of capture file per second),
packets/s, the median CPU time (user + system; on a shared machine it moves less than the
wall time), the largest peak RSS of the runs, and the time relative to the tcpdump floor.
No threshold, no pass/fail: the figures are printed, not judged.

With --stages, one-thread runs that leave parts out are interleaved with the others, and listed
right after the one-thread run, to show where the time goes: EVE rendered but written to
/dev/null, no EVE, and no EVE without the bundled indicator feeds, their rules and the bundled
whitelist (`--no-default-iocs`). From the one-thread run down, each row's difference to the row
above it is what the part left out costs.

With --bare, both thread counts also run with EVE to a file but without the bundled indicator
feeds, their rules and the whitelist (`--no-default-iocs`): no rule at all, the configuration
of the Suricata figure the goals are set against (Suricata without rules, EVE on).

Every tcheck run that writes an EVE file writes a new one: the previous run's is removed first,
untimed. Writing
over a large file that exists makes ext4 (auto_da_alloc) start writing the new one back when
it is closed, in the writer's time: about 70 ms for a 125 MB EVE file on the machine of
benches/README.md, which belong to the file system, not to the analysis. (Suricata appends
to its eve.json by default.)
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--tcheck", required=True)
    ap.add_argument("--out-dir", required=True, help="where the EVE files and summaries go")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="thread count of the all-cores run (default: nproc)")
    ap.add_argument("--stages", action="store_true",
                    help="also time one thread without parts of the work (see above)")
    ap.add_argument("--bare", action="store_true",
                    help="also time both thread counts without the bundled indicators and "
                         "rules, EVE on (see above)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    measure.require(["tcpdump", measure.GNU_TIME, a.tcheck])

    size = os.path.getsize(a.capture)
    packets = measure.count_packets(a.capture)
    measure.warm_cache(a.capture)
    before = measure.machine()

    configs = [("tcpdump -r -w /dev/null", ["tcpdump", "-r", a.capture, "-w", "/dev/null"], None)]
    for n in sorted({1, a.threads}):
        eve = os.path.join(a.out_dir, f"eve-threads{n}.json")
        summary = os.path.join(a.out_dir, f"summary-threads{n}.txt")
        configs.append((f"tcheck --threads {n}",
                        [a.tcheck, "analyze", a.capture, "--eve", eve, "--threads", str(n)],
                        summary))
        if n == 1 and a.stages:
            base = [a.tcheck, "analyze", a.capture, "--threads", "1"]
            configs += [
                ("tcheck --threads 1 --eve /dev/null", base + ["--eve", "/dev/null"],
                 os.path.join(a.out_dir, "summary-stage-eve-null.txt")),
                ("tcheck --threads 1, no EVE", base,
                 os.path.join(a.out_dir, "summary-stage-no-eve.txt")),
                ("tcheck --threads 1, no EVE, --no-default-iocs", base + ["--no-default-iocs"],
                 os.path.join(a.out_dir, "summary-stage-no-feeds.txt")),
            ]
    if a.bare:
        for n in sorted({1, a.threads}):
            eve = os.path.join(a.out_dir, f"eve-bare-threads{n}.json")
            configs.append((f"tcheck --threads {n} --no-default-iocs",
                            [a.tcheck, "analyze", a.capture, "--no-default-iocs", "--eve", eve,
                             "--threads", str(n)],
                            os.path.join(a.out_dir, f"summary-bare-threads{n}.txt")))

    runs = {name: [] for name, _, _ in configs}
    for i in range(a.runs):
        for name, cmd, out in configs:
            if "--eve" in cmd:
                eve = cmd[cmd.index("--eve") + 1]
                if eve != "/dev/null" and os.path.exists(eve):
                    os.remove(eve)
            r = measure.run_timed(cmd, stdout_path=out)
            runs[name].append(r)
            print(f"run {i + 1}/{a.runs} {name}: {r['seconds']:.3f} s, "
                  f"peak RSS {measure.mb(r['peak_rss_bytes']):.1f} MB, exit {r['exit']}",
                  file=sys.stderr)
            if r["exit"] != 0:
                print(r["stderr_tail"], file=sys.stderr)

    results = []
    floor = None
    for name, cmd, out in configs:
        s = measure.median_run(runs[name])
        if floor is None:
            floor = s["seconds"]
        row = {
            "config": name,
            "command": " ".join(cmd),
            **s,
            "mb_per_s": measure.mb(size) / s["seconds"],
            "packets_per_s": packets / s["seconds"],
            "peak_rss_mb": measure.mb(s["peak_rss_bytes"]),
            "ratio_to_floor": s["seconds"] / floor,
        }
        if out:
            # tcheck's text summary starts "Capture: ...\n  N packets, M bytes".
            with open(out, errors="replace") as f:
                m = re.search(r"^\s*(\d+) packets, (\d+) bytes", f.read(), re.M)
            row["packets_seen"] = int(m.group(1)) if m else None
            eve = cmd[cmd.index("--eve") + 1] if "--eve" in cmd else None
            written = eve is not None and eve != "/dev/null" and os.path.exists(eve)
            row["eve_bytes"] = os.path.getsize(eve) if written else None
        results.append(row)

    report = {
        "capture": {"path": a.capture, "bytes": size, "packets": packets},
        "runs": a.runs,
        "machine": {**before, "loadavg_after": measure.machine()["loadavg"]},
        "results": results,
    }
    if a.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return
    print(f"capture: {a.capture}: {measure.mb(size):.1f} MB, {packets} packets")
    m = report["machine"]
    print(f"machine: {m['cpus']} CPUs ({m['cpu_model']}), load average {m['loadavg']} before, "
          f"{m['loadavg_after']} after; median of {a.runs} runs, page cache warm")
    print()
    rows = []
    for r in results:
        status = "" if r["exit"] == 0 else f"exit {r['exit']}"
        if r.get("packets_seen") not in (None, packets):
            status = (status + f" saw {r['packets_seen']} packets").strip()
        rows.append([r["config"], f"{r['seconds']:.3f}", f"{r['mb_per_s']:.1f}",
                     f"{r['packets_per_s']:,.0f}", f"{r['cpu_s']:.2f}", f"{r['peak_rss_mb']:.1f}",
                     f"{r['ratio_to_floor']:.2f}x", f"{r['seconds_min']:.3f}-{r['seconds_max']:.3f}",
                     status])
    print(measure.table(["config", "seconds", "MB/s", "packets/s", "CPU s", "peak RSS MB",
                         "vs floor", "min-max s", "note"], rows, right={1, 2, 3, 4, 5, 6}))


if __name__ == "__main__":
    main()
