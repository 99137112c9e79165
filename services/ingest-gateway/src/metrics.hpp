#pragma once
// ingest-gateway's metrics, declared in one place (names: leadpipe_ingest_*).
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace leadpipe::ingest {

class Metrics {
 public:
  explicit Metrics(prometheus::Registry& registry);

  void received(const std::string& channel, double n = 1) {
    received_.Add({{"channel", channel}}).Increment(n);
  }
  void rejected(const std::string& channel, const std::string& reason, double n = 1) {
    rejected_.Add({{"channel", channel}, {"reason", reason}}).Increment(n);
  }
  void published(const std::string& channel, const std::string& topic, double n = 1) {
    published_.Add({{"channel", channel}, {"topic", topic}}).Increment(n);
  }
  void publish_latency(const std::string& channel, double seconds) {
    latency_.Add({{"channel", channel}}, buckets_).Observe(seconds);
  }

 private:
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& published_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Histogram::BucketBoundaries buckets_;
};

}  // namespace leadpipe::ingest
