#!/usr/bin/env bash
# Run a command with the private PostgreSQL cluster started and its URL exported as
# CLASSLEDGER_TEST_POSTGRES_URL (the tests then run on SQLite and PostgreSQL).
# The cluster stays up for fast re-runs: scripts/pg-cluster.sh stop stops it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/pg-cluster.sh" start
CLASSLEDGER_TEST_POSTGRES_URL=$(bash "$here/pg-cluster.sh" url)
export CLASSLEDGER_TEST_POSTGRES_URL
exec "$@"
