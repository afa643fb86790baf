#!/usr/bin/env python3
"""Two builds of tcheck timed in turn on one capture: `tcheck analyze CAPTURE --eve FILE
--threads N` (with `--bare`, also `--no-default-iocs`: the configuration of the Suricata
figure, no indicator and no rule), old then new, RUNS times, after one untimed read of the
capture so that every run reads it from the page cache. Called by benches/ab.sh.

On a shared machine the time of one configuration drifts by a tenth or more within an hour,
so two builds timed one after the other (`benches/run.sh` twice) do not compare; timed in
turn, each pair of runs meets the same load. Reported for each build: the median wall time,
the quartiles and the median CPU time (summarised as benches/run.sh does); then the
difference of the medians and the median of the differences of each pair (new minus old).
No threshold, no pass/fail.

As in benches/run.sh, each run writes a new EVE file: the previous one is removed first,
untimed.
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402


def quartiles(values):
    """The first and third quartiles of `values` (at least one)."""
    v = sorted(values)
    return v[len(v) // 4], v[(3 * len(v)) // 4]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--old", required=True, help="the build to compare against")
    ap.add_argument("--new", required=True, help="the build being measured")
    ap.add_argument("--out-dir", required=True, help="where the EVE files go")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--bare", action="store_true",
                    help="run with --no-default-iocs (no indicator, no rule)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.runs < 1:
        sys.exit("ab.py: --runs must be at least 1")
    measure.require([measure.GNU_TIME, a.old, a.new])

    measure.warm_cache(a.capture)
    before = measure.machine()
    eve = os.path.join(a.out_dir, "eve-ab.json")
    extra = ["--no-default-iocs"] if a.bare else []
    runs = {"old": [], "new": []}
    for i in range(a.runs):
        for which in ("old", "new"):
            binary = getattr(a, which)
            if os.path.exists(eve):
                os.unlink(eve)
            r = measure.run_timed([binary, "analyze", a.capture, "--eve", eve,
                                   "--threads", str(a.threads)] + extra)
            if r["exit"] != 0:
                sys.exit(f"ab.py: {binary} exited with {r['exit']}:\n{r['stderr_tail']}")
            runs[which].append(r)
            print(f"run {i + 1}/{a.runs} {which}: {r['seconds']:.4f} s", file=sys.stderr)
    if os.path.exists(eve):
        os.unlink(eve)

    # Each build's median, spread, CPU time and peak RSS as benches/run.sh reports them,
    # with the quartiles besides.
    summary = {w: measure.median_run(runs[w]) for w in runs}
    for w in summary:
        summary[w]["binary"] = getattr(a, w)
        summary[w]["quartiles"] = quartiles(summary[w]["seconds_all"])
    medians = {w: summary[w]["seconds"] for w in summary}
    paired = statistics.median(n["seconds"] - o["seconds"]
                               for o, n in zip(runs["old"], runs["new"]))
    result = {
        "capture": a.capture,
        "threads": a.threads,
        "bare": a.bare,
        "runs": a.runs,
        "machine_before": before,
        "machine_after": measure.machine(),
        "old": summary["old"],
        "new": summary["new"],
        "difference_of_medians_s": medians["new"] - medians["old"],
        "median_paired_difference_s": paired,
    }
    if a.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    rows = []
    for w in ("old", "new"):
        q1, q3 = summary[w]["quartiles"]
        rows.append([w, getattr(a, w), f"{medians[w]:.4f}", f"{q1:.4f}-{q3:.4f}",
                     f"{summary[w]['cpu_s']:.2f}"])
    config = " ".join(["--threads", str(a.threads)] + extra)
    print(f"capture: {a.capture}; {config}; {a.runs} runs of each, in turn; "
          f"load average {before['loadavg']} before, {result['machine_after']['loadavg']} after")
    print()
    print(measure.table(["build", "binary", "median s", "quartiles s", "CPU s"], rows,
                        right=(2, 3, 4)))
    print()
    change = 100 * (medians["new"] - medians["old"]) / medians["old"]
    print(f"new - old: {medians['new'] - medians['old']:+.4f} s ({change:+.1f} %) between the "
          f"medians; {paired:+.4f} s, the median of the {a.runs} paired differences")


if __name__ == "__main__":
    main()
