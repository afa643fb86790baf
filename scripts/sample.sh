#!/usr/bin/env bash
# Builds tcheck and analyses the bundled sample capture, writing Zeek-style logs and EVE
# JSON next to it in ./sample-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked
mkdir -p sample-output
./target/release/tcheck analyze fixtures/sample/sample.pcap \
  --iocs fixtures/sample/indicators.txt \
  --report sample-output/report.json --report sample-output/report.html \
  --logs sample-output/logs --eve sample-output/eve.json
echo
echo "Report in sample-output/report.html and .json, logs in sample-output/logs/, EVE in sample-output/eve.json"
