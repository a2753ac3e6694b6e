#!/usr/bin/env bash
# Analytics summary and timeline latency (p50/p99) over 1,000,000 calls of one site (plus two
# noise sites of 100,000), on SQLite and, when VAARTA_TEST_DATABASE_URL is set, PostgreSQL.
# Built with the dev profile (dependencies, SQLite included, are optimised at opt-level 2; the
# time is spent in the database). Usage: bench/analytics/run.sh [CALLS]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -q --profile dev -p vaarta-orchestrator --bench analytics -- "$@"
