#!/usr/bin/env bash
# Test recordings for the file decoding / transcription tests: sox writes WAV (PCM, µ-law,
# A-law, float), FLAC and OGG/Vorbis; lame writes MP3; ffmpeg writes M4A/AAC (no other
# Debian package encodes AAC).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_apt espeak-ng sox libsox-fmt-base lame ffmpeg
