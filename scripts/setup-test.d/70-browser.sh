#!/usr/bin/env bash
# The widget test drives Debian's chromium headless through npm playwright-core (no browser
# download: it uses /usr/bin/chromium), installed into tests/browser/node_modules.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_apt chromium fonts-dejavu-core
command -v node >/dev/null || need_apt nodejs npm
dir="$VAARTA_ROOT/tests/browser"
if [ ! -d "$dir/node_modules/playwright-core" ]; then
  say "installing playwright-core (npm) into tests/browser"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
