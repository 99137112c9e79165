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

template <typename Metric, typename Make>
Metric& Metrics::series(Series<Metric>& s, std::string_view a, std::string_view b, Make&& make) {
  // Label values are joined with a byte no label value here contains; the
  // key buffer is per thread, so a hit allocates nothing.
  thread_local std::string key;
  key.assign(a);
  key.push_back('\x1f');
  key.append(b);
  std::lock_guard lock(s.mu);
  if (auto it = s.by_key.find(key); it != s.by_key.end()) return *it->second;
  Metric& m = make();
  s.by_key.emplace(key, &m);
  return m;
}

void Metrics::received(std::string_view channel, double n) {
  series(received_series_, channel, {}, [&]() -> prometheus::Counter& {
    return received_.Add({{"channel", std::string(channel)}});
  }).Increment(n);
}

void Metrics::rejected(std::string_view channel, std::string_view reason, double n) {
  series(rejected_series_, channel, reason, [&]() -> prometheus::Counter& {
    return rejected_.Add({{"channel", std::string(channel)}, {"reason", std::string(reason)}});
  }).Increment(n);
}

void Metrics::published(std::string_view channel, std::string_view topic, double n) {
  series(published_series_, channel, topic, [&]() -> prometheus::Counter& {
    return published_.Add({{"channel", std::string(channel)}, {"topic", std::string(topic)}});
  }).Increment(n);
}

void Metrics::publish_latency(std::string_view channel, double seconds) {
  series(latency_series_, channel, {}, [&]() -> prometheus::Histogram& {
    return latency_.Add({{"channel", std::string(channel)}}, buckets_);
  }).Observe(seconds);
}

}  // namespace leadpipe::ingest
