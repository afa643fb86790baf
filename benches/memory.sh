#!/usr/bin/env bash
# Peak memory of tcheck on hostile captures (SYN flood, out-of-order TCP streams, IPv4
# fragment floods, many DNS/TLS/HTTP flows), next to the caps configured in the engine.
# The captures are generated once by benches/hostile/*.py into bench-data/hostile/
# (about 3.5 GB in all).
#
# usage: benches/memory.sh [--only CASE,CASE] [--threads N] [--tcheck BIN] [--build] [--json]
#
# Needs python3 and GNU time (Debian: apt-get install time).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tcheck="$repo/target/release/tcheck"
build=0
args=()

while [ $# -gt 0 ]; do
    case "$1" in
        --tcheck) tcheck="$2"; shift 2 ;;
        --build) build=1; shift ;;
        --only|--threads) args+=("$1" "$2"); shift 2 ;;
        --json) args+=(--json); shift ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "memory.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

if [ "$build" = 1 ] || [ ! -x "$tcheck" ]; then
    (cd "$repo" && cargo build --release --bin tcheck)
fi

exec python3 "$repo/benches/lib/memory.py" --tcheck "$tcheck" --repo "$repo" \
    --data "$repo/bench-data/hostile" "${args[@]}"
