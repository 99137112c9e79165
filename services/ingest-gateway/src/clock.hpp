#pragma once
// Injectable wall clock: OTP TTLs, cooldowns, rate windows and signature
// timestamps read time only through this, so tests move time instead of sleeping.
#include <chrono>
#include <functional>
#include <string>

namespace leadpipe::ingest {

using TimePoint = std::chrono::system_clock::time_point;
using Clock = std::function<TimePoint()>;

inline Clock system_clock() {
  return [] { return std::chrono::system_clock::now(); };
}

// RFC 3339 UTC with seconds precision, e.g. "2026-01-15T09:30:12Z".
std::string rfc3339(TimePoint t);

}  // namespace leadpipe::ingest
