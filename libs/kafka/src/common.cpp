#include "common.hpp"

#include <stdexcept>

namespace leadpipe::kafka::detail {

void set_or_throw(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string err;
  if (conf.set(name, value, err) != RdKafka::Conf::CONF_OK) {
    throw std::invalid_argument("kafka config '" + name + "': " + err);
  }
}

std::unique_ptr<RdKafka::Conf> make_conf(const ClientConfig& client, const Properties& defaults) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [k, v] : defaults) set_or_throw(*conf, k, v);
  if (!client.brokers.empty()) set_or_throw(*conf, "bootstrap.servers", client.brokers);
  if (!client.client_id.empty()) set_or_throw(*conf, "client.id", client.client_id);
  for (const auto& [k, v] : client.overrides) set_or_throw(*conf, k, v);
  return conf;
}

std::string wire_topic(const ClientConfig& client, std::string_view topic) {
  std::string out = client.topic_prefix;
  out += topic;
  return out;
}

std::string strip_prefix(const ClientConfig& client, std::string_view wire) {
  const std::string_view prefix = client.topic_prefix;
  if (!prefix.empty() && wire.substr(0, prefix.size()) == prefix) wire.remove_prefix(prefix.size());
  return std::string(wire);
}

bool is_retriable(RdKafka::ErrorCode err) {
  switch (err) {
    case RdKafka::ERR__MSG_TIMED_OUT:
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__QUEUE_FULL:
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR__RESOLVE:
    case RdKafka::ERR__PURGE_QUEUE:
    case RdKafka::ERR__PURGE_INFLIGHT:
    case RdKafka::ERR__DESTROY:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_LEADER_FOR_PARTITION:
    case RdKafka::ERR_NETWORK_EXCEPTION:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
    case RdKafka::ERR_BROKER_NOT_AVAILABLE:
    case RdKafka::ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RdKafka::ERR_THROTTLING_QUOTA_EXCEEDED: return true;
    default: return false;
  }
}

EventLogger::EventLogger(log::Logger logger, ErrorHook on_error)
    : logger_(std::move(logger)), on_error_(std::move(on_error)) {}

long EventLogger::admit(const std::string& key) {
  constexpr auto window = std::chrono::seconds(10);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  Seen& s = seen_[key];
  if (s.last != std::chrono::steady_clock::time_point{} && now - s.last < window) {
    ++s.suppressed;
    return -1;
  }
  const long suppressed = s.suppressed;
  s.last = now;
  s.suppressed = 0;
  return suppressed;
}

void EventLogger::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR: {
      const bool fatal = event.fatal();
      if (on_error_) on_error_(event.err(), fatal);
      const long suppressed = admit("error:" + std::to_string(static_cast<int>(event.err())));
      if (suppressed < 0 && !fatal) return;
      log::Fields f{{"kafka_error", RdKafka::err2str(event.err())},
                    {"detail", event.str()},
                    {"fatal", fatal}};
      if (suppressed > 0) f.emplace_back("suppressed_repeats", suppressed);
      if (fatal) {
        logger_.error("kafka fatal error", f);
      } else {
        logger_.warn("kafka error", f);
      }
      return;
    }
    case RdKafka::Event::EVENT_LOG: {
      const int sev = static_cast<int>(event.severity());  // syslog levels 0..7
      const log::Level level = sev <= 3   ? log::Level::error
                               : sev == 4 ? log::Level::warn
                               : sev <= 6 ? log::Level::info
                                          : log::Level::debug;
      if (!logger_.enabled(level)) return;
      const long suppressed = admit("log:" + event.fac());
      if (suppressed < 0) return;
      log::Fields f{{"fac", event.fac()}, {"detail", event.str()}};
      if (suppressed > 0) f.emplace_back("suppressed_repeats", suppressed);
      logger_.write(level, "librdkafka", f);
      return;
    }
    case RdKafka::Event::EVENT_THROTTLE:
      logger_.debug("kafka broker throttled us",
                    {{"broker", event.broker_name()}, {"throttle_ms", event.throttle_time()}});
      return;
    default: return;  // statistics are not enabled
  }
}

}  // namespace leadpipe::kafka::detail
