// Package mendflowtest is a Testcontainers module for mendflow, for the
// integration tests of tools that work with it: that call its ingest,
// consume its result events, or call Mend and want the simulator in its
// place.
//
// Run starts mendflow's Mend simulator alone, or with WithPipeline the
// whole pipeline (NATS with JetStream, the simulator, ingest, a worker and
// the poller), each in its own container on a Docker network of their own:
//
//	c, err := mendflowtest.Run(ctx, "", mendflowtest.WithPipeline())
//	testcontainers.CleanupContainer(t, c)
//	if err != nil { t.Fatal(err) }
//	ingest, _ := c.IngestURL(ctx)   // POST /events, /webhooks/github, /webhooks/gitlab
//	natsURL, _ := c.NATSURL(ctx)    // MENDFLOW_EVENTS and the other streams
//	mend, _ := c.SimulatorURL(ctx)  // the Mend API, with mendsim's default credentials
//
// Container.WaitForEvent waits for the result event of a chain; the
// simulator's control endpoints are methods of Container (Snapshot, Calls,
// SetFault, RegisterRequest, ...), named as the mendsim.Simulator methods
// that do the same in process; GitHubDeliveryRequest and GitLabHookRequest
// build webhook deliveries signed with the pipeline's secrets.
//
// # Images
//
// Run's img names the simulator's image and WithImages the pipeline's,
// such as those `make images` builds in a mendflow clone (mendflow/mendsim:dev,
// ...). Where they are not named, Run builds them from mendflow's source,
// so that nothing is pulled from a registry: static binaries built with the
// go command for the Docker engine's platform, in images FROM scratch made
// with the repository's deploy/scratch.Dockerfile. The source is the module
// github.com/mendflow/mendflow as `go list -m` finds it from the current
// directory: the repository itself when the test runs inside it, else the
// module cache of the module that requires mendflow (or the target of its
// replace directive); WithSource names another directory. The go command
// and the network access to download mendflow's dependencies (a module
// proxy) are then needed.
//
// Building costs: linking the five programs takes about half a minute on
// two cores. The binaries are kept in the user's cache directory
// (mendflowtest/ under os.UserCacheDir), where go build finds them up to
// date next time, and each image is tagged mendflowtest/<program>:<hash
// of its content>, so that the test packages of one `go test ./...` and
// later runs build nothing again. The images carry the label
// io.mendflow.mendflowtest: `docker image prune -a --filter
// label=io.mendflow.mendflowtest` removes them.
//
// # Machines without a registry
//
// Testcontainers starts a reaper container (Ryuk) whose image is pulled
// from Docker Hub. Where no registry can be reached, set
// TESTCONTAINERS_RYUK_DISABLED=true: Terminate (or
// testcontainers.CleanupContainer) removes the containers and the network.
// The containers' ports are published on the host's loopback interface
// only. Where the tests run inside a container that has a Docker engine of
// its own (Docker in Docker), testcontainers looks for them at the
// container's default gateway: set TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1.
// Where no Docker engine answers, skip the test:
// testcontainers.SkipIfProviderIsNotHealthy(t).
package mendflowtest
