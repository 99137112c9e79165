#include "publish.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <stdexcept>

#include <leadpipe/http/json.hpp>

#include "handlers.hpp"

namespace leadpipe::ingest {
namespace {

void write_string(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

events::CloudEvent new_event(std::string type, std::string source, std::string tenant, std::string subject,
                             std::string data_json, std::string id) {
  events::CloudEvent ev;
  ev.id = std::move(id);
  ev.source = std::move(source);
  ev.type = std::move(type);
  ev.time = events::now_rfc3339();
  ev.subject = std::move(subject);
  ev.tenant = std::move(tenant);
  ev.data = std::move(data_json);
  return ev;
}

std::string envelope_json(const events::CloudEvent& ev) {
  if (ev.id.empty() || ev.source.empty() || ev.type.empty() || ev.tenant.empty()) {
    throw std::invalid_argument("envelope_json: id, source, type and tenant are required");
  }
  // `data` is always JSON our own rapidjson writers produced (never caller
  // text), so it is spliced in as is instead of being parsed and re-written a
  // second and third time (events::make + events::to_json did that: ~20% of
  // the webhook's CPU). A cheap guard still catches a non-object.
  if (ev.data.size() < 2 || ev.data.front() != '{' || ev.data.back() != '}') {
    throw std::invalid_argument("envelope_json: data must be a JSON object");
  }
  thread_local rapidjson::StringBuffer tl;
  ScratchJson scratch(tl);
  thread_local rapidjson::Writer<rapidjson::StringBuffer> tw;
  auto& w = scratch.writer(tw);
  w.StartObject();
  write_string(w, "specversion", "1.0");
  write_string(w, "id", ev.id);
  write_string(w, "source", ev.source);
  write_string(w, "type", ev.type);
  if (!ev.subject.empty()) write_string(w, "subject", ev.subject);
  if (!ev.time.empty()) write_string(w, "time", ev.time);
  write_string(w, "datacontenttype",
               ev.datacontenttype.empty() ? std::string_view("application/json") : std::string_view(ev.datacontenttype));
  write_string(w, "tenantid", ev.tenant);
  w.Key("data");
  http::write_raw_json(w, scratch.buffer(), ev.data, rapidjson::kObjectType);
  w.EndObject();
  return scratch.str();
}

kafka::Message to_message(std::string topic, events::CloudEvent ev, std::string key) {
  kafka::Message m;
  m.value = envelope_json(ev);
  m.topic = std::move(topic);
  m.key = std::move(key);
  // Moved, not listed in an initializer_list (whose elements can only be copied).
  m.headers.reserve(3);
  m.headers.push_back({"ce_type", std::move(ev.type)});
  m.headers.push_back({"ce_id", std::move(ev.id)});
  m.headers.push_back({"tenantid", std::move(ev.tenant)});
  return m;
}

boost::asio::awaitable<void> publish_all(Deps& d, std::string channel, std::vector<kafka::Message> out,
                                         std::string request_id) {
  const std::size_t count = out.size();
  if (count == 0) co_return;
  const auto started = std::chrono::steady_clock::now();
  // Each message's topic for the metrics below, as an index into the few
  // distinct topics (a copy of every topic name was an allocation per event).
  std::vector<std::string> topics;
  std::vector<std::size_t> topic_of;
  topic_of.reserve(count);
  for (const auto& m : out) {
    std::size_t t = 0;
    while (t < topics.size() && topics[t] != m.topic) ++t;
    if (t == topics.size()) topics.push_back(m.topic);
    topic_of.push_back(t);
  }
  auto results = co_await d.producer.send_all(std::move(out));
  d.metrics.publish_latency(channel,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  std::size_t failed = 0;
  std::string first_error;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok) {
      d.metrics.published(channel, topics[topic_of[i]]);
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
