#pragma once
// ingest-gateway's metrics, declared in one place (names: leadpipe_ingest_*).
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace leadpipe::ingest {

class Metrics {
 public:
  explicit Metrics(prometheus::Registry& registry);

  void received(std::string_view channel, double n = 1);
  void rejected(std::string_view channel, std::string_view reason, double n = 1);
  void published(std::string_view channel, std::string_view topic, double n = 1);
  void publish_latency(std::string_view channel, double seconds);

 private:
  // prometheus::Family::Add builds a label map, hashes it and takes the
  // family's lock on every call; these run several times per request, so
  // each series is looked up there once and kept here by its label values.
  template <typename Metric>
  struct Series {
    std::mutex mu;
    std::unordered_map<std::string, Metric*> by_key;
  };
  template <typename Metric, typename Make>
  static Metric& series(Series<Metric>& s, std::string_view a, std::string_view b, Make&& make);

  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& published_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Histogram::BucketBoundaries buckets_;
  Series<prometheus::Counter> received_series_, rejected_series_, published_series_;
  Series<prometheus::Histogram> latency_series_;
};

}  // namespace leadpipe::ingest
