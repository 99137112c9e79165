#include "publish.hpp"

#include <chrono>

#include "handlers.hpp"

namespace leadpipe::ingest {

kafka::Message to_message(const std::string& topic, const events::CloudEvent& ev, const std::string& key) {
  kafka::Message m;
  m.topic = topic;
  m.key = key;
  m.value = events::to_json(ev);
  m.headers = {{"ce_type", ev.type}, {"ce_id", ev.id}, {"tenantid", ev.tenant}};
  return m;
}

boost::asio::awaitable<void> publish_all(Deps& d, std::string channel, std::vector<kafka::Message> out,
                                         std::string request_id) {
  const std::size_t count = out.size();
  if (count == 0) co_return;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> topics;
  topics.reserve(count);
  for (const auto& m : out) topics.push_back(m.topic);
  auto results = co_await d.producer.send_all(std::move(out));
  d.metrics.publish_latency(channel,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  std::size_t failed = 0;
  std::string first_error;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok) {
      d.metrics.published(channel, topics[i]);
    } else if (failed++ == 0) {
      first_error = results[i].error;
    }
  }
  if (failed == 0 && results.size() == count) co_return;
  d.metrics.rejected(channel, "kafka_unavailable");
  d.logger.error("request not acknowledged: Kafka did not take every event",
                 {{"request_id", request_id}, {"channel", channel}, {"failed", failed},
                  {"events", count}, {"error", first_error}});
  http::HttpError err(503, "Service Unavailable", "the event log is not accepting writes; retry later");
  err.headers.emplace_back("Retry-After", "5");
  throw err;
}

}  // namespace leadpipe::ingest
