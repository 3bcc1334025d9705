#!/usr/bin/env bash
# Fuzz every cargo-fuzz target in fuzz/ for a bounded time (default 60 s each).
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Without them, runs
# the stable bounded randomized-input tests (tests/fault/fuzz.rs) for the same budget.
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(suiteql acumatica_codec ups_responses webhook_body)
fi
if cargo +nightly fuzz --version >/dev/null 2>&1; then
  for t in "${targets[@]}"; do
    echo "== fuzz $t for ${secs}s"
    mkdir -p "fuzz/corpus/$t"
    cargo +nightly fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1
  done
else
  echo "cargo-fuzz or nightly missing: running tests/fault/fuzz.rs for ${secs}s per test instead" >&2
  UPSYNC_FUZZ_SECONDS="$secs" cargo test --release --test fault fuzz:: -- --nocapture
fi
