package bus

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// ConsumerLookup is what ConsumerLag needs of a jetstream.JetStream.
type ConsumerLookup interface {
	Consumer(ctx context.Context, stream, consumer string) (jetstream.Consumer, error)
}

// lagTimeout bounds the consumer info request of one scrape.
const lagTimeout = 2 * time.Second

// ConsumerLag is a Prometheus collector of how far a durable consumer is
// behind, read from its ConsumerInfo when scraped: every process bound to
// the consumer reports the same, shared figures.
type ConsumerLag struct {
	js                               ConsumerLookup
	stream, consumer                 string
	pending, ackPending, redelivered *prometheus.Desc
}

// NewConsumerLag returns the collector of the durable consumer on stream.
func NewConsumerLag(js ConsumerLookup, stream, consumer string) *ConsumerLag {
	labels := prometheus.Labels{"stream": stream, "consumer": consumer}
	return &ConsumerLag{
		js: js, stream: stream, consumer: consumer,
		pending: prometheus.NewDesc("mendflow_consumer_pending_messages",
			"Messages on the stream not yet delivered to the consumer (its NumPending).", nil, labels),
		ackPending: prometheus.NewDesc("mendflow_consumer_ack_pending_messages",
			"Messages delivered to the consumer and not yet acknowledged (its NumAckPending).", nil, labels),
		redelivered: prometheus.NewDesc("mendflow_consumer_redelivered_messages",
			"Messages delivered more than once and not yet acknowledged (its NumRedelivered).", nil, labels),
	}
}

// Describe implements prometheus.Collector.
func (c *ConsumerLag) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.ackPending
	ch <- c.redelivered
}

// Collect implements prometheus.Collector. When NATS cannot answer, the
// gauges are left out rather than reported as zero, which would look like
// no lag at all.
func (c *ConsumerLag) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
	defer cancel()
	cons, err := c.js.Consumer(ctx, c.stream, c.consumer)
	if err != nil {
		return
	}
	info := cons.CachedInfo() // fresh: Consumer has just fetched it
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(info.NumPending))
	ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(info.NumAckPending))
	ch <- prometheus.MustNewConstMetric(c.redelivered, prometheus.GaugeValue, float64(info.NumRedelivered))
}
