// Package events is the vocabulary that all mendflow services share: the
// CloudEvents types that come in, the commands ingest queues and the worker
// carries out (names, subjects and data schemas), the result events, the
// JetStream streams and subjects, and the extension attributes that tie a
// chain of events together. It imports neither NATS, OpenTelemetry,
// Prometheus nor pkg/mend: how events travel is internal/bus's.
//
// The names here are fixed by the external contract (CONTRACT.md); other
// programs, dashboards and scripts rely on them.
package events
