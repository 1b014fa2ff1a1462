# The image for a binary built on the host (CGO_ENABLED=0): no base image is
# pulled, so it builds where no registry can be reached. `make images` runs:
#   docker build -f deploy/scratch.Dockerfile --build-arg BIN=ingest -t mendflow/ingest:dev bin/
FROM scratch
ARG BIN
COPY ${BIN} /app
USER 65532:65532
ENTRYPOINT ["/app"]
