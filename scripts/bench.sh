#!/usr/bin/env bash
# Run every `upsync bench` scenario of issue 10 in release and print one JSON line each
# (each line carries the 1-minute load average it ran under).
#
#   scripts/bench.sh                 # all scenarios, default sizes
#   scripts/bench.sh throughput quota  # some
#   STATE_JOBS=200000 scripts/bench.sh state   # smaller ledger (1,000,000 needs ~12 GB disk)
#
# `throughput` runs the simulators in a child process (`upsync_*` figures are the daemon's,
# `sim_*` the simulators'); figures of the other in-process scenarios include the
# simulators (same process); `frugal` measures the daemon binary alone. Logs go to stderr
# at warn level.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=target/release/upsync
export UPSYNC_LOG="${UPSYNC_LOG:-warn}"
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  scenarios=(mapping throughput quota latency frugal history state)
fi
for s in "${scenarios[@]}"; do
  case "$s" in
    throughput)
      # NetSuite alone with labels kept in the ledger only: what upsync itself can carry.
      "$BIN" bench --scenario throughput --shipments "${THROUGHPUT_SHIPMENTS:-5000}" --concurrency 64 --mix netsuite --label-sink none
      # Acumatica: bound by the licence's 2 concurrent requests (6.4 ERP requests a shipment).
      "$BIN" bench --scenario throughput --shipments "${THROUGHPUT_SHIPMENTS:-5000}" --concurrency 64 --mix acumatica --label-sink none
      # Both ERPs with a label file per package, as the bundled config does.
      "$BIN" bench --scenario throughput --shipments "${THROUGHPUT_SHIPMENTS:-5000}" --concurrency 64 --mix both --label-sink directory ;;
    quota)      "$BIN" bench --scenario quota --quota "${QUOTA:-40}" --shipments "${QUOTA_SHIPMENTS:-600}" --concurrency 32 ;;
    latency)    "$BIN" bench --scenario latency --seconds "${LATENCY_SECONDS:-60}" --rate 10 ;;
    frugal)     "$BIN" bench --scenario frugal --seconds "${FRUGAL_SECONDS:-60}" --token-ttl "${FRUGAL_TOKEN_TTL:-10}" ;;
    history)    "$BIN" bench --scenario history --shipments 10000 ;;
    state)      "$BIN" bench --scenario state --shipments "${STATE_JOBS:-1000000}" ;;
    mapping)    "$BIN" bench --scenario mapping --shipments 2000 ;;
    *) echo "unknown scenario: $s" >&2; exit 2 ;;
  esac
done
