#!/usr/bin/env bash
# Alternating A/B of validate, list, ingest and /health between two checkouts (e.g. the last landing and this one):
# the same seeded database copy, one server at a time, a 3 s settle, wrk 8 s per route, and a bare
# Bun.serve hello-world each round. Loopback only, bounded. Needs `bun run bench` once (for the seed).
# Usage: bash bench/ab.sh /path/to/before /path/to/after   (ROUNDS="1 2 3" by default)
# AB_DATABASE_URL=postgres://… runs both on that PostgreSQL database instead (bench/seed-pg.ts seeds it).
set -u
BEFORE=${1:?usage: bench/ab.sh BEFORE_DIR AFTER_DIR}
AFTER=${2:?usage: bench/ab.sh BEFORE_DIR AFTER_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SEED=$HERE/.data/seed-v5.db
TOKEN=$(bun -e "console.log(JSON.parse(require('fs').readFileSync('$HERE/.data/seed-v5.json','utf8')).token)")
WORK=$(mktemp -d)
cat > "$WORK/v.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"token":"$TOKEN"}'
LUA
cat > "$WORK/i.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $TOKEN"
wrk.body = '{"repo":"ingest","branch":"main","coverage":81.2,"baseline":80}'
LUA
rps() { wrk -t1 -c32 -d8s "$@" | awk '/Requests\/sec/ {print $2}'; }
for round in ${ROUNDS:-1 2 3}; do
  for tree in "$BEFORE" "$AFTER"; do
    cp "$SEED" "$WORK/ab.db"; rm -f "$WORK/ab.db-wal" "$WORK/ab.db-shm"
    db=${AB_DATABASE_URL:-$WORK/ab.db}
    (cd "$tree" && DATABASE_URL="$db" PORT=18901 HOST=127.0.0.1 RATE_LIMIT_ADDRESS_PER_MINUTE=10000000 \
      RATE_LIMIT_ENTERPRISE_PER_MINUTE=10000000 exec bun src/index.ts > /dev/null 2>&1) & server=$!
    for _ in $(seq 1 100); do curl -sf 127.0.0.1:18901/health >/dev/null && break; sleep 0.05; done
    sleep 3
    v=$(rps -s "$WORK/v.lua" http://127.0.0.1:18901/v1/auth/validate)
    l=$(rps -H "authorization: Bearer $TOKEN" "http://127.0.0.1:18901/v1/executions?org=bench&repo=r1k&limit=10")
    i=$(rps -s "$WORK/i.lua" http://127.0.0.1:18901/v1/executions)
    h=$(rps http://127.0.0.1:18901/health)
    kill "$server"; wait "$server" 2>/dev/null
    echo "round $round $tree: validate $v list $l ingest $i health $h"
  done
  bun -e "Bun.serve({port:18900,hostname:'127.0.0.1',fetch:()=>new Response('hello')})" & hello=$!
  sleep 0.5
  echo "round $round hello-world: $(rps http://127.0.0.1:18900/)"
  kill "$hello"; wait "$hello" 2>/dev/null
done
rm -rf "$WORK"
