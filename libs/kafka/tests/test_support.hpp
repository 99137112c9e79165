#pragma once
// Helpers shared by the Kafka tests (header-only, test code only).
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "leadpipe/kafka/client.hpp"

namespace kafka_test {

// Value of a counter/gauge (or a histogram's sample count) with exactly these
// labels; 0 if absent.
inline double metric(prometheus::Registry& registry, const std::string& name,
                     const std::map<std::string, std::string>& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> have;
      for (const auto& l : m.label) have[l.name] = l.value;
      if (have != labels) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter: return m.counter.value;
        case prometheus::MetricType::Gauge: return m.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(m.histogram.sample_count);
        default: return 0;
      }
    }
  }
  return 0;
}

// Records seen by a handler, guarded for the consumer thread vs the test thread.
class Collected {
 public:
  void add(const leadpipe::kafka::Record& r) {
    std::lock_guard lock(mu_);
    records_.push_back(r);
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return records_.size();
  }
  std::vector<leadpipe::kafka::Record> snapshot() const {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<leadpipe::kafka::Record> records_;
};

inline leadpipe::kafka::Message message(std::string topic, std::string key, std::string value,
                                        std::vector<leadpipe::kafka::Header> headers = {}) {
  return leadpipe::kafka::Message{std::move(topic), std::move(key), std::move(value),
                                  std::move(headers)};
}

}  // namespace kafka_test
