// Package events is the vocabulary that all mendflow services share: the
// CloudEvents types that come in, the commands ingest queues and the worker
// carries out (names, subjects and data schemas), the result events, the
// JetStream streams, the extension attributes that tie a chain of events
// together, and the mapping between CloudEvents and NATS messages.
//
// The names here are fixed by the external contract (CONTRACT.md); other
// programs, dashboards and scripts rely on them.
package events
