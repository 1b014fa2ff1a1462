// Command ingest is the door of mendflow: it takes CloudEvents (POST
// /events) and GitHub and GitLab webhooks, routes each event to Mend
// commands, and stores them durably, deduplicated, in JetStream. See
// README.md, "Ingest", and package internal/ingest.
package main

import (
	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/ingest"
)

func main() { app.Main("ingest", ingest.Run) }
