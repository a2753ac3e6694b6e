#!/usr/bin/env bash
# STT tests and bench: espeak-ng + sox make test speech; faster-whisper (same CT2 models)
# is the reference the converter and the benchmark are compared against.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_apt espeak-ng sox
need_pip faster-whisper==1.2.1
