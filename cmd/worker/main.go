// Command worker carries out mendflow commands against Mend. It pulls them
// from the MENDFLOW_COMMANDS stream through one durable consumer that all
// worker processes share, makes each command's effect exactly once,
// publishes a result event for each success, retries what may pass with
// backoff, and keeps what gave up on MENDFLOW_DLQ. See the README's Worker
// section for its environment, and package internal/worker.
package main

import (
	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/worker"
)

func main() { app.Main("worker", worker.Run) }
