#!/usr/bin/env bash
# A private PostgreSQL cluster for this checkout's tests and development.
#
#   scripts/pg-cluster.sh start     start it (creating it on first use); idempotent
#   scripts/pg-cluster.sh stop      stop it (fast shutdown); the data stays
#   scripts/pg-cluster.sh status    running or not, where, which port (exit 3 when stopped)
#   scripts/pg-cluster.sh url       the URL to give CLASSLEDGER_DATABASE_URL / the tests
#   scripts/pg-cluster.sh destroy   stop it and delete its data directory
#
# Environment:
#   CLASSLEDGER_PGPORT   TCP port (127.0.0.1 only). Unset: 55432, or when that port is taken
#                        (another checkout's cluster) the first free port in 55433..55531.
#                        Set: exactly that port, an error when it is taken.
#   CLASSLEDGER_PGDATA   data directory. Default <repo>/.pgdata, or
#                        /tmp/classledger-pg-<hash of the repo path> when the server's user
#                        cannot reach the repo (e.g. a checkout under /root).
#   CLASSLEDGER_PG_FAST  1 = fsync, synchronous_commit and full_page_writes off (quicker
#                        tests, no crash safety). Applied at start; the default keeps
#                        PostgreSQL's durable settings, which benchmarks must measure.
#
# The cluster listens on 127.0.0.1 only (its Unix socket lives in the data directory) and
# trusts every local connection: a throwaway cluster, never a production one. Role and
# database `classledger` (a superuser, so tests can create databases). The server binaries
# are found with pg_config, in /usr/lib/postgresql/*/bin or on PATH; when missing and we
# are root, `start` installs them with apt-get. PostgreSQL refuses to run as root, so as
# root the cluster runs as the `postgres` system user (or a dedicated `classledger-pg`).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-status}
default_port=55432
me=pg-cluster

say() { echo "$me: $*" >&2; }
die() { say "$*"; exit 1; }

find_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  fi
  while read -r d; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
  if command -v initdb >/dev/null 2>&1; then
    d=$(dirname "$(command -v initdb)")
    if [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  fi
  return 1
}

install_server() {
  if [ "$(id -u)" -ne 0 ]; then
    die "PostgreSQL server binaries (initdb, postgres) not found, and not root to install them: install the 'postgresql' package (Debian/Ubuntu: sudo apt-get install postgresql), or put its bin directory on PATH"
  fi
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL server not found and no apt-get to install it"
  say "PostgreSQL server not found: installing it with apt-get"
  # Debian's package would also create and start a 'main' cluster on port 5432 that
  # nobody uses; ask postgresql-common not to (only when nobody configured otherwise).
  if [ ! -e /etc/postgresql-common/createcluster.d/classledger.conf ] \
     && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/classledger.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq postgresql >&2 </dev/null || die "apt-get install postgresql failed"
}

# The user the server runs as: ourselves, or when root a system user.
server_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  if ! id classledger-pg >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin classledger-pg >&2 \
      || die "could not create the system user classledger-pg"
  fi
  echo classledger-pg
}

as_user() {
  # from / : the caller's directory (e.g. /root) may be closed to the server's user
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u "$user" -- "$@"); else "$@"; fi
}

can_reach() {  # can the server's user traverse to (and into) directory $1?
  if [ "$(id -u)" -ne 0 ]; then test -x "$1"; else (cd / && runuser -u "$user" -- test -x "$1") 2>/dev/null; fi
}

choose_data_dir() {
  fallback=""
  if [ -n "${CLASSLEDGER_PGDATA:-}" ]; then
    case $CLASSLEDGER_PGDATA in
      /*) data=$CLASSLEDGER_PGDATA ;;
      *) data=$PWD/$CLASSLEDGER_PGDATA ;;
    esac
    data=${data%/}
  elif [ -z "$user" ] || can_reach "$repo"; then
    data=$repo/.pgdata
  else
    data=/tmp/classledger-pg-$(printf '%s' "$repo" | sha256sum | cut -c1-12)
    fallback="(the repository is not reachable by user '$user', so the data lives under /tmp)"
  fi
}

pid_port() {  # the port in the running server's postmaster.pid (4th line)
  sed -n 4p "$data/postmaster.pid" 2>/dev/null || true
}

running() {
  [ -n "$bindir" ] && [ -f "$data/postmaster.pid" ] && as_user "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

port_taken() {  # does anything accept TCP connections on 127.0.0.1:$1?
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

choose_port() {
  if [ -n "${CLASSLEDGER_PGPORT:-}" ]; then
    port=$CLASSLEDGER_PGPORT
    case $port in ''|*[!0-9]*) die "CLASSLEDGER_PGPORT must be a port number, not '$port'" ;; esac
    if port_taken "$port"; then
      die "port $port on 127.0.0.1 is already taken (another checkout's cluster?); choose another with CLASSLEDGER_PGPORT=..."
    fi
    return
  fi
  local p
  for p in $(seq "$default_port" $((default_port + 99))); do
    if ! port_taken "$p"; then
      port=$p
      [ "$p" = "$default_port" ] || say "port $default_port is taken (another checkout's cluster?): using $p; set CLASSLEDGER_PGPORT to choose"
      return
    fi
  done
  die "no free port in $default_port..$((default_port + 99)); set CLASSLEDGER_PGPORT"
}

current_port() {  # the running cluster's port, else the one it would be asked for
  local p
  if running; then p=$(pid_port); [ -n "$p" ] && { echo "$p"; return; }; fi
  echo "${CLASSLEDGER_PGPORT:-$default_port}"
}

url_for() { echo "postgresql://classledger:classledger@127.0.0.1:$1/classledger"; }

log_tail() {
  if [ -f "$data/server.log" ]; then
    say "the end of the server log ($data/server.log):"
    tail -n 40 "$data/server.log" >&2 || true
  fi
}

init_cluster() {
  say "creating a new cluster in $data"
  mkdir -p "$data"
  if [ "$(id -u)" -eq 0 ]; then chown "$user:" "$data"; fi
  chmod 700 "$data"
  can_reach "$data" || die "user '$user' cannot reach $data: choose another CLASSLEDGER_PGDATA"
  local out
  if ! out=$(as_user "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 2>&1); then
    # a system without the C.UTF-8 locale: byte-order collation, same as SQLite's
    out=$(as_user "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C 2>&1) \
      || { echo "$out" >&2; die "initdb failed"; }
  fi
  # A Unix socket path is limited to ~107 bytes; past that, TCP only.
  local sockdir=$data
  if [ $(( ${#data} + 17 )) -gt 100 ]; then
    sockdir=""
    say "the data directory path is too long for a Unix socket: TCP (127.0.0.1) only"
  fi
  sockdir=${sockdir//\'/\'\'}  # quoted for postgresql.conf
  # The port and the fast settings are given at every start (see below), not here.
  as_user tee -a "$data/postgresql.conf" >/dev/null <<EOF

# --- classledger: a private throwaway cluster (scripts/pg-cluster.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '${sockdir}'
max_connections = 300
EOF
}

start_cluster() {
  if [ ! -f "$data/PG_VERSION" ]; then init_cluster; fi
  choose_port
  local opts="-p $port"
  if [ "${CLASSLEDGER_PG_FAST:-0}" = 1 ]; then
    opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    say "CLASSLEDGER_PG_FAST=1: fsync, synchronous_commit and full_page_writes are off"
  fi
  # 9>&- : the server must not inherit (and so hold forever) the lock of `locked`
  if ! as_user "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -o "$opts" -w -t 60 start >/dev/null 9>&-; then
    say "PostgreSQL did not start (waited up to 60 s)"
    log_tail
    exit 1
  fi
}

wait_ready() {
  local i
  for i in $(seq 1 60); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 1; then return 0; fi
    [ "$i" -eq 60 ] || sleep 1
  done
  say "PostgreSQL on 127.0.0.1:$port did not answer pg_isready within 60 s"
  log_tail
  exit 1
}

ensure_role_and_db() {
  local psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres)
  if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'classledger'")" != 1 ]; then
    "${psql[@]}" -c "CREATE ROLE classledger LOGIN SUPERUSER PASSWORD 'classledger'" >/dev/null
  fi
  if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'classledger'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE classledger OWNER classledger" >/dev/null
  fi
}

locked() {  # run "$@" holding a lock on this data directory (two `start`s at once)
  local lock
  lock=/tmp/classledger-pg-$(printf '%s' "$data" | sha256sum | cut -c1-12).lock
  if command -v flock >/dev/null 2>&1 && { : >>"$lock"; } 2>/dev/null; then
    (
      flock -w 120 9 || die "could not lock $lock within 120 s"
      "$@"
    ) 9>>"$lock"
  else
    "$@"
  fi
}

do_start() {
  if running; then
    port=$(pid_port)
    if [ -n "${CLASSLEDGER_PGPORT:-}" ] && [ "$CLASSLEDGER_PGPORT" != "$port" ]; then
      die "the cluster in $data is already running on port $port, not $CLASSLEDGER_PGPORT: stop it first (scripts/pg-cluster.sh stop)"
    fi
  else
    start_cluster
  fi
  wait_ready
  ensure_role_and_db
  say "running on 127.0.0.1:$port (data: $data)${fallback:+ $fallback}"
}

do_stop() {
  if running; then
    as_user "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    say "stopped (data: $data)"
  fi
}

case "$action" in
  start|stop|status|url|destroy) ;;
  -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 start|stop|status|url|destroy" >&2; exit 2 ;;
esac

bindir=$(find_bindir || true)
if [ -z "$bindir" ] && [ "$action" = start ]; then
  install_server
  bindir=$(find_bindir) || die "PostgreSQL server still not found after installing it"
fi
user=""  # stays empty only as root without a server (status/url/stop/destroy: nothing runs)
if [ "$(id -u)" -ne 0 ] || [ -n "$bindir" ]; then
  user=$(server_user)
elif id postgres >/dev/null 2>&1; then
  user=postgres
fi
choose_data_dir

case "$action" in
  start)
    locked do_start
    ;;
  stop)
    locked do_stop
    ;;
  status)
    if running; then
      p=$(pid_port)
      echo "running on 127.0.0.1:$p as user $user"
      echo "data: $data${fallback:+ $fallback}"
      echo "url:  $(url_for "$p")"
      echo "fsync: $("$bindir/psql" -X -tA -h 127.0.0.1 -p "$p" -U postgres -d postgres -c 'SHOW fsync' 2>/dev/null || echo '?')"
    else
      echo "stopped"
      echo "data: $data${fallback:+ $fallback}$([ -f "$data/PG_VERSION" ] || echo ' (not created yet)')"
      [ -n "$bindir" ] || echo "server binaries: not installed (start installs them when root)"
      exit 3
    fi
    ;;
  url)
    url_for "$(current_port)"
    ;;
  destroy)
    locked do_stop
    if [ -f "$data/PG_VERSION" ]; then
      rm -rf "$data"
      say "deleted $data"
    elif [ -e "$data" ] && [ -n "$(ls -A "$data" 2>/dev/null)" ]; then
      die "$data does not look like a PostgreSQL data directory: not deleting it"
    else
      rm -rf "$data"
    fi
    ;;
esac
