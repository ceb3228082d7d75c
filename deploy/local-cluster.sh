#!/usr/bin/env bash
# Three callstream instances sharing one Redis behind haproxy, as plain processes on this machine
# (Debian: apt-get install redis-server haproxy; then npm run build). The balancer listens on
# http://127.0.0.1:8000; Ctrl-C stops everything (the instances drain first).
#   CALLSTREAM_HANDLER, TWILIO_AUTH_TOKEN, PUBLIC_URL... are passed to the instances as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_PORT=${REDIS_PORT:-6390}
pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning &
pids+=($!)
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.1; done

for i in 1 2 3; do
  node dist/src/cli/main.js serve --host 127.0.0.1 --port "800$i" --redis "redis://127.0.0.1:$REDIS_PORT" --instance-id "i$i" &
  pids+=($!)
done
haproxy -f deploy/haproxy.cfg -db &
pids+=($!)
echo "local-cluster: http://127.0.0.1:8000 (instances on 8001-8003, Redis on $REDIS_PORT)"
wait -n
