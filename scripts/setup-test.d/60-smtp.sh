#!/usr/bin/env bash
# The email tests send through a real SMTP server on loopback: aiosmtpd (PyPI), driven by
# workers/tests/peers/smtp_sink.py.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_pip aiosmtpd==1.4.6
