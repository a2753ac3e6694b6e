#!/usr/bin/env bash
# Audit transcription throughput (audio seconds per wall second) on this CPU: Vaarta's file
# pipeline (`vaarta transcribe`: decode, Silero VAD chunks, whisper.cpp tiny.en per chunk) beside
# faster-whisper (PyPI) on the same CT2 model and the same recording, in one run.
# Needs: scripts/setup --test (espeak-ng, sox, the .venv with faster-whisper), scripts/install-models.
#   bench/audit/run.sh            # ~150 s recording
#   REPEAT=12 bench/audit/run.sh  # longer (30 s per repeat)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
models="${VAARTA_MODELS_DIR:-$root/models}"
repeat="${REPEAT:-5}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
i=0
while IFS= read -r line; do
  [ -n "$line" ] || continue
  espeak-ng -v en-us -s 150 -w "$work/raw$i.wav" "$line"
  sox "$work/raw$i.wav" -r 16000 -c 1 -b 16 "$work/s$i.wav" pad 0.3 3.0
  i=$((i + 1))
done <<'TEXT'
Please call me back tomorrow morning about my order.
I would like to speak with someone from the sales team about a new connection.
My internet connection has been very slow since last week, and nobody has fixed it.
Can you send the invoice to my email address?
The delivery was supposed to arrive on Monday but it still has not come.
TEXT
parts=()
for _ in $(seq "$repeat"); do parts+=("$work"/s*.wav); done
sox "${parts[@]}" "$work/call.wav"
audio_s=$(soxi -D "$work/call.wav")

# whisper.cpp and the dependencies are optimised in every profile (see Cargo.toml), so the dev
# build measures the same hot code; CARGO_PROFILE=release builds the Rust side optimised too.
profile="${CARGO_PROFILE:-dev}"
profile_flag=(); bin_dir=debug
[ "$profile" = release ] && profile_flag=(--release) && bin_dir=release
echo "building vaarta ($profile)..." >&2
cargo build -q "${profile_flag[@]}" --bin vaarta
vaarta="${CARGO_TARGET_DIR:-$root/target}/$bin_dir/vaarta"
cat > "$work/vaarta.toml" <<TOML
[models]
dir = "$models"
TOML
start=$(date +%s.%N)
"$vaarta" --config "$work/vaarta.toml" transcribe "$work/call.wav" --json > "$work/vaarta.json" 2>"$work/vaarta.log"
vaarta_s=$(echo "$(date +%s.%N) - $start" | bc -l)

echo "faster-whisper: same model and audio..." >&2
"$root/.venv/bin/python" - "$models/whisper/tiny.en" "$work/call.wav" > "$work/fw.txt" <<'PY'
import sys, time
from faster_whisper import WhisperModel
model_dir, wav = sys.argv[1], sys.argv[2]
for compute_type in ("int8", "float32"):
    for threads in (1, 2):
        start = time.perf_counter()
        m = WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=threads)
        segs, _ = m.transcribe(wav, beam_size=1, language="en", temperature=0.0,
                               condition_on_previous_text=False, vad_filter=True)
        n = sum(1 for _ in segs)
        print(f"{compute_type} {threads} {time.perf_counter() - start:.2f} {n}")
PY
vaarta_segments=$(python3 -c "import json,sys; print(len(json.load(open('$work/vaarta.json'))['segments']))")
printf '\naudit transcription of a %.0f s mono recording (tiny.en, CPU, %s cores)\n' "$audio_s" "$(nproc)"
printf '%-44s %10s %14s %10s %18s\n' engine wall_s "audio_s/wall_s" segments "ratio vs vaarta"
printf '%-44s %10.2f %14.1f %10s %18s\n' "vaarta transcribe (whisper.cpp, VAD chunks)" "$vaarta_s" "$(echo "$audio_s / $vaarta_s" | bc -l)" "$vaarta_segments" "1.00"
while read -r ct th secs n; do
  printf '%-44s %10.2f %14.1f %10s %18.2f\n' "faster-whisper $ct, $th thread(s), vad_filter" "$secs" "$(echo "$audio_s / $secs" | bc -l)" "$n" "$(echo "$vaarta_s / $secs" | bc -l)"
done < "$work/fw.txt"
echo "(ratio > 1: faster-whisper is faster; both include model load; wall time of the whole file)"
