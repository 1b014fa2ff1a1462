#!/usr/bin/env bash
# make run: the whole pipeline on this machine with nothing but Go. It builds
# the services and a NATS server (with go build, from the module this
# repository pins: the one `go tool nats-server` runs), starts NATS with
# JetStream, the Mend simulator (unless MEND_URL names a real Mend), ingest,
# worker and poller, and stops them all on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

# RUN_DIR and NATS_HTTP_PORT let a second pipeline run beside this one
# (make bench does).
state=${RUN_DIR:-.tmp/run}
bin=$state/bin
mkdir -p "$bin" "$state/logs"

# The addresses (NATS_PORT, INGEST_ADDR, …) and the demo's webhook secrets.
source scripts/lib.sh

use_sim=false
if [ -z "${MEND_URL:-}" ]; then
  use_sim=true
  export MEND_URL=http://$MENDSIM_ADDR
  # The simulator's documented demo credentials (cmd/mendsim).
  export MEND_USER_KEY=8a1f2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
  export MEND_USER_EMAIL=admin@example.com
  export MEND_ORG_TOKEN=0d6f8e2a-5c4b-4a3e-9f1d-7b2c6e8a4f10
fi
: "${MEND_USER_KEY:?set MEND_USER_KEY for the Mend at MEND_URL}"
: "${MEND_USER_EMAIL:?set MEND_USER_EMAIL, the login of MEND_USER_KEY, for the Mend at MEND_URL}"
: "${MEND_ORG_TOKEN:?set MEND_ORG_TOKEN for the Mend at MEND_URL}"

echo "building…"
CGO_ENABLED=0 go build -o "$bin/" ./cmd/ingest ./cmd/worker ./cmd/poller ./cmd/mendsim
go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2

# Job control puts each process in its own process group, so that a Ctrl-C
# in the terminal reaches this script alone, which then stops the services
# before NATS, letting them drain into a live server.
set -m

pids=()
stop() { # exit code
  trap - INT TERM EXIT
  echo
  echo "stopping…"
  # Services first, so that they drain into a live NATS; NATS last.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  echo "stopped; logs are in $state/logs"
  exit "$1"
}
# Ctrl-C or SIGTERM is the normal way out; any other exit means something
# died or failed to start.
trap 'stop 0' INT TERM
trap 'stop 1' EXIT

start() { # name, command...
  local name=$1; shift
  "$@" >"$state/logs/$name.log" 2>&1 &
  pids+=($!)
  echo "$name $!" >>"$state/pids"
}

# wait_ready NAME HOST:PORT PATH: wait until the path answers 200.
wait_ready() {
  local name=$1 hostport=$2 path=$3
  for _ in $(seq 1 100); do
    if [ "$(http GET "$hostport" "$path" 2>/dev/null | head -n1)" = 200 ]; then return 0; fi
    sleep 0.2
  done
  echo "$name did not become ready; see $state/logs/$name.log:" >&2
  tail -n 20 "$state/logs/$name.log" >&2
  exit 1
}

rm -f "$state/pids"
start nats "$bin/nats-server" --jetstream --store_dir "$state/nats" --port "$NATS_PORT" --http_port "$NATS_HTTP_PORT" --addr 127.0.0.1
wait_ready nats "127.0.0.1:$NATS_HTTP_PORT" /healthz
if $use_sim; then
  start mendsim "$bin/mendsim"
  wait_ready mendsim "$MENDSIM_ADDR" /readyz
fi
start ingest "$bin/ingest"
# WORKERS (1) worker processes: the first on WORKER_ADDR, the others on
# the ports after it, passing over those of ingest and the poller (with
# the defaults, the second worker is on 8083, not on the poller's 8082).
worker_host=${WORKER_ADDR%:*} port=${WORKER_ADDR##*:}
worker_addrs=()
while ((${#worker_addrs[@]} < ${WORKERS:-1})); do
  case $port in
  "${POLLER_ADDR##*:}" | "${INGEST_ADDR##*:}") ;;
  *) worker_addrs+=("$worker_host:$port") ;;
  esac
  port=$((port + 1))
done
for ((w=0; w<${#worker_addrs[@]}; w++)); do
  name=worker; [ "$w" -eq 0 ] || name=worker$((w+1))
  WORKER_ADDR=${worker_addrs[w]} start "$name" "$bin/worker"
done
start poller "$bin/poller"
wait_ready ingest "$INGEST_ADDR" /readyz
for addr in "${worker_addrs[@]}"; do
  wait_ready worker "$addr" /readyz
done
wait_ready poller "$POLLER_ADDR" /readyz

cat <<MSG

mendflow is running.
  events:   POST http://$INGEST_ADDR/events            (CloudEvents)
            POST http://$INGEST_ADDR/webhooks/github   (GitHub, secret in GITHUB_WEBHOOK_SECRET)
            POST http://$INGEST_ADDR/webhooks/gitlab   (GitLab, token in GITLAB_WEBHOOK_TOKEN)
  NATS:     $NATS_URL
  Mend:     $MEND_URL$($use_sim && echo "  (the simulator; its calls: curl http://$MENDSIM_ADDR/_mendsim/calls)")
  logs:     $state/logs/
  results:  go run ./cmd/mendflowctl events tail

Send a first event (a command to create a project, and its product):

  curl -si http://$INGEST_ADDR/events \\
    -H 'Content-Type: application/cloudevents+json' \\
    -d '{"specversion":"1.0","id":"first-1","source":"urn:example:readme","type":"io.mendflow.command.project.create","datacontenttype":"application/json","data":{"productName":"acme","projectName":"hello-mendflow","createProduct":true}}'

Then \`make demo\` in another terminal sends a signed GitHub delivery and more.
Press Ctrl-C to stop.
MSG

# Stop everything when any process dies, so that a crash is not missed.
wait -n "${pids[@]}" || true
echo "a process exited; see $state/logs" >&2
