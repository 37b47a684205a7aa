#!/usr/bin/env bash
# Builds the image with podman (../shared/container: a stand-in oven/bun base, no registry needed) and
# checks it the way a self-hoster uses it: size, non-root, health check, a session, a token, a run, the
# list, a badge, a signed Stripe webhook, Swagger UI assets, data kept in the volume across a restart,
# and a clean stop. Loopback only; bounded in time. Usage: bash bench/container-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=$(cd "${SHARED:-../shared/container}" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$SHARED/containers.conf}
IMAGE=localhost/nolapse-platform:dev
NAME=nolapse-smoke-$$
VOLUME=nolapse-smoke-$$
PORT=${PORT:-18080}
WHSEC=whsec_smoke_0123456789
podman image exists docker.io/oven/bun:1.4.4-slim || "$SHARED/base-image.sh"
"$SHARED/build.sh"
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
echo "image size: $((size / 1000000)) MB ($size bytes)"
[ "$size" -le 250000000 ] || { echo "FAIL: image over 250 MB"; exit 1; }
cleanup() { podman rm -f "$NAME" >/dev/null 2>&1 || true; podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true; }
trap cleanup EXIT
start() {
  podman run -d --name "$NAME" -p "127.0.0.1:$PORT:8080" -v "$VOLUME:/data" -e SERVICE_TOKEN=smoke-service-token \
    -e STRIPE_WEBHOOK_SECRET=$WHSEC -e STRIPE_PRICE_TEAM=price_team -e RAZORPAY_WEBHOOK_SECRET=$WHSEC "$IMAGE" >/dev/null
  for _ in $(seq 1 100); do curl -sf "localhost:$PORT/health" >/dev/null && return 0; sleep 0.1; done
  podman logs "$NAME"; echo "FAIL: no /health"; exit 1
}
check() { if [ "$2" != "$3" ]; then echo "FAIL: $1: expected $3, got $2"; exit 1; fi; echo "ok: $1"; }
start
check "runs as uid 1000" "$(podman exec "$NAME" id -u)" "1000"
# The CLI inside the container works on the server's database (its environment) and says which.
check "CLI inside" "$(podman exec "$NAME" bun run cli org create smoke-cli 2>&1 | grep -c -e '^organisation smoke-cli' -e 'database /data/nolapse.db')" "2"
podman healthcheck run "$NAME" && echo "ok: HEALTHCHECK passes"
session=$(curl -sf "localhost:$PORT/v1/sessions/create" -H 'authorization: Bearer smoke-service-token' -H 'content-type: application/json' -d '{"user_id":"u","org_slug":"smoke"}')
stoken=$(echo "$session" | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).token)')
org=$(echo "$session" | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).org_id)')
secret=$(curl -sf "localhost:$PORT/v1/tokens" -H "authorization: Bearer $stoken" -H 'content-type: application/json' -d '{"name":"ci"}' | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).secret)')
check "run recorded" "$(curl -s -o /dev/null -w '%{http_code}' "localhost:$PORT/v1/executions" -H "authorization: Bearer $secret" -H 'content-type: application/json' -d '{"repo":"services/go-svc","branch":"main","coverage":87}')" "201"
check "badge renders" "$(curl -s "localhost:$PORT/v1/badge/smoke/services/go-svc" | grep -o 'coverage: 87%' | head -1)" "coverage: 87%"
check "swagger assets" "$(curl -s -o /dev/null -w '%{http_code}' "localhost:$PORT/swagger/assets/swagger-ui-bundle.js")" "200"
payload="{\"id\":\"evt_smoke\",\"object\":\"event\",\"type\":\"customer.subscription.updated\",\"created\":$(date +%s),\"data\":{\"object\":{\"id\":\"sub_1\",\"customer\":\"cus_1\",\"status\":\"active\",\"metadata\":{\"org_id\":\"$org\"},\"items\":{\"data\":[{\"price\":{\"id\":\"price_team\"}}]}}}}"
ts=$(date +%s)
sig=$(printf '%s' "$ts.$payload" | openssl dgst -sha256 -hmac "$WHSEC" -hex | sed 's/^.* //')
check "stripe webhook" "$(curl -s "localhost:$PORT/webhooks/stripe" -H "stripe-signature: t=$ts,v1=$sig" -H 'content-type: application/json' --data-raw "$payload")" '{"received":true}'
check "plan changed" "$(curl -s "localhost:$PORT/v1/usage" -H "authorization: Bearer $stoken" | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).plan)')" "team"
rzp="{\"entity\":\"event\",\"event\":\"payment.failed\",\"payload\":{\"payment\":{\"entity\":{\"id\":\"pay_1\",\"notes\":{\"org_id\":\"$org\"}}}},\"created_at\":$(date +%s)}"
rsig=$(printf '%s' "$rzp" | openssl dgst -sha256 -hmac "$WHSEC" -hex | sed 's/^.* //')
check "razorpay webhook" "$(curl -s "localhost:$PORT/webhooks/razorpay" -H "x-razorpay-signature: $rsig" -H 'x-razorpay-event-id: evt_r1' -H 'content-type: application/json' --data-raw "$rzp")" '{"received":true}'
if podman logs "$NAME" 2>&1 | grep -q '"level":"\(warn\|error\)"'; then podman logs "$NAME"; echo "FAIL: warnings or errors in the log"; exit 1; fi
podman stop -t 10 "$NAME" >/dev/null
check "clean stop" "$(podman inspect "$NAME" --format '{{.State.ExitCode}}')" "0"
if podman logs "$NAME" 2>&1 | grep -q "isn't running"; then echo "FAIL: shutdown error in the log"; exit 1; fi
podman rm "$NAME" >/dev/null
start
check "data kept in the volume" "$(curl -s "localhost:$PORT/v1/executions?org=smoke&repo=services/go-svc" -H "authorization: Bearer $secret" | bun -e 'console.log(JSON.parse(await Bun.stdin.text()).total)')" "1"
# A bind mount this user cannot write (owned by root, with -wal/-shm left behind) refuses to start.
ro=$(mktemp -d); chmod 755 "$ro"
DATABASE_URL="$ro/nolapse.db" bun src/cli/index.ts migrate >/dev/null
cp /dev/null "$ro/nolapse.db-wal"; cp /dev/null "$ro/nolapse.db-shm"
set +e; out=$(podman run --rm -v "$ro:/data" -e SERVICE_TOKEN=x "$IMAGE" 2>&1); code=$?; set -e
rm -rf "$ro"
check "unwritable /data refuses to start" "$code" "1"
check "with one line" "$(echo "$out" | grep -c 'is not writable')" "1"
echo "container smoke test passed"
