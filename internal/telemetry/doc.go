// Package telemetry is how mendflow's services log, trace and count: the
// logger and the tracer provider built from the environment, the
// Prometheus registry every service serves, and the trace context and log
// attributes an event carries from one service to the next.
package telemetry
