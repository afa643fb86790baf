#!/usr/bin/env bash
# Two builds of tcheck timed in turn (old, new, old, new...) on the benchmark capture with
# EVE on: the median time of each, and the difference. Timed one after the other, two
# builds do not compare on a shared machine; timed in turn, they do. Judges nothing.
#
# usage: benches/ab.sh OLD NEW [--capture FILE] [--runs N] [--threads N] [--bare] [--json]
#
#   OLD, NEW        the two tcheck binaries (build each with `cargo build --profile dist`
#                   and copy target/dist/tcheck aside)
#   --capture FILE  the capture (default: bench-data/bench-r160.pcap, made by benches/run.sh)
#   --runs N        runs of each build (default 15)
#   --threads N     --threads of every run (default: nproc)
#   --bare          every run with --no-default-iocs: no indicator and no rule, the
#                   configuration of the Suricata figure (as benches/run.sh --bare)
#   --json          print JSON instead of the table
#
# Needs python3 and GNU time (Debian: apt-get install time).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
capture="$repo/bench-data/bench-r160.pcap"
runs=15
threads="$(nproc)"
json=()
bare=()
bins=()

while [ $# -gt 0 ]; do
    case "$1" in
        --capture) capture="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --bare) bare=(--bare); shift ;;
        --json) json=(--json); shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "ab.sh: unknown argument: $1" >&2; exit 2 ;;
        *) bins+=("$1"); shift ;;
    esac
done

if [ "${#bins[@]}" -ne 2 ]; then
    echo "ab.sh: give two binaries, OLD and NEW (see --help)" >&2
    exit 2
fi
if [ ! -s "$capture" ]; then
    echo "ab.sh: $capture not found (benches/run.sh makes it, or use --capture FILE)" >&2
    exit 2
fi

data="$repo/bench-data"
mkdir -p "$data"
exec python3 "$repo/benches/lib/ab.py" --capture "$capture" --old "${bins[0]}" \
    --new "${bins[1]}" --out-dir "$data" --runs "$runs" --threads "$threads" \
    "${bare[@]}" "${json[@]}"
