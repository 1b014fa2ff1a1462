#!/usr/bin/env bash
# The shared Mend budget under a bulk onboarding (README: Benchmark, issue
# 16): a pipeline of its own (scripts/run.sh with BUDGET_WORKERS workers
# and one poller, each its own process), a simulator answering each call
# in 100–300 ms, MEND_RATE_LIMIT per organization for all of them, and
# BENCH_N GitHub repository.created deliveries sent to ingest over
# BENCH_OVER. It prints ingest's answer times, the results (lost and
# doubled), the time to drain, what Mend saw (calls per 1-s window against
# the limit, calls per project) and the peak memory of each process.
# BENCH_STORM=AT,FOR,RETRY-AFTER (such as 20s,30s,10s) makes Mend answer
# 429 for a spell in the middle. BENCH_QUIET=1 also sends, while the
# backlog drains, one project.create a second for a second organization of
# the simulator (MENDSIM_EXTRA_ORG_TOKENS), and prints how long each took.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUN_DIR=.tmp/budget-bench
export NATS_PORT=${BENCH_NATS_PORT:-4422} NATS_HTTP_PORT=${BENCH_NATS_HTTP_PORT:-8422}
export NATS_URL=nats://127.0.0.1:$NATS_PORT
export INGEST_ADDR=${BENCH_INGEST_ADDR:-127.0.0.1:8280}
export WORKER_ADDR=${BENCH_WORKER_ADDR:-127.0.0.1:8281}
export POLLER_ADDR=${BENCH_POLLER_ADDR:-127.0.0.1:8290}
export MENDSIM_ADDR=${BENCH_MENDSIM_ADDR:-127.0.0.1:9290}
export WORKERS=${BUDGET_WORKERS:-3}
export MEND_RATE_LIMIT=${MEND_RATE_LIMIT:-20} MEND_RATE_BURST=${MEND_RATE_BURST:-10}
export MEND_BUDGET_PROCESSES=$((WORKERS + 1))
export LOG_LEVEL=${LOG_LEVEL:-warn}
n=${BENCH_N:-1000} over=${BENCH_OVER:-60s}
quiet_org=5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3
[ "${BENCH_QUIET:-}" != 1 ] || export MENDSIM_EXTRA_ORG_TOKENS=$quiet_org
unset MEND_URL # always the simulator: a benchmark must not load a real Mend
source scripts/lib.sh # the demo's webhook secrets, which ingest and bench share

start_pipeline "$WORKERS workers, 1 poller; logs in $RUN_DIR/logs"

# Every Mend call takes 100–300 ms, as Mend's do.
curl -sf "http://$MENDSIM_ADDR/_mendsim/faults" -d '{"op":"*","latency":"100ms","latencyMax":"300ms"}' >/dev/null

# Time enough to drain: the calls per project at the limit, twice over.
timeout=${BENCH_TIMEOUT:-$(( n * 6 / MEND_RATE_LIMIT + 120 ))s}
extra=()
[ -z "${BENCH_STORM:-}" ] || extra=(-storm "$BENCH_STORM")
[ "${BENCH_QUIET:-}" != 1 ] || extra+=(-quiet-org "$quiet_org" -quiet-every 1s)
INGEST_URL=http://$INGEST_ADDR "$RUN_DIR/mendflowctl" bench -kind repository.created \
  -n "$n" -over "$over" -c "${BENCH_CONCURRENCY:-32}" -timeout "$timeout" \
  -mendsim "http://$MENDSIM_ADDR" "${extra[@]}"

echo "peak memory (VmHWM) of each process:"
while read -r name pid; do
  printf '  %-8s %s\n' "$name" "$(awk '/^VmHWM/ {print $2, $3}' "/proc/$pid/status" 2>/dev/null || echo gone)"
done <"$RUN_DIR/pids"
# The workers' and the poller's metrics: dead letters, and the budget's
# own cost (operations on MENDFLOW_BUDGET per call granted).
metrics=$(for ((w=0; w<WORKERS; w++)); do curl -s "http://${WORKER_ADDR%:*}:$((${WORKER_ADDR##*:}+w))/metrics"; done
  curl -s "http://$POLLER_ADDR/metrics")
awk '/^mendflow_worker_dead_letters_total/ {dead += $2}
  /^mendflow_mend_budget_nats_operations_total/ {ops += $2}
  /^mendflow_mend_budget_calls_total/ {calls += $2}
  END {printf "dead letters: %d\nbudget: %d NATS operations for %d calls, %.2f per call\n", dead, ops, calls, calls ? ops / calls : 0}' <<<"$metrics"
