GO ?= go

.PHONY: build test e2e lint run

build:
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# The end-to-end tests (test/e2e) take about 5 minutes of the package's
# default 10-minute limit on an idle machine; the limit is raised for a
# busy one.
test: lint
	$(GO) test -race -count=1 -timeout 20m ./...

# The end-to-end tests alone: the pipeline in containers (needs Docker).
e2e:
	$(GO) test -count=1 -v -timeout 20m ./test/e2e/

# The whole pipeline on this machine: NATS with JetStream, the Mend simulator
# (unless MEND_URL is set), ingest, worker and poller. Ctrl-C stops it.
run:
	./scripts/run.sh
