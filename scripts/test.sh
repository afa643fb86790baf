#!/usr/bin/env bash
# Runs every test: unit tests, the data-driven and oracle comparisons (Zeek's baselines,
# tshark, Suricata's suricata-verify tests), the fuzz corpus replay, the CLI and determinism
# tests. Built once, in release.
# Needs the shared test material at ../shared (or $TCHECK_SHARED). The access-point tests
# (tests/netns.rs) need root, for network namespaces; without it they say so and pass,
# unless TCHECK_REQUIRE_SYSTEM=1 (CI), where they must run.
set -euo pipefail
cd "$(dirname "$0")/.."
export TCHECK_TEST_PACKAGES=1
source scripts/setup.sh
shared=${TCHECK_SHARED:-../shared}
if [ ! -f "$shared/README.md" ]; then
  echo "test: the shared test material is missing at $shared (set TCHECK_SHARED)" >&2
  exit 1
fi
export TCHECK_SHARED=$(cd "$shared" && pwd)
cargo test --release --locked --workspace -- --test-threads 2
# The Debian package, from the release build the tests made (see install/test-package.sh).
bash install/test-package.sh
# The oracle table, for whoever reads the log.
report=$(ls -t target/tmp/zeek-oracle-report.txt 2>/dev/null | head -1 || true)
if [ -n "$report" ]; then
  grep -v -E '^(DIFF|MISSING|EXTRA) ' "$report"
fi
