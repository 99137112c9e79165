#pragma once
// Reading prometheus-cpp registries in tests.
#include <prometheus/registry.h>

#include <map>
#include <string>

namespace leadpipe::testing {

// Sum over the series of `name` whose labels include every one of `labels`:
// counter + gauge value + a histogram's sample count (0 when none matches).
double metric_value(const prometheus::Registry& registry, const std::string& name,
                    const std::map<std::string, std::string>& labels = {});

}  // namespace leadpipe::testing
