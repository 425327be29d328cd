#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests and print the shell lines that point them at it.
#
#   eval "$(.ci/postgres.sh)"        # exports FLOE_TEST_POSTGRES_URL and FLOE_TEST_POSTGRES_DATA
#   .ci/postgres.sh stop DATA_DIR    # stops the server started in DATA_DIR and deletes it
#
# Installs the distribution's `postgresql` package when no server binaries are found (Debian/Ubuntu, as root),
# initialises a data directory under $TMPDIR (as the `postgres` user when run as root: the server refuses to
# run as root), listens on 127.0.0.1 only, on a free port, with trust authentication (the server is private to
# this machine and deleted afterwards), and creates the database `floe_test`.
# Diagnostics go to stderr; stdout carries only the `export` lines, so `eval` is safe.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
      echo "$dir"
    fi
  done | sort -V | tail -n 1
}

as_server_user() {
  if [[ "$(id -u)" == "0" ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [[ "${1:-}" == "stop" ]]; then
  data_dir="${2:?usage: postgres.sh stop DATA_DIR}"
  bindir="$(find_bindir)"
  if [[ -n "$bindir" && -f "$data_dir/PG_VERSION" ]]; then
    as_server_user "$bindir/pg_ctl" -D "$data_dir" -m fast -w stop >&2 || true
  fi
  rm -rf -- "$data_dir"
  exit 0
fi

bindir="$(find_bindir)"
if [[ -z "$bindir" ]]; then
  if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "no PostgreSQL server binaries under /usr/lib/postgresql and cannot install them (needs root and apt-get)"
    exit 1
  fi
  log "installing PostgreSQL from the distribution's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir="$(find_bindir)"
  [[ -n "$bindir" ]] || { log "postgresql installed but no server binaries found"; exit 1; }
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
data_dir="$(mktemp -d "${TMPDIR:-/tmp}/floe-postgres.XXXXXX")"
if [[ "$(id -u)" == "0" ]]; then
  chown postgres: "$data_dir"
fi
as_server_user "$bindir/initdb" -D "$data_dir" -U postgres --auth=trust --encoding=UTF8 --no-sync >/dev/null
as_server_user "$bindir/pg_ctl" -D "$data_dir" -l "$data_dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $data_dir -c fsync=off -c max_connections=200" start >&2 || {
  log "server did not start; its log:"
  cat "$data_dir/server.log" >&2 || true
  exit 1
}
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres floe_test
url="postgresql://postgres@127.0.0.1:$port/floe_test"
log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $data_dir)"
echo "export FLOE_TEST_POSTGRES_URL=$url"
echo "export FLOE_TEST_POSTGRES_DATA=$data_dir"
