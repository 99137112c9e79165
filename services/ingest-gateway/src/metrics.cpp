#include "metrics.hpp"

namespace leadpipe::ingest {

Metrics::Metrics(prometheus::Registry& registry)
    : received_(prometheus::BuildCounter()
                    .Name("leadpipe_ingest_received_total")
                    .Help("Items received per channel (messages, statuses, leads)")
                    .Register(registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("leadpipe_ingest_rejected_total")
                    .Help("Requests or items rejected, by channel and reason")
                    .Register(registry)),
      published_(prometheus::BuildCounter()
                     .Name("leadpipe_ingest_published_total")
                     .Help("Events acknowledged by Kafka, by channel and topic")
                     .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("leadpipe_ingest_publish_latency_seconds")
                   .Help("Time from publish to Kafka ack of a request's events")
                   .Register(registry)),
      buckets_{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5} {}

}  // namespace leadpipe::ingest
