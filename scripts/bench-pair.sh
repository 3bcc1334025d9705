#!/usr/bin/env bash
# Compare two upsync builds on the throughput bench, in interleaved pairs.
#
#   scripts/bench-pair.sh BEFORE_BIN AFTER_BIN [MIX] [PAIRS] [-- extra bench args]
#   scripts/bench-pair.sh /tmp/upsync-main target/release/upsync netsuite 3
#   scripts/bench-pair.sh /tmp/a /tmp/b acumatica 2 -- --acumatica-set sessions=2
#
# This machine's speed drifts by up to half within minutes (docs/performance.md, session
# 11), so one run of each build says little: the runs alternate (before, after, before, …)
# and the script prints each pair and the median of each side. CPU per shipment is the
# daemon's (`upsync_cpu_ms_per_shipment`); a change under about 5 % needs more pairs, or a
# figure that does not drift (`store_writes_per_shipment`, `erp_requests_per_shipment`).
# Work directories go to a tmpfs when there is one (`/dev/shm`), as in the documented
# figures. Needs jq.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,14p' "$0" >&2
  exit 64
fi
before=$1 after=$2
mix=${3:-both}
pairs=${4:-3}
shift $(($# < 4 ? $# : 4))
[ "${1:-}" = "--" ] && shift
command -v jq >/dev/null || { echo "bench-pair: needs jq" >&2; exit 69; }
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/upsync-bench-pair.XXXXXX")
trap 'rm -rf "$work"' EXIT

fields='[.shipments_per_second, .upsync_cpu_ms_per_shipment, .upsync_peak_rss_mb, .erp_requests_per_shipment, .duplicates, .lost, .load_average]'
run() { # BIN OUT [extra]: one bench run, its JSON line in OUT
  local bin=$1 out=$2 dir="$work/run"
  shift 2
  rm -rf "$dir"
  mkdir -p "$dir"
  UPSYNC_LOG=error TMPDIR="$dir" "$bin" bench --scenario throughput --shipments "${SHIPMENTS:-5000}" \
    --mix "$mix" "$@" >"$out.all" 2>"$out.err" || { echo "bench-pair: $bin failed:" >&2; tail -5 "$out.err" >&2; exit 1; }
  grep '^{' "$out.all" | tail -1 >"$out"
}
echo "mix=$mix pairs=$pairs shipments=${SHIPMENTS:-5000} extra=[$*]"
printf '%-6s %-6s %12s %10s %8s %8s %5s %5s %5s\n' pair build shipments/s cpu_ms rss_mb erp/shp dup lost load
for i in $(seq 1 "$pairs"); do
  for side in before after; do
    bin=$before
    [ "$side" = after ] && bin=$after
    out="$work/$side-$i.json"
    run "$bin" "$out" "$@"
    jq -r --arg i "$i" --arg s "$side" "$fields | [\$i, \$s] + . | @tsv" "$out" |
      awk -F'\t' '{printf "%-6s %-6s %12s %10s %8s %8s %5s %5s %5s\n",$1,$2,$3,$4,$5,$6,$7,$8,$9}'
  done
done
for side in before after; do
  jq -s -r --arg s "$side" '
    def median: sort | (if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end) * 1000 | round / 1000;
    "median \($s): \(map(.shipments_per_second) | median) shipments/s, \(map(.upsync_cpu_ms_per_shipment) | median) ms CPU per shipment, peak RSS \(map(.upsync_peak_rss_mb) | median) MB"' \
    "$work"/"$side"-*.json
done
