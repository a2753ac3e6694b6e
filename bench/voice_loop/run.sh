#!/usr/bin/env bash
# Per-turn latency of the real-time call loop with real models (Silero VAD, Whisper tiny.en,
# Piper) for 1 and 15 concurrent calls. Usage: bench/voice_loop/run.sh [CALLS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
export VAARTA_MODELS_DIR="${VAARTA_MODELS_DIR:-$PWD/models}"
cargo bench -q -p vaarta-orchestrator --bench voice_loop -- "$@"
