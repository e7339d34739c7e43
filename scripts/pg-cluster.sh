#!/usr/bin/env bash
# A private PostgreSQL cluster for this checkout's tests and development.
#   scripts/pg-cluster.sh start|stop|status|url
# Listens only on 127.0.0.1:${CLASSLEDGER_PGPORT:-55432}; data in ${CLASSLEDGER_PGDATA:-<repo>/.pgdata}
# (or under /tmp when the repo is not reachable by the server's user). Installs the server
# with apt-get when it is missing and we are root. PostgreSQL refuses to run as root, so as
# root the cluster runs as the 'postgres' system user (or a dedicated one).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
port=${CLASSLEDGER_PGPORT:-55432}
action=${1:-status}

find_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return; }
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return; }
  done
  d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")
  [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return; }
  return 1
}

ensure_server() {
  if bindir=$(find_bindir); then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "pg-cluster: PostgreSQL server binaries not found and not root: install the 'postgresql' package" >&2
    exit 1
  fi
  echo "pg-cluster: installing PostgreSQL server (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql postgresql-client >&2
  bindir=$(find_bindir) || { echo "pg-cluster: PostgreSQL still not found after install" >&2; exit 1; }
}

server_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  id classledger-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin classledger-pg
  echo classledger-pg
}

as_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

data_dir() {
  if [ -n "${CLASSLEDGER_PGDATA:-}" ]; then echo "$CLASSLEDGER_PGDATA"; return; fi
  if [ "$(id -u)" -ne 0 ] || runuser -u "$user" -- test -x "$repo" 2>/dev/null; then
    echo "$repo/.pgdata"
  else
    echo "/tmp/classledger-pg-$(printf '%s' "$repo" | sha1sum | cut -c1-12)"
  fi
}

url() { echo "postgresql://classledger:classledger@127.0.0.1:${port}/classledger"; }

running() { [ -f "$data/postmaster.pid" ] && as_user "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }

ensure_server
user=$(server_user)
data=$(data_dir)

case "$action" in
  start)
    if ! running; then
      if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data"
        [ "$(id -u)" -eq 0 ] && chown "$user" "$data"
        chmod 700 "$data"
        as_user "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null \
          || as_user "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 >/dev/null
        {
          echo "listen_addresses = '127.0.0.1'"
          echo "port = ${port}"
          echo "unix_socket_directories = '${data}'"
          echo "max_connections = 300"
          if [ "${CLASSLEDGER_PG_FAST:-0}" = 1 ]; then
            echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
          fi
        } >> "$data/postgresql.conf"
      fi
      if ! as_user "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null; then
        echo "pg-cluster: PostgreSQL did not start; the end of its log:" >&2
        tail -n 30 "$data/server.log" >&2 || true
        exit 1
      fi
    fi
    for _ in $(seq 1 60); do
      "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" && break
      sleep 1
    done
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" || { echo "pg-cluster: server not ready" >&2; tail -n 30 "$data/server.log" >&2; exit 1; }
    psql=("$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)
    "${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname='classledger'" | grep -q 1 \
      || "${psql[@]}" -c "CREATE ROLE classledger LOGIN SUPERUSER PASSWORD 'classledger'"
    "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname='classledger'" | grep -q 1 \
      || "${psql[@]}" -c "CREATE DATABASE classledger OWNER classledger"
    echo "pg-cluster: running on 127.0.0.1:${port} (data: ${data})" >&2
    ;;
  stop)
    if running; then as_user "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null; fi
    ;;
  status)
    if running; then echo "running on 127.0.0.1:${port}, data ${data}, url $(url)"; else echo "stopped (data ${data})"; exit 3; fi
    ;;
  url)
    url
    ;;
  *)
    echo "usage: $0 start|stop|status|url" >&2; exit 2
    ;;
esac
