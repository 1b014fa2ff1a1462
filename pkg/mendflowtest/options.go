package mendflowtest

import (
	"fmt"
	"maps"

	"github.com/testcontainers/testcontainers-go"
)

// Default webhook secrets of the pipeline's ingest, which
// Container.GitHubDeliveryRequest and Container.GitLabHookRequest use.
// WithPipelineEnv can replace them (GITHUB_WEBHOOK_SECRET,
// GITLAB_WEBHOOK_TOKEN).
const (
	DefaultGitHubWebhookSecret = "mendflowtest-github-secret"
	DefaultGitLabWebhookToken  = "mendflowtest-gitlab-token"
)

// Images names prebuilt images of the pipeline's programs. An empty name
// is built from mendflow's source (see WithSource). The images `make
// images` builds are mendflow/nats-server:dev, mendflow/ingest:dev and so
// on; NATS may also be the official nats image.
type Images struct {
	NATS   string // nats-server, started with --jetstream and cluster flags
	Ingest string
	Worker string
	Poller string
}

// options are what Run's Option values set; a count of 0 is the default.
type options struct {
	pipeline  bool
	natsNodes int // 0: no NATS without the pipeline, one node with it
	workers   int
	source    string
	images    Images
	env       map[string]string // of ingest, workers and poller
}

func defaultOptions() options {
	return options{env: map[string]string{}}
}

// Option is an option of Run that configures the module rather than one
// container. Other testcontainers.ContainerCustomizer values passed to Run
// (testcontainers.WithEnv, WithLogConsumers, ...) customize the simulator's
// container, as other modules' customizers do their one container.
type Option func(*options) error

// Customize implements testcontainers.ContainerCustomizer; Run reads the
// Option itself, so this does nothing.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

var _ testcontainers.ContainerCustomizer = Option(nil)

// WithPipeline starts the whole pipeline beside the simulator: NATS with
// JetStream, ingest, a worker and the poller, configured to use the
// simulator as Mend.
func WithPipeline() Option {
	return func(o *options) error {
		o.pipeline = true
		return nil
	}
}

// WithNATSCluster makes NATS a JetStream cluster of n nodes (1 to 5), named
// nats-1 to nats-n on the network, with the streams at n replicas. Without
// WithPipeline, Run starts the simulator and the cluster alone.
func WithNATSCluster(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 5 {
			return fmt.Errorf("mendflowtest: WithNATSCluster(%d): JetStream takes 1 to 5 nodes", n)
		}
		o.natsNodes = n
		return nil
	}
}

// WithWorkers starts n workers (worker-1 to worker-n), sharing the
// commands as a deployment's replicas do.
func WithWorkers(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("mendflowtest: WithWorkers(%d): at least one worker", n)
		}
		o.workers = n
		return nil
	}
}

// WithPipelineEnv sets environment variables of ingest, the workers and
// the poller (each reads the ones it knows; see mendflow's README), over
// the module's: NATS_URL, STREAM_REPLICAS, the MEND_ variables naming the
// simulator, the listen addresses and the webhook secrets.
func WithPipelineEnv(env map[string]string) Option {
	return func(o *options) error {
		maps.Copy(o.env, env)
		return nil
	}
}

// WithSource names the directory of mendflow's source, a clone of the
// repository or its module's directory, that images are built from. By
// default it is the directory of the module github.com/mendflow/mendflow
// in the build list of the current directory (`go list -m -f {{.Dir}}
// github.com/mendflow/mendflow`): the repository itself inside it, the
// module cache, or a replace directive's target in another module.
func WithSource(dir string) Option {
	return func(o *options) error {
		o.source = dir
		return nil
	}
}

// WithImages names prebuilt images of the pipeline's programs; the
// simulator's is Run's img. Images left empty are built from source.
func WithImages(images Images) Option {
	return func(o *options) error {
		o.images = images
		return nil
	}
}
