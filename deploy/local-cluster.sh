#!/usr/bin/env bash
# Three callstream instances sharing one Redis behind haproxy, as plain processes on this machine
# (Debian: apt-get install redis-server haproxy; then npm run build). The balancer listens on
# http://127.0.0.1:8000. An instance that dies is restarted, as a supervisor (systemd, Heroku) would,
# and the others serve on meanwhile; Ctrl-C stops everything (the instances drain first).
#   CALLSTREAM_HANDLER, TWILIO_AUTH_TOKEN, PUBLIC_URL... are passed to the instances as usual.
#   LB_PORT (8000), INSTANCE_PORTS ("8001 8002 8003") and REDIS_PORT (6390) move it elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_PORT=${REDIS_PORT:-6390}
LB_PORT=${LB_PORT:-8000}
read -r -a ports <<< "${INSTANCE_PORTS:-8001 8002 8003}"
[ "${#ports[@]}" -eq 3 ] || { echo "local-cluster: INSTANCE_PORTS needs three ports" >&2; exit 2; }
# haproxy.cfg reads its ports from these.
export CALLSTREAM_LB_PORT=$LB_PORT CALLSTREAM_PORT_1=${ports[0]} CALLSTREAM_PORT_2=${ports[1]} CALLSTREAM_PORT_3=${ports[2]}

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Runs instance $1 on port $2 until asked to stop (TERM, passed on so that it drains); restarts it
# whenever it exits by itself, saying so.
supervise() {
  local id=$1 port=$2 child=0
  trap 'kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; exit 0' TERM INT
  while true; do
    node dist/src/cli/main.js serve --host 127.0.0.1 --port "$port" --redis "redis://127.0.0.1:$REDIS_PORT" --instance-id "$id" &
    child=$!
    local code=0
    wait "$child" || code=$?
    echo "local-cluster: instance $id (port $port) exited (status $code); restarting it in 1 s, the others serve on"
    sleep 1
  done
}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning &
redis=$!
pids+=("$redis")
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.1; done

for i in 1 2 3; do
  supervise "i$i" "${ports[$((i - 1))]}" &
  pids+=($!)
done
haproxy -f deploy/haproxy.cfg -db &
balancer=$!
pids+=("$balancer")
echo "local-cluster: http://127.0.0.1:$LB_PORT (instances on ${ports[*]}, Redis on $REDIS_PORT); an instance that dies is restarted"
# Redis and the balancer are the cluster: if either stops, everything does.
while kill -0 "$redis" 2>/dev/null && kill -0 "$balancer" 2>/dev/null; do sleep 1; done
echo "local-cluster: Redis or haproxy stopped; stopping the instances"
exit 1
