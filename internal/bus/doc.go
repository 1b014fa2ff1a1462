// Package bus is mendflow's JetStream plumbing, one way each: the runner
// that consumes a durable consumer and ends every delivery in one answer
// (Runner, with the one retry decision, Attempts.Decide), the publisher of
// commands, result events, Track items, completions and dead letters
// (Publisher), the reader of a stream's events (ReadEvents), the streams
// and their set-up, dead letters and their replay, consumer lag, and the
// mapping between CloudEvents and NATS messages (the binary content mode of
// the CloudEvents NATS binding).
package bus
