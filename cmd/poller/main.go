// Command poller follows Mend's asynchronous processes (policies.apply) and
// plugin requests (request.track) that the worker hands over on
// MENDFLOW_TRACKING, and emits one completion event for each:
// io.mendflow.policies.applied or .failed, io.mendflow.request.finished or
// .failed. Any number of pollers may run against the same NATS; they share
// the items. See package internal/poller and the README's "Poller" section.
package main

import (
	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/poller"
)

func main() { app.Main("poller", poller.Run) }
