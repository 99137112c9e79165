// Pure parts of the consumer: record helpers, retry backoff, dead-letter building.
#include <chrono>
#include <ctime>

#include "leadpipe/kafka/consumer.hpp"

namespace leadpipe::kafka {
namespace {

constexpr std::size_t kMaxReasonBytes = 1000;

// Cuts at most max bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t cut = max;
  // Step back over continuation bytes (10xxxxxx) to the start of a sequence.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut));
}

std::string utc_now_rfc3339() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

}  // namespace

std::optional<std::string> Record::header(std::string_view key) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->key == key) return it->value;
  }
  return std::nullopt;
}

std::string_view to_string(DeadLetterClass c) {
  return c == DeadLetterClass::permanent ? "permanent" : "exhausted";
}

std::chrono::milliseconds retry_backoff(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds max_backoff) {
  if (base.count() <= 0 || max_backoff.count() <= 0) return std::chrono::milliseconds(0);
  if (attempt < 1) attempt = 1;
  std::chrono::milliseconds delay = base;
  for (int i = 1; i < attempt && delay < max_backoff; ++i) delay *= 2;
  return delay < max_backoff ? delay : max_backoff;
}

Message make_dead_letter(const Record& record, std::string_view reason, DeadLetterClass error_class,
                         int attempts, std::string_view consumer_group) {
  Message m;
  m.topic = record.topic + ".dlq";
  m.key = record.key;
  m.value = record.value;
  m.headers.reserve(record.headers.size() + 8);
  for (const auto& h : record.headers) {
    if (h.key.rfind("dlq.", 0) != 0) m.headers.push_back(h);
  }
  m.headers.push_back({"dlq.reason", truncate_utf8(reason, kMaxReasonBytes)});
  m.headers.push_back({"dlq.error_class", std::string(to_string(error_class))});
  m.headers.push_back({"dlq.source_topic", record.topic});
  m.headers.push_back({"dlq.source_partition", std::to_string(record.partition)});
  m.headers.push_back({"dlq.source_offset", std::to_string(record.offset)});
  m.headers.push_back({"dlq.attempts", std::to_string(attempts)});
  m.headers.push_back({"dlq.consumer_group", std::string(consumer_group)});
  m.headers.push_back({"dlq.failed_at", utc_now_rfc3339()});
  return m;
}

}  // namespace leadpipe::kafka
