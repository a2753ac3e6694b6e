#!/usr/bin/env bash
# SIP interop peers for the telephony tests: baresip (Debian), pjsua2 (PyPI pjsua2-python),
# and sox + espeak-ng to make test speech.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_apt baresip-core sox espeak-ng
need_pip pjsua2-python==2.15.1.post1
