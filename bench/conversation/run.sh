#!/usr/bin/env bash
# Conversations as callers hear them: the release `vaarta serve` on loopback (SQLite, KB-only
# brain over the FAQ below, the shipped `assistant` flow), then N concurrent pjsua2 softphones
# per round asking staggered questions; harness.py judges each caller's recording with
# faster-whisper. Prints one table row per N, with the machine's load.
#   bench/conversation/run.sh [N...]      default: 1 5 10
#   VAARTA_BENCH_BRAIN_DELAY_MS=200 ...   an HTTP brain that takes this long to its first token
#   VAARTA_BENCH_PROFILE=dev ...          use the dev build (target/debug; dependencies optimised)
#   VAARTA_BENCH_CONFIG_EXTRA=$'[speech.stt]\naudio_ctx = { mode = "full" }' ...  more vaarta.toml
#   VAARTA_BENCH_CALLER_VOICE=espeak ...  callers speak with espeak-ng (robotic; default: Piper)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
rounds=("${@:-1 5 10}")
read -r -a rounds <<<"${rounds[*]}"
export VAARTA_MODELS_DIR="${VAARTA_MODELS_DIR:-$root/models}"
py="$root/.venv/bin/python"
profile="${VAARTA_BENCH_PROFILE:-release}"
if [ "$profile" = release ]; then bin=target/release/vaarta; else bin=target/debug/vaarta; fi
cargo build -q --profile "$profile" --bin vaarta
work=$(mktemp -d)
# The server's log of the last run stays in /tmp/vaarta-conversation-bench.log, each round's
# per-call report (what each caller heard, when) in /tmp/vaarta-conversation-bench/n<N>.json.
keep=/tmp/vaarta-conversation-bench
trap 'kill "${server:-}" "${brain:-}" 2>/dev/null || true; cp "$work/server.log" "$keep.log" 2>/dev/null; rm -rf "$keep"; mkdir -p "$keep"; cp "$work"/n*.json "$keep"/ 2>/dev/null; rm -rf "$work"' EXIT
port() { "$py" -c 'import socket,sys; s=socket.socket(socket.AF_INET, getattr(socket, sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }
http=$(port SOCK_STREAM); sip=$(port SOCK_DGRAM)
admin=bench-admin-token
cat >"$work/vaarta.toml" <<EOF
[http]
bind = "127.0.0.1:$http"
[database]
url = "sqlite://$work/vaarta.db"
[auth]
admin_token = "$admin"
[models]
dir = "$VAARTA_MODELS_DIR"
[voice]
recordings_dir = "$work/recordings"
[telephony]
bind = "127.0.0.1:$sip"
rtp_port_min = 46000
rtp_port_max = 46400
${VAARTA_BENCH_CONFIG_EXTRA:-}
EOF
RUST_LOG="${RUST_LOG:-info}" "./$bin" --config "$work/vaarta.toml" serve 2>"$work/server.log" &
server=$!
for _ in $(seq 1 300); do
  grep -q "SIP user agent listening" "$work/server.log" 2>/dev/null && break
  sleep 0.2
done
api() { curl -sf -X "$1" "127.0.0.1:$http$2" -H "Authorization: Bearer $3" -H 'content-type: application/json' ${4:+-d "$4"}; }
settings='{"languages": ["en-IN"]}'
if [ -n "${VAARTA_BENCH_BRAIN_DELAY_MS:-}" ]; then
  bport=$(port SOCK_STREAM)
  "$py" "$root/bench/conversation/brain.py" --port "$bport" --delay-ms "$VAARTA_BENCH_BRAIN_DELAY_MS" &
  brain=$!
  settings="{\"languages\": [\"en-IN\"], \"brain\": {\"kind\": \"http\", \"url\": \"http://127.0.0.1:$bport/answer\"}}"
fi
site=$(api POST /v1/sites "$admin" "{\"name\": \"Bench\", \"settings\": $settings}" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["site_id"])')
key=$(api POST "/v1/sites/$site/keys" "$admin" '{"label": "bench"}' | "$py" -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
faq=$("$py" -c 'import json; print(json.dumps({"title": "FAQ", "type": "faq_csv", "content": open("bench/conversation/faq.csv").read()}))')
api POST "/v1/sites/$site/kb/documents" "$key" "$faq" >/dev/null
api PUT "/v1/sites/$site/routes" "$key" '{"channel": "sip", "number": "+911140000000", "flow": "assistant"}' >/dev/null

echo "$profile build; load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores; brain: ${VAARTA_BENCH_BRAIN_DELAY_MS:+HTTP, ${VAARTA_BENCH_BRAIN_DELAY_MS} ms to first token}${VAARTA_BENCH_BRAIN_DELAY_MS:-KB-only}; caller voice: ${VAARTA_BENCH_CALLER_VOICE:-piper}"
echo "| calls | connected | correct | silent ends | first audio p50 / p95 ms | answer p50 / p95 ms | longest silence ms | load |"
echo "|---|---|---|---|---|---|---|---|"
for n in "${rounds[@]}"; do
  out="$work/n$n"
  "$py" bench/conversation/harness.py --uri "sip:+911140000000@127.0.0.1:$sip" --calls "$n" \
    --out "$out" --model "$VAARTA_MODELS_DIR/whisper/tiny.en" \
    --caller-voice "${VAARTA_BENCH_CALLER_VOICE:-piper}" >"$out.json"
  "$py" - "$out.json" "$(cut -d' ' -f1 /proc/loadavg)" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(f"| {s['calls']} | {s['connected']} | {s['correct']} | {s['silent_ends']} | {s['first_audio_p50_ms']} / {s['first_audio_p95_ms']} | {s['answer_p50_ms']} / {s['answer_p95_ms']} | {s['longest_silence_ms']} | {sys.argv[2]} |")
EOF
  sleep 3
done
echo
echo "Stored per-turn stages (p50 ms over every answer of the run, from the end of the caller's speech):"
"$py" - "$http" "$key" <<'EOF'
import json, sys, urllib.request
http, key = sys.argv[1], sys.argv[2]
def get(path):
    req = urllib.request.Request(f"http://127.0.0.1:{http}{path}", headers={"Authorization": f"Bearer {key}"})
    return json.load(urllib.request.urlopen(req))
stages = ["turn_decision_ms", "stt_final_ms", "brain_first_token_ms", "first_tts_audio_ms", "heard_ms"]
rows = {s: [] for s in stages}
calls = get("/v1/calls?limit=200")
for c in (calls if isinstance(calls, list) else calls.get("calls", [])):
    for t in get(f"/v1/calls/{c['id']}")["transcript"]:
        for s in stages:
            v = (t.get("latency") or {}).get(s)
            if v is not None:
                rows[s].append(v)
print("| " + " | ".join(s.removesuffix("_ms") for s in stages) + " |")
print("|" + "---|" * len(stages))
print("| " + " | ".join(str(sorted(v)[len(v) // 2]) if v else "-" for v in rows.values()) + " |")
EOF
