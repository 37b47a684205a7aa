#!/usr/bin/env bash
# A throwaway PostgreSQL cluster from Debian's binaries, for CI and the tests:
#   scripts/pg.sh init DIR          initdb (trust auth, user postgres)
#   scripts/pg.sh start DIR PORT    pg_ctl start on 127.0.0.1:PORT, waits until it accepts connections
#   scripts/pg.sh stop DIR          pg_ctl stop -m fast
# Run as root it runs the server as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$BIN/initdb" ] || { echo "pg.sh: no PostgreSQL binaries (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi }
case "${1:-}" in
  init)
    mkdir -p "$2"
    [ "$(id -u)" = 0 ] && chown postgres "$2"
    as_pg "$BIN/initdb" -D "$2" -A trust -U postgres --locale=C.UTF-8 >/dev/null ;;
  start)
    # fsync off: a throwaway cluster; max_connections for a suite that opens a pool per test app.
    as_pg "$BIN/pg_ctl" -D "$2" -l "$2/server.log" -w -t 30 \
      -o "-p $3 -k $2 -c listen_addresses=127.0.0.1 -c max_connections=1000 -c fsync=off -c synchronous_commit=off" start >/dev/null ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$2" -m fast -w stop >/dev/null ;;
  *)
    echo "usage: $0 init DIR | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
