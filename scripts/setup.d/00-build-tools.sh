#!/usr/bin/env bash
# Build tools for the Rust workspace and the C/C++ parts of its dependencies.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need_apt build-essential pkg-config cmake python3-venv curl ca-certificates
command -v cargo >/dev/null || { say "cargo not found: install Rust (rustup) first"; exit 1; }
