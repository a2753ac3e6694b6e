#!/usr/bin/env bash
# Concurrent-call benchmark for vaarta-telephony: Vaarta's own UAC dials N calls into a Vaarta
# server on loopback, both sides stream 20 ms G.711 RTP; the server reports its CPU and memory
# per call, the jitter of its send intervals and lost packets. Usage: bench/telephony/run.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${SECS:-20}
NS=("$@"); [ ${#NS[@]} -eq 0 ] && NS=(15 100 200)
cargo build -q --release -p vaarta-telephony --example load
BIN="${CARGO_TARGET_DIR:-target}/release/examples/load"
printf '| %5s | %9s | %12s | %14s | %12s | %12s | %10s | %14s |\n' calls "CPU total" "CPU per call" "RSS per call" "jitter p50" "jitter p99" "lost" "recv/expected"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ------- ----------- -------------- ---------------- -------------- -------------- ------------ ----------------
for n in "${NS[@]}"; do
  port=$((15060 + RANDOM % 1000))
  out=$(mktemp)
  "$BIN" server "127.0.0.1:$port" "$n" "$SECS" >"$out" &
  srv=$!
  sleep 0.5
  "$BIN" client "127.0.0.1:$port" "$n" >/dev/null &
  cli=$!
  wait "$srv"
  wait "$cli" || true
  python3 - "$out" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print("| %5d | %8.1f%% | %11.2f%% | %10.0f KiB | %9.2f ms | %9.2f ms | %10d | %14s |" % (
    r["calls"], r["cpu_pct_total"], r["cpu_pct_per_call"], r["rss_kib_per_call"],
    r["jitter_p50_us"] / 1000, r["jitter_p99_us"] / 1000, r["lost"], "%d/%d" % (r["received"], r["expected"])))
PY
  rm -f "$out"
done
