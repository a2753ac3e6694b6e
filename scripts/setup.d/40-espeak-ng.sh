#!/usr/bin/env bash
# espeak-ng: phonemes for the Piper TTS voices and the fallback voice for languages without
# one (libespeak-ng-dev to link, espeak-ng-data for the language rules).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_apt libespeak-ng-dev espeak-ng-data
