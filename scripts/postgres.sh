#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for evalgate's shared store: tests, benchmarks, trying it out.
#
#   scripts/postgres.sh start DIR [PORT]   # initdb DIR (if new), start, print the store URL
#   scripts/postgres.sh stop DIR
#   scripts/postgres.sh remove DIR         # stop, then delete the cluster
#
# Runs the server as a non-root user (PostgreSQL refuses root): the caller, or `nobody` when
# the caller is root. Listens on 127.0.0.1 only, trusts local connections (a throwaway
# cluster, never a shared one), and creates the database `evalgate`. Needs PostgreSQL's
# server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin.
set -euo pipefail
action="${1:?usage: postgres.sh start|stop DIR [PORT]}"
dir="${2:?usage: postgres.sh start|stop DIR [PORT]}"
port="${3:-}"

bin=""
if ! command -v pg_ctl >/dev/null 2>&1; then
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$bin" ] || { echo "postgres.sh: no PostgreSQL server binaries (initdb, pg_ctl) found" >&2; exit 2; }
  PATH="$bin:$PATH"
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

# The cluster's own folder, which its (non-root) owner must be able to reach: DIR/data, or —
# when running as root, whose folders `nobody` may not enter — a folder in /tmp that DIR names.
mkdir -p "$dir"
if [ "$(id -u)" -eq 0 ]; then
  [ -s "$dir/cluster" ] || mktemp -d /tmp/evalgate-pg.XXXXXX >"$dir/cluster"
  data="$(cat "$dir/cluster")"
  chown nobody "$data"
else
  data="$dir/data"
fi

case "$action" in
  start)
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner initdb -D "$data" -U evalgate --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if [ -z "$port" ]; then
      port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    fi
    as_owner pg_ctl -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $data -c fsync=off -c max_connections=200" start >/dev/null \
      || { cat "$data/server.log" >&2; exit 1; }
    as_owner psql -h 127.0.0.1 -p "$port" -U evalgate -d postgres -qtA \
      -c "SELECT 1 FROM pg_database WHERE datname = 'evalgate'" | grep -q 1 \
      || as_owner createdb -h 127.0.0.1 -p "$port" -U evalgate evalgate
    echo "postgresql://evalgate@127.0.0.1:$port/evalgate"
    ;;
  stop)
    as_owner pg_ctl -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  remove)
    as_owner pg_ctl -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$data" "$dir/cluster"
    ;;
  *)
    echo "usage: postgres.sh start|stop|remove DIR [PORT]" >&2
    exit 2
    ;;
esac
