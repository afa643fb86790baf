#!/usr/bin/env bash
# Compares what two tcheck binaries write (EVE, Zeek-style logs, the JSON summary with the
# report) on the benchmark capture, when it exists, and on every capture of the shared
# material; prints the captures whose outputs differ. Judges nothing: a change that is
# meant to change outputs shows here, and the diff of each is left in the work directory.
#
# usage: benches/compare-outputs.sh OLD_BIN NEW_BIN [OLD_THREADS [NEW_THREADS]]
#
#   OLD_THREADS, NEW_THREADS  --threads of each binary (default 2 and 1: the thread counts
#                             differ too, so the comparison also checks determinism)
# Environment: TCHECK_SHARED (default ../shared), BENCH_CAPTURE (default
# bench-data/bench-r160.pcap), WORK (default a new temporary directory).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 2 ]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
old="$1"
new="$2"
old_threads="${3:-2}"
new_threads="${4:-1}"
shared="${TCHECK_SHARED:-$repo/../shared}"
bench="${BENCH_CAPTURE:-$repo/bench-data/bench-r160.pcap}"
work="${WORK:-$(mktemp -d -t tcheck-compare-XXXXXX)}"

# Runs one binary on one capture into DIR; the exit status is an output too.
outputs() {
  local bin="$1" threads="$2" capture="$3" dir="$4"
  rm -rf "$dir"
  mkdir -p "$dir"
  set +e
  "$bin" analyze "$capture" --eve "$dir/eve.json" --logs "$dir/logs" --json \
    --threads "$threads" >"$dir/summary.json" 2>"$dir/stderr"
  echo $? >"$dir/status"
  set -e
}

captures=()
[ -f "$bench" ] && captures+=("$bench")
while IFS= read -r f; do captures+=("$f"); done \
  < <(find "$shared" \( -name '*.pcap' -o -name '*.pcapng' \) | sort)

differ=0
for capture in "${captures[@]}"; do
  outputs "$old" "$old_threads" "$capture" "$work/old"
  outputs "$new" "$new_threads" "$capture" "$work/new"
  if ! diff -r "$work/old" "$work/new" >"$work/last.diff"; then
    differ=$((differ + 1))
    name="$(basename "$capture")"
    cp "$work/last.diff" "$work/$name.diff"
    echo "differs: $capture ($(grep -c '^[<>]' "$work/$name.diff") lines; $work/$name.diff)"
  fi
done
echo "compared ${#captures[@]} captures: $differ differ (old: $old, $old_threads threads; new: $new, $new_threads threads)"
