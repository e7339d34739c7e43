#!/usr/bin/env bash
# Run a command with this checkout's private PostgreSQL cluster started and its URL
# exported as CLASSLEDGER_TEST_POSTGRES_URL (the tests then run on SQLite and PostgreSQL):
#
#   scripts/with-postgres.sh .venv/bin/pytest -q
#
# Exits with the command's status. The cluster stays up afterwards, so re-runs are quick:
# `scripts/pg-cluster.sh stop` stops it. Port and data directory: see scripts/pg-cluster.sh
# (CLASSLEDGER_PGPORT, CLASSLEDGER_PGDATA, CLASSLEDGER_PG_FAST).
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/pg-cluster.sh" start
CLASSLEDGER_TEST_POSTGRES_URL=$(bash "$here/pg-cluster.sh" url)
export CLASSLEDGER_TEST_POSTGRES_URL
echo "with-postgres: CLASSLEDGER_TEST_POSTGRES_URL=$CLASSLEDGER_TEST_POSTGRES_URL" >&2
exec "$@"
