#!/bin/bash
# Shrinks a target's committed corpus and keeps every covered edge: a libFuzzer merge with
# -use_counters=0 (edges only, not their hit-count buckets) over the inputs and their own
# prefixes (256, 1024, 4096 bytes). The merge takes inputs smallest first, so a prefix replaces
# its input wherever it covers the same edges. What is dropped is the hit-count diversity
# ("ft" above "cov"), which a new run finds again in seconds.
#
#   fuzz/shrink.sh TARGET MAX_LEN        (run after `cargo fuzz cmin`; one fuzzer process)
set -euo pipefail
t=$1
max_len=$2
cd "$(dirname "$0")"
corpus=corpus/$t
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/prefixes" "$work/merged"
for f in "$corpus"/*; do
    size=$(stat -c %s "$f")
    for len in 256 1024 4096; do
        if [ "$size" -gt "$len" ]; then
            head -c "$len" "$f" > "$work/prefix"
            h=$(sha1sum < "$work/prefix" | cut -c1-40)
            mv "$work/prefix" "$work/prefixes/$h"
        fi
    done
done
RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "$work/merged" "$work/prefixes" "$corpus" -- \
    -merge=1 -use_counters=0 -max_len="$max_len" -rss_limit_mb=2048 -timeout=10
before=$(du -sb "$corpus" | cut -f1)
rm -f "$corpus"/*
cp "$work/merged"/* "$corpus"/
echo "$t: $before -> $(du -sb "$corpus" | cut -f1) bytes, $(ls "$corpus" | wc -l) files"
