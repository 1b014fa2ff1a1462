# Sourced by scripts/run.sh and scripts/demo.sh: the addresses and demo
# secrets of `make run` (each may be set in the environment instead, in both
# scripts alike) and a small HTTP client that needs only bash.

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
