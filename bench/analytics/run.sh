#!/usr/bin/env bash
# Analytics summary and timeline latency (p50/p99) over 1,000,000 calls of one site (plus two
# noise sites of 100,000), on SQLite and, when VAARTA_TEST_DATABASE_URL is set, PostgreSQL.
# Built like the service (`make run`): the release (bench) profile.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -q -p vaarta-orchestrator --bench analytics -- "$@"
