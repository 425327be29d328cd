#!/usr/bin/env bash
# Start a throwaway Redis server (the Celery broker and result backend of the Celery tests) and print the shell
# lines that point the tests at it.
#
#   eval "$(.ci/redis.sh)"        # exports FLOE_TEST_REDIS_URL and FLOE_TEST_REDIS_DIR
#   .ci/redis.sh stop DIR         # stops the server started in DIR and deletes it
#
# Installs the distribution's `redis-server` package when no server binary is found (Debian/Ubuntu, as root),
# runs it in a directory under $TMPDIR, listening on 127.0.0.1 only, on a free port, without persistence (the
# server is private to this machine and deleted afterwards).
# Diagnostics go to stderr; stdout carries only the `export` lines, so `eval` is safe.
set -euo pipefail

log() { echo "redis.sh: $*" >&2; }

if [[ "${1:-}" == "stop" ]]; then
  dir="${2:?usage: redis.sh stop DIR}"
  if [[ -f "$dir/redis.pid" ]]; then
    pid="$(cat "$dir/redis.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -rf -- "$dir"
  exit 0
fi

server="$(command -v redis-server || true)"
if [[ -z "$server" ]]; then
  if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "no redis-server and cannot install it (needs root and apt-get)"
    exit 1
  fi
  log "installing redis-server from the distribution's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends redis-server >&2
  server="$(command -v redis-server || true)"
  [[ -n "$server" ]] || { log "redis-server installed but not found on PATH"; exit 1; }
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
dir="$(mktemp -d "${TMPDIR:-/tmp}/floe-redis.XXXXXX")"
"$server" --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
for _ in $(seq 1 100); do
  if python3 - "$port" <<'PY' 2>/dev/null; then break; fi
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
    s.sendall(b"PING\r\n")
    assert s.recv(16).startswith(b"+PONG")
PY
  sleep 0.1
done
log "Redis $("$server" --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$port (data in $dir)"
echo "export FLOE_TEST_REDIS_URL=redis://127.0.0.1:$port/0"
echo "export FLOE_TEST_REDIS_DIR=$dir"
