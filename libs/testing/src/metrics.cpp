#include <leadpipe/testing/metrics.hpp>

namespace leadpipe::testing {

double metric_value(const prometheus::Registry& registry, const std::string& name,
                    const std::map<std::string, std::string>& labels) {
  double total = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : m.label) found = found || (l.name == k && l.value == v);
        match = match && found;
      }
      if (!match) continue;
      total += m.counter.value + m.gauge.value + static_cast<double>(m.histogram.sample_count);
    }
  }
  return total;
}

}  // namespace leadpipe::testing
