#!/usr/bin/env bash
# make demo: run it while `make run` is up in another terminal. It sends
# a signed GitHub "repository created" delivery (testdata's real payload,
# renamed to a fresh repository), a production deployment_status for it, a
# policies.apply command on the new project and a request.track command,
# and prints each result event as it arrives. Everything goes through
# mendflowctl, built into .tmp/demo; it needs only Go and bash.
set -euo pipefail
cd "$(dirname "$0")/.."

# The same defaults as scripts/run.sh, so that its overrides work here too.
source scripts/lib.sh
export INGEST_URL=${INGEST_URL:-http://$INGEST_ADDR}
timeout=${DEMO_TIMEOUT:-60s}

dir=.tmp/demo
mkdir -p "$dir"
ctl=$dir/mendflowctl
go build -o "$ctl" ./cmd/mendflowctl

if [ "$(http GET "$INGEST_ADDR" /readyz 2>/dev/null | head -n1)" != 200 ]; then
  echo "mendflow is not ready at $INGEST_ADDR: start it with \`make run\` in another terminal, wait for" >&2
  echo "\"mendflow is running\", then run \`make demo\` again." >&2
  exit 1
fi

show() { echo; echo "\$ mendflowctl $*"; "$ctl" "$@"; }

run=$(date +%Y%m%d-%H%M%S)-$RANDOM
repo=demo-$run
# A repository's id as GitHub gives one: the worker maps it to its project,
# so each run's repository needs one of its own.
repoid=$(( $(date +%s) * 100 + RANDOM % 100 ))
created=$run-repository-created deployed=$run-deployment-status applied=$run-policies-apply tracked=$run-request-track
echo "demo $run: repository acme-corp/$repo; result events are printed as they arrive"

# Result events of the four chains, whose correlation id is the id of the
# event that started each. -since covers events that arrive before the
# tail's consumer exists.
"$ctl" events tail -since 1m -correlation "$created,$deployed,$applied,$tracked" -n 4 -timeout "$timeout" &
tail_pid=$!
trap 'kill "$tail_pid" 2>/dev/null || true' EXIT

# 1. GitHub: a repository was created. The payload is testdata's, for a new
#    repository name and id, so that the demo can run again and again.
sed -e "s/payments-api/$repo/g" -e "s/812345678/$repoid/" testdata/github/repository.created.json >"$dir/repository.created.json"
show send -github repository -id "$created" -file "$dir/repository.created.json"

# The new project's token, from its io.mendflow.project.created event.
"$ctl" events tail -since 1m -correlation "$created" -type io.mendflow.project.created -n 1 -timeout "$timeout" -json >"$dir/project.created.json"
token=$(sed -n 's/.*"projectToken":"\([^"]*\)".*/\1/p' "$dir/project.created.json")
echo "project token: $token"

# 2. GitHub: the repository was deployed to production (state success).
sed -e "s/payments-api/$repo/g" -e "s/812345678/$repoid/" testdata/github/deployment_status.created.json >"$dir/deployment_status.created.json"
show send -github deployment_status -id "$deployed" -file "$dir/deployment_status.created.json"

# 3. A command straight to ingest: apply the policies to the new project.
show send -type io.mendflow.command.policies.apply -source urn:mendflow:demo -id "$applied" \
  -data "{\"scope\":\"project\",\"token\":\"$token\"}"

# 4. A plugin request, registered with the simulator as a scan would, then
#    followed by the poller.
request_token=demo-$run
echo
echo "registering plugin request $request_token with the simulator (POST /_mendsim/requests)"
if [ "$(http POST "$MENDSIM_ADDR" /_mendsim/requests "{\"requestToken\":\"$request_token\"}" 2>/dev/null | head -n1)" != 201 ]; then
  echo "the simulator at $MENDSIM_ADDR did not register it (is MEND_URL a real Mend?)" >&2
  exit 1
fi
show send -type io.mendflow.command.request.track -source urn:mendflow:demo -id "$tracked" \
  -data "{\"requestToken\":\"$request_token\"}"

echo
echo "waiting for the 4 result events (up to $timeout; the poller reports the policies and the request after a few seconds)…"
if wait "$tail_pid"; then
  echo "demo done: all 4 result events arrived."
else
  echo "demo: not every result event arrived; see .tmp/run/logs and \`mendflowctl dlq list\`." >&2
  exit 1
fi
