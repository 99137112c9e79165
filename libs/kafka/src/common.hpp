#pragma once
// Internal helpers shared by producer, consumer and admin (not installed).
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "leadpipe/kafka/client.hpp"
#include "leadpipe/log/log.hpp"

namespace leadpipe::kafka::detail {

using Properties = std::map<std::string, std::string>;

// A librdkafka configuration: our defaults, then bootstrap.servers/client.id
// from `client`, then client.overrides (they win). Throws
// std::invalid_argument naming the property (never its value: it may be a
// secret such as sasl.password).
std::unique_ptr<RdKafka::Conf> make_conf(const ClientConfig& client, const Properties& defaults);
void set_or_throw(RdKafka::Conf& conf, const std::string& name, const std::string& value);

std::string wire_topic(const ClientConfig& client, std::string_view topic);
std::string strip_prefix(const ClientConfig& client, std::string_view wire);

// Whether a produce error may succeed if tried again later.
bool is_retriable(RdKafka::ErrorCode err);

// Routes librdkafka's log lines and error events into our JSON logger instead
// of stderr, collapsing repeats of the same event (librdkafka repeats
// connection errors on every reconnect attempt) to one line per 10 s with a
// count of the suppressed ones. Called from librdkafka's internal threads
// (logs) and from whichever thread polls (errors): thread-safe.
class EventLogger : public RdKafka::EventCb {
 public:
  using ErrorHook = std::function<void(RdKafka::ErrorCode err, bool fatal)>;
  EventLogger(log::Logger logger, ErrorHook on_error);
  void event_cb(RdKafka::Event& event) override;

 private:
  // Returns how many were suppressed since the last emitted line, or -1 to suppress this one.
  long admit(const std::string& key);

  log::Logger logger_;
  ErrorHook on_error_;
  std::mutex mu_;
  struct Seen {
    std::chrono::steady_clock::time_point last{};
    long suppressed = 0;
  };
  std::unordered_map<std::string, Seen> seen_;  // guarded by mu_
};

}  // namespace leadpipe::kafka::detail
