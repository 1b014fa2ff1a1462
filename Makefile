GO ?= go

.PHONY: build test lint run

build:
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

test: lint
	$(GO) test -race -count=1 ./...

run:
	$(GO) run ./cmd/mendsim
