// Command mendsim serves the Mend API simulator over HTTP, for local runs,
// demos and black-box tests. It answers the v1.4 API at /api/v1.4 and the
// v2.0/v3.0 REST API at /api/v2.0 and /api/v3.0 on one address, plus its
// administrative endpoints under /_mendsim/ (see package mendsim). See the
// README's "The Mend simulator", and package internal/simulator.
package main

import (
	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/simulator"
)

func main() { app.Main("mendsim", simulator.Run) }
