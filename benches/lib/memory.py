#!/usr/bin/env python3
"""Peak memory of `tcheck analyze` on hostile captures, next to the engine's configured caps.
Called by benches/memory.sh.

Each case is a capture made by a generator of benches/hostile/ (built once, kept in the data
directory) and run once as `tcheck analyze CAPTURE --eve /dev/null --json --threads N` under
`/usr/bin/time -v`. Reported per case: peak RSS; the peak RSS of its control (a capture of
the same kind whose packets leave nothing to hold: a thousand SYNs, or the same TCP streams
sent in order with both sides speaking); the difference, "retained", which is what the hostile traffic made the
engine keep; the cap that should bound it, read from engine/src/config.rs and
engine/src/decode/defrag.rs; and the engine's own counters of what it dropped.

A byte cap is met when retained <= cap. A count cap (max_flows) has no byte value; its case
runs at two sizes, and the cap holds if the larger input does not retain more memory (growth
under 10 % for twice the input). Cases with a byte cap may run at two sizes too, which shows
whether what they retain stops growing at all. Times are single runs, for information only.
"""

import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402

KIB, MIB = 1 << 10, 1 << 20


def rust_consts(repo):
    """The engine's default limits, read from its sources."""
    found = {}
    for rel, names in (("engine/src/config.rs", ("max_flows", "memcap", "depth", "max_buffered")),
                       ("engine/src/decode/defrag.rs", ("max_datagrams", "max_fragments", "timeout_nanos"))):
        with open(os.path.join(repo, rel)) as f:
            src = f.read()
        for n in names:
            m = re.search(r"\b" + n + r":\s*([0-9_ <*()+]+),", src)
            if not m:
                sys.exit(f"memory.py: default of `{n}` not found in {rel}; update rust_consts()")
            found[n] = int(eval(m.group(1).replace("_", ""), {"__builtins__": {}}))  # digits, <<, *, + only
    return found


def cases(c):
    """The cases, in the order they run (a control before the cases that use it). Keys: name;
    gen, the generator and its arguments; control, the case whose peak RSS is subtracted;
    cap, the byte cap that bounds what is retained (None for a count cap or none); cap_text;
    pair, the same case at half the input; live, the flows live at most (for a per-flow
    figure)."""
    mf = c["max_flows"]
    flows = f"max_flows {mf:,} flows"
    memcap = f"stream memcap {measure.mib(c['memcap']):.0f} MiB (out-of-order bytes, all streams)"
    defrag = (f"max_datagrams {c['max_datagrams']:,} x 64 KiB = "
              f"{measure.mib(c['max_datagrams'] * 64 * KIB):.0f} MiB")
    oneway = (f"none named; depth {measure.mib(c['depth']):.0f} MiB per direction "
              f"x max_flows {mf:,}")
    frag_cap = c["max_datagrams"] * 64 * KIB

    def case(name, gen, control=None, cap=None, cap_text="-", pair=None, live=None):
        return {"name": name, "gen": gen, "control": control, "cap": cap, "cap_text": cap_text,
                "pair": pair, "live": live}

    return [
        case("baseline", ["syn_flood.py", "--count", "1000"]),
        case("syn-ports-1M", ["syn_flood.py", "--count", "1000000"], "baseline", None, flows, live=mf),
        case("syn-ports-2M", ["syn_flood.py", "--count", "2000000"], "baseline", None, flows,
             "syn-ports-1M", mf),
        case("syn-sources-1M", ["syn_flood.py", "--count", "1000000", "--vary", "sources"], "baseline",
             None, flows, live=mf),
        case("arena-control", ["ooo_streams.py", "--in-order", "--server-speaks"]),
        case("ooo-1024x400KiB", ["ooo_streams.py"], "arena-control", c["memcap"], memcap),
        case("ooo-1byte-2M", ["ooo_streams.py", "--streams", "2048", "--bytes", "1024", "--segment", "1"],
             "baseline", c["memcap"], memcap),
        case("ooo-1byte-4M", ["ooo_streams.py", "--streams", "2048", "--bytes", "2048", "--segment", "1"],
             "baseline", c["memcap"], memcap, "ooo-1byte-2M"),
        case("frag-incomplete-5k", ["frag_flood.py", "--datagrams", "5000"], "arena-control",
             frag_cap, defrag),
        case("frag-churn-1M", ["frag_flood.py", "--mode", "churn", "--datagrams", "1000000"], "baseline",
             frag_cap, defrag),
        case("frag-churn-2M", ["frag_flood.py", "--mode", "churn", "--datagrams", "2000000"], "baseline",
             frag_cap, defrag, "frag-churn-1M"),
        case("one-way-1024x400KiB", ["ooo_streams.py", "--in-order"], "arena-control", None, oneway,
             live=1024),
        case("one-way-4096x100KiB", ["ooo_streams.py", "--in-order", "--streams", "4096", "--bytes",
                                     "102400"], "arena-control", None, oneway, live=4096),
        case("app-flows-300k", ["app_flows.py", "--flows", "300000"], "baseline", None, flows, live=mf),
        case("app-flows-600k", ["app_flows.py", "--flows", "600000"], "baseline", None, flows,
             "app-flows-300k", mf),
    ]


def dropped(summary):
    """The engine's counters of what a limit made it drop, from its JSON summary."""
    keep = ("evicted", "not buffered", "fragments dropped", "too many", "memory")
    return {k: v for k, v in summary.get("anomalies", {}).items() if any(w in k for w in keep)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tcheck", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--data", required=True, help="where the hostile captures are kept")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", default="", help="comma-separated case names (controls are added)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    measure.require([measure.GNU_TIME, a.tcheck])
    os.makedirs(a.data, exist_ok=True)
    consts = rust_consts(a.repo)
    all_cases = cases(consts)
    wanted = {n for n in a.only.split(",") if n}
    if wanted:
        unknown = wanted - {k["name"] for k in all_cases}
        if unknown:
            sys.exit("unknown cases: " + ", ".join(sorted(unknown)))
        for k in all_cases:
            if k["name"] in wanted:
                wanted |= {x for x in (k["control"], k["pair"]) if x}
    hostile = os.path.join(a.repo, "benches", "hostile")

    results = {}
    for k in all_cases:
        name, gen, control, cap, pair = k["name"], k["gen"], k["control"], k["cap"], k["pair"]
        if wanted and name not in wanted:
            continue
        cap_path = os.path.join(a.data, name + ".pcap")
        if not os.path.exists(cap_path):
            print(f"generating {cap_path}", file=sys.stderr)
            subprocess.run([sys.executable, os.path.join(hostile, gen[0]), "--out", cap_path + ".tmp"]
                           + gen[1:], check=True)
            os.replace(cap_path + ".tmp", cap_path)
        out = os.path.join(a.data, name + ".summary.json")
        cmd = [a.tcheck, "analyze", cap_path, "--eve", "/dev/null", "--json", "--threads", str(a.threads)]
        r = measure.run_timed(cmd, stdout_path=out)
        try:
            with open(out) as f:
                summary = json.load(f)
        except (OSError, ValueError):
            summary = {}
        res = {
            "case": name,
            "generator": " ".join(gen),
            "command": " ".join(cmd),
            "capture_bytes": os.path.getsize(cap_path),
            "packets": summary.get("packets"),
            "seconds": r["seconds"],
            "peak_rss_bytes": r["peak_rss_bytes"],
            "exit": r["exit"],
            "control": control,
            "cap": k["cap_text"],
            "cap_bytes": cap,
            "dropped": dropped(summary),
        }
        if r["exit"] != 0:
            res["stderr_tail"] = r["stderr_tail"]
        if control in results:
            res["retained_bytes"] = r["peak_rss_bytes"] - results[control]["peak_rss_bytes"]
        verdict = ""
        if r["exit"] != 0:
            verdict = f"tcheck exited {r['exit']}"
        elif cap is not None and "retained_bytes" in res:
            over = res["retained_bytes"] - cap
            verdict = ("under cap" if over <= 0 else
                       f"OVER cap by {measure.mib(over):.0f} MiB ({res['retained_bytes'] / cap:.2f}x)")
        if pair in results and "retained_bytes" in res and results[pair].get("retained_bytes"):
            g = res["retained_bytes"] / results[pair]["retained_bytes"] - 1
            res["growth_vs_half_input"] = g
            grow = f"{g * 100:+.0f}% retained for 2x input vs {pair}"
            grow = ("bounded: " if g < 0.10 else "GROWS with input: ") + grow
            verdict = f"{verdict}; {grow}" if verdict else grow
        if k["live"] and "retained_bytes" in res:
            res["retained_per_live_flow_bytes"] = res["retained_bytes"] / k["live"]
            per = f"{res['retained_per_live_flow_bytes'] / KIB:.2f} KiB per live flow"
            verdict = f"{verdict}; {per}" if verdict else per
        res["verdict"] = verdict
        results[name] = res
        print(f"{name}: {r['seconds']:.2f} s, peak RSS {measure.mib(r['peak_rss_bytes']):.1f} MiB, "
              f"exit {r['exit']}", file=sys.stderr)

    report = {"caps": consts, "threads": a.threads, "machine": measure.machine(),
              "results": list(results.values())}
    if a.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return
    c = consts
    print(f"caps (engine defaults): max_flows {c['max_flows']:,}; stream memcap "
          f"{measure.mib(c['memcap']):.0f} MiB, per-stream max_buffered {measure.mib(c['max_buffered']):.0f} MiB, "
          f"depth {measure.mib(c['depth']):.0f} MiB; defrag max_datagrams {c['max_datagrams']:,}, "
          f"max_fragments {c['max_fragments']}, timeout {c['timeout_nanos'] / 1e9:.0f} s")
    print(f"tcheck analyze CAPTURE --eve /dev/null --json --threads {a.threads}; one run per case; "
          f"RSS in MiB")
    print()
    rows = []
    for r in results.values():
        rows.append([
            r["case"], f"{measure.mb(r['capture_bytes']):.0f}", f"{r['packets'] or 0:,}",
            f"{r['seconds']:.2f}", f"{measure.mib(r['peak_rss_bytes']):.1f}",
            f"{measure.mib(r['retained_bytes']):.1f}" if "retained_bytes" in r else "-",
            r["cap"], r["verdict"],
        ])
    print(measure.table(["case", "capture MB", "packets", "seconds", "peak RSS", "retained",
                         "cap", "verdict"], rows, right={1, 2, 3, 4, 5}))
    print()
    for r in results.values():
        if r["dropped"]:
            print(f"{r['case']}: " + "; ".join(f"{k}: {v:,}" for k, v in r["dropped"].items()))


if __name__ == "__main__":
    main()
