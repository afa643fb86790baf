#!/usr/bin/env bash
# Throughput benchmark: tcheck analyze on a large realistic capture, next to the read floor
# (tcpdump -r FILE -w /dev/null) measured in the same run. Prints a table (or JSON with
# --json): seconds, MB/s, packets/s, peak RSS, ratio to the floor. Judges nothing.
#
# usage: benches/run.sh [--shared DIR] [--replicas N] [--capture FILE] [--runs N]
#                       [--threads N] [--tcheck BIN] [--build] [--stages] [--bare] [--json]
#
#   --shared DIR    the shared material (default: ../shared next to the repository)
#   --replicas N    size of the generated capture (default 160: about 225 MB, 648k packets)
#   --capture FILE  benchmark this capture instead of generating one
#   --runs N        timed runs of each configuration; the median is reported (default 3)
#   --threads N     thread count of the "all cores" run (default: nproc)
#   --tcheck BIN    the binary to measure (default: target/dist/tcheck, the shipped build)
#   --build         run `cargo build --profile dist` even if the binary exists
#   --stages        also time one thread with EVE to /dev/null, without EVE, and without
#                   EVE and the bundled feeds (where the time goes)
#   --bare          also time both thread counts without the bundled feeds and their rules,
#                   EVE on: the configuration of the Suricata figure (no rules, EVE on)
#   --json          print JSON instead of the table
#
# Needs python3, tcpdump and GNU time (Debian: apt-get install tcpdump time).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="$repo/../shared"
replicas=160
capture=""
runs=3
threads="$(nproc)"
tcheck="$repo/target/dist/tcheck"
build=0
json=()
stages=()
bare=()

while [ $# -gt 0 ]; do
    case "$1" in
        --shared) shared="$2"; shift 2 ;;
        --replicas) replicas="$2"; shift 2 ;;
        --capture) capture="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --tcheck) tcheck="$2"; shift 2 ;;
        --build) build=1; shift ;;
        --stages) stages=(--stages); shift ;;
        --bare) bare=(--bare); shift ;;
        --json) json=(--json); shift ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

data="$repo/bench-data"
mkdir -p "$data"

if [ -z "$capture" ]; then
    capture="$data/bench-r$replicas.pcap"
    if [ ! -s "$capture" ]; then
        for d in "$shared/tools" "$shared/suricata-verify/tests" "$shared/oracle/zeek/traces"; do
            [ -d "$d" ] || { echo "run.sh: $d not found (use --shared DIR)" >&2; exit 2; }
        done
        echo "building $capture (once)" >&2
        python3 "$shared/tools/make-bench-pcap.py" --out "$capture.tmp" --replicas "$replicas" \
            "$shared/suricata-verify/tests" "$shared/oracle/zeek/traces"
        mv "$capture.tmp" "$capture"
    fi
fi

if [ "$build" = 1 ] || [ ! -x "$tcheck" ]; then
    (cd "$repo" && cargo build --profile dist --bin tcheck)
fi

exec python3 "$repo/benches/lib/throughput.py" --capture "$capture" --tcheck "$tcheck" \
    --out-dir "$data" --runs "$runs" --threads "$threads" "${stages[@]}" "${bare[@]}" "${json[@]}"
