#!/usr/bin/env bash
# The PostgreSQL tests (test/src/store/postgres.test.ts) start a throwaway cluster with Debian's
# initdb and pg_ctl (test/postgres.ts); no server needs to run. Install them when missing.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
ls -d /usr/lib/postgresql/*/bin | tail -n 1
