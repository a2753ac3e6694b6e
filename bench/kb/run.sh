#!/usr/bin/env bash
# Knowledge-base search latency (p50/p99) and indexing throughput with the real embedding model,
# at 1k and 50k passages (or the counts given), on SQLite and, when VAARTA_TEST_DATABASE_URL is
# set, PostgreSQL. Usage: bench/kb/run.sh [PASSAGES...]
set -euo pipefail
cd "$(dirname "$0")/../.."
export VAARTA_MODELS_DIR="${VAARTA_MODELS_DIR:-$PWD/models}"
cargo bench -q -p vaarta-orchestrator --bench kb -- "$@"
