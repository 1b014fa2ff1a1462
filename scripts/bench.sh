#!/usr/bin/env bash
# make bench: the whole pipeline under load. It starts a pipeline of its
# own with scripts/run.sh (fresh streams in .tmp/bench, ports beside those
# of `make run`, so that both can run at once), sends BENCH_COMMANDS
# project.create commands to ingest, BENCH_CONCURRENCY at a time, with
# `mendflowctl bench`, prints events/s and the latency from each 202 to its
# result event, and stops the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUN_DIR=.tmp/bench
export NATS_PORT=${BENCH_NATS_PORT:-4322} NATS_HTTP_PORT=${BENCH_NATS_HTTP_PORT:-8322}
export NATS_URL=nats://127.0.0.1:$NATS_PORT
export INGEST_ADDR=${BENCH_INGEST_ADDR:-127.0.0.1:8180}
export WORKER_ADDR=${BENCH_WORKER_ADDR:-127.0.0.1:8181}
export POLLER_ADDR=${BENCH_POLLER_ADDR:-127.0.0.1:8182}
export MENDSIM_ADDR=${BENCH_MENDSIM_ADDR:-127.0.0.1:9190}
# The pipeline's own capacity, not the client-side limit of calls to Mend
# (20/s by default), is what is measured.
export MEND_RATE_LIMIT=${MEND_RATE_LIMIT:-0}
unset MEND_URL # always the simulator: a benchmark must not load a real Mend

source scripts/lib.sh
start_pipeline "scripts/run.sh, logs in $RUN_DIR/logs"

INGEST_URL=http://$INGEST_ADDR "$RUN_DIR/mendflowctl" bench \
  -n "${BENCH_COMMANDS:-2000}" -c "${BENCH_CONCURRENCY:-16}" -timeout "${BENCH_TIMEOUT:-100s}"
