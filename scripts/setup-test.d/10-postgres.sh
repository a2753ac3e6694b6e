#!/usr/bin/env bash
# PostgreSQL on 127.0.0.1:5432 with trust auth and a database `test`, for the storage tests.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
if ! command -v pg_ctlcluster >/dev/null; then
  need_apt postgresql postgresql-client
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  say "starting PostgreSQL $ver"
  if [ ! -d "/etc/postgresql/$ver/main" ]; then pg_createcluster "$ver" main >/dev/null; fi
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -Atc 'create database test' >/dev/null 2>&1 \
    || su postgres -c "psql -Atc 'create database test'" >/dev/null
fi
