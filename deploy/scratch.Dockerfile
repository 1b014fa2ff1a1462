# The image for a binary built on the host (CGO_ENABLED=0): no base image is
# pulled, so it builds where no registry can be reached. `make images` runs:
#   docker build -f deploy/scratch.Dockerfile --build-arg BIN=ingest -t mendflow/ingest:dev bin/
# The context also holds ca-certificates.crt, the host's CA bundle (make images
# copies it there): scratch has none, and without it no HTTPS call (Mend, an
# OTLP endpoint) could verify its server.
FROM scratch
ARG BIN
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY ${BIN} /app
USER 65532:65532
ENTRYPOINT ["/app"]
