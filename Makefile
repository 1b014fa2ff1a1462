GO ?= go

.PHONY: build test kubecheck e2e lint run demo bench images

build:
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# The end-to-end tests (test/e2e) take about 5 minutes of the package's
# default 10-minute limit on an idle machine; the limit is raised for a
# busy one.
test: lint kubecheck
	$(GO) test -race -count=1 -timeout 20m ./...

# The Kubernetes manifests: the kustomize base and overlay built, the Helm
# chart linted and rendered by Helm with several values sets, all checked
# against one set of promises. deploy/kubecheck is a module of its own, so
# that Helm and the Kubernetes modules stay out of mendflow's go.mod (and out
# of ./... above). Nothing there needs cgo: without it the large test binary
# is linked by Go's own linker, in about half the time.
kubecheck:
	cd deploy/kubecheck && CGO_ENABLED=0 $(GO) vet ./... && CGO_ENABLED=0 $(GO) test -count=1 ./...

# The end-to-end tests alone: the pipeline in containers (needs Docker).
e2e:
	$(GO) test -count=1 -v -timeout 20m ./test/e2e/

# The whole pipeline on this machine: NATS with JetStream, the Mend simulator
# (unless MEND_URL is set), ingest, worker and poller. Ctrl-C stops it.
run:
	./scripts/run.sh

# Images FROM scratch of static binaries built here: no registry needed.
# CA_CERTS is the host's CA bundle, copied into the images so that they can
# verify HTTPS servers (Mend); scratch has none.
IMAGES := nats-server mendsim ingest worker poller mendflowctl
CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt
images:
	@mkdir -p bin
	cp $(CA_CERTS) bin/ca-certificates.crt
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/ ./cmd/...
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/nats-server github.com/nats-io/nats-server/v2
	@for b in $(IMAGES); do \
		docker build -q -f deploy/scratch.Dockerfile --build-arg BIN=$$b -t mendflow/$$b:dev bin/ || exit 1; \
	done

# With `make run` up in another terminal: a signed GitHub delivery, a
# deployment, a policies.apply and a request.track, and their result events.
demo:
	./scripts/demo.sh

# The pipeline of `make run`, started beside it on other ports, under 2,000
# project.create commands: events/s and latency from 202 to result event.
bench:
	./scripts/bench.sh
