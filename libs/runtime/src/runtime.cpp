#include "leadpipe/runtime/runtime.hpp"

#include <iostream>

namespace leadpipe::runtime {

kafka::ClientConfig kafka_from_env(config::Env& env, const std::string& client_id) {
  kafka::ClientConfig c;
  c.brokers = env.required("KAFKA_BROKERS", "Kafka bootstrap servers, host:port[,host:port]");
  c.topic_prefix =
      env.string("KAFKA_TOPIC_PREFIX", "", "prefix added to every topic name (isolates test runs)");
  c.client_id = client_id;
  return c;
}

void init_logging(config::Env& env, const std::string& service) {
  const auto level = env.one_of("LOG_LEVEL", "info", {"debug", "info", "warn", "error"},
                                "minimum level of JSON log lines");
  log::Level l = log::Level::info;
  log::parse_level(level, l);
  log::init(service, l);
}

int guarded_main(const std::string& service, const std::function<int(config::Env&)>& body) {
  try {
    auto env = config::Env::from_process();
    return body(env);
  } catch (const config::ConfigError& e) {
    std::cerr << service << ": " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    log::root().error("fatal error, exiting", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace leadpipe::runtime

namespace leadpipe::runtime {

outbox::Relay::Publish outbox_publisher(kafka::Producer& producer) {
  return [&producer](const std::vector<outbox::OutboxMessage>& batch) {
    std::vector<kafka::Message> msgs;
    msgs.reserve(batch.size());
    for (const auto& o : batch) {
      kafka::Message m;
      m.topic = o.topic;
      m.key = o.key;
      m.value = o.payload;
      for (const auto& [k, v] : o.headers) m.headers.push_back({k, v});
      msgs.push_back(std::move(m));
    }
    auto results = producer.send_all_sync(std::move(msgs));
    std::vector<bool> acked;
    acked.reserve(results.size());
    for (const auto& r : results) acked.push_back(r.ok);
    return acked;
  };
}

std::optional<http::HttpError> database_unavailable_as_503(const std::exception& e) {
  if (dynamic_cast<const pg::TransientError*>(&e) == nullptr) return std::nullopt;
  return http::HttpError(503, "Service Unavailable", "the database is unavailable or busy; retry shortly")
      .with_header("Retry-After", "1");
}

}  // namespace leadpipe::runtime
