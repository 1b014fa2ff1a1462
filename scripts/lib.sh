# Sourced by the scripts: the addresses and demo secrets of `make run`
# (each may be set in the environment instead, in every script alike), a
# small HTTP client that needs only bash, and the benchmarks' start of a
# pipeline of their own.

NATS_PORT=${NATS_PORT:-4222}
NATS_HTTP_PORT=${NATS_HTTP_PORT:-8222}
export NATS_URL=${NATS_URL:-nats://127.0.0.1:$NATS_PORT}
export INGEST_ADDR=${INGEST_ADDR:-127.0.0.1:8080}
export WORKER_ADDR=${WORKER_ADDR:-127.0.0.1:8081}
export POLLER_ADDR=${POLLER_ADDR:-127.0.0.1:8082}
export MENDSIM_ADDR=${MENDSIM_ADDR:-127.0.0.1:9090}
# The demo's webhook secrets; set your own to receive real deliveries.
export GITHUB_WEBHOOK_SECRET=${GITHUB_WEBHOOK_SECRET:-mendflow-demo-secret}
export GITLAB_WEBHOOK_TOKEN=${GITLAB_WEBHOOK_TOKEN:-mendflow-demo-token}

# http METHOD HOST:PORT PATH [BODY]: one HTTP/1.0 request over bash's
# /dev/tcp, so that no curl is needed; prints the status code, then the
# body. A HOST left out (":8081") is 127.0.0.1. It runs in a subshell, so
# that its file descriptor never outlives it.
http() (
  method=$1 hostport=$2 path=$3 body=${4:-}
  host=${hostport%:*} port=${hostport##*:}
  [ -n "$host" ] || host=127.0.0.1
  exec 3<>"/dev/tcp/$host/$port" || exit 1
  LC_ALL=C # so that ${#body} counts bytes
  printf '%s %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "$method" "$path" "$host" "${#body}" "$body" >&3
  response=$(cat <&3)
  status=${response#* } # after "HTTP/1.x "
  echo "${status%% *}"
  echo "${response#*$'\r\n\r\n'}"
)

# start_pipeline WHAT: the benchmarks' pipeline of their own. It starts
# scripts/run.sh in the background with fresh streams in RUN_DIR (stopped
# when the calling script exits), builds mendflowctl there, says WHAT it
# starts, and returns once the pipeline runs; it exits the script when the
# pipeline does not start.
start_pipeline() {
  rm -rf "$RUN_DIR/nats" "$RUN_DIR/logs"
  mkdir -p "$RUN_DIR"
  scripts/run.sh >"$RUN_DIR/run.log" 2>&1 &
  run_pid=$!
  trap 'kill -TERM "$run_pid" 2>/dev/null || true; wait "$run_pid" 2>/dev/null || true' EXIT

  go build -o "$RUN_DIR/mendflowctl" ./cmd/mendflowctl
  echo "starting the pipeline ($1)…"
  for _ in $(seq 1 600); do
    grep -q '^mendflow is running' "$RUN_DIR/run.log" && return
    if ! kill -0 "$run_pid" 2>/dev/null; then
      cat "$RUN_DIR/run.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "the pipeline did not start; see $RUN_DIR/run.log" >&2
  exit 1
}
