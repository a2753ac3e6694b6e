#!/usr/bin/env bash
# Test speech for the VAD/TTS tests (espeak-ng command, sox resampling) and piper-tts, the
# peer the TTS bench compares with (same voice file).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_apt espeak-ng sox
need_pip piper-tts==1.8.0
