// Topic creation and deletion through the C Admin API (the C++ wrapper has none).
#include "leadpipe/kafka/admin.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <initializer_list>
#include <set>
#include <stdexcept>
#include <thread>

#include "common.hpp"

namespace leadpipe::kafka {
namespace {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
  void operator()(rd_kafka_DeleteTopic_t* t) const { rd_kafka_DeleteTopic_destroy(t); }
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
template <typename T>
using Owned = std::unique_ptr<T, KafkaDeleter>;

// librdkafka logs through our JSON logger, not stderr.
void log_to_root(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  const log::Level l = level <= 3   ? log::Level::error
                       : level == 4 ? log::Level::warn
                                    : log::Level::debug;
  log::root().write(l, "librdkafka", {{"component", "kafka-admin"}, {"fac", fac}, {"detail", buf}});
}

// True once every topic is in the metadata with all partitions led.
bool all_visible(rd_kafka_t* rk, const std::set<std::string>& wanted, int timeout_ms) {
  const rd_kafka_metadata_t* raw = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &raw, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return false;
  Owned<const rd_kafka_metadata_t> md(raw);
  std::size_t ready = 0;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (wanted.count(t.topic) == 0 || t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt == 0) {
      continue;
    }
    bool led = true;
    for (int p = 0; p < t.partition_cnt; ++p) led = led && t.partitions[p].leader >= 0;
    if (led) ++ready;
  }
  return ready == wanted.size();
}

// A client for admin requests only.
Owned<rd_kafka_t> admin_client(const ClientConfig& config) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, log_to_root);
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::invalid_argument("kafka config '" + k + "': " + err);
    }
  };
  if (!config.brokers.empty()) set("bootstrap.servers", config.brokers);
  set("client.id", config.client_id.empty() ? "leadpipe-admin" : config.client_id);
  for (const auto& [k, v] : config.overrides) set(k, v);
  Owned<rd_kafka_t> rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
  if (!rk) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new only takes ownership on success
    throw std::invalid_argument(std::string("kafka admin client: ") + err);
  }
  return rk;
}

// Sends one admin request (`send` gets the options and the reply queue) and
// returns its per-topic failures, "name: reason; ...", skipping the errors in
// `harmless`; `topics_of` reads the per-topic results out of the reply event.
// Throws on a request-level error or a timeout.
template <typename Send, typename Topics>
std::string admin_request(rd_kafka_t* rk, rd_kafka_admin_op_t op, const char* what, int timeout_ms,
                          std::initializer_list<rd_kafka_resp_err_t> harmless, Send send, Topics topics_of) {
  char err[512];
  Owned<rd_kafka_AdminOptions_t> options(rd_kafka_AdminOptions_new(rk, op));
  if (rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, err, sizeof err) ||
      rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, err, sizeof err)) {
    throw std::invalid_argument(std::string("kafka admin options: ") + err);
  }
  Owned<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk));
  send(options.get(), queue.get());
  Owned<rd_kafka_event_t> event(rd_kafka_queue_poll(queue.get(), timeout_ms + 1000));
  if (!event) throw std::runtime_error(std::string("kafka ") + what + ": timed out");
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(std::string("kafka ") + what + ": " + rd_kafka_event_error_string(event.get()));
  }
  std::size_t count = 0;
  const rd_kafka_topic_result_t** results = topics_of(event.get(), &count);
  std::string failures;
  for (std::size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || std::find(harmless.begin(), harmless.end(), e) != harmless.end()) continue;
    const char* msg = rd_kafka_topic_result_error_string(results[i]);
    if (!failures.empty()) failures += "; ";
    failures += std::string(rd_kafka_topic_result_name(results[i])) + ": " + (msg != nullptr ? msg : rd_kafka_err2str(e));
  }
  return failures;
}

}  // namespace

void create_topics(const ClientConfig& config, const std::vector<std::string>& topics,
                   int partitions, int replication, std::chrono::milliseconds timeout) {
  if (topics.empty()) return;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char err[512];

  Owned<rd_kafka_t> rk = admin_client(config);

  std::set<std::string> wanted;
  std::vector<Owned<rd_kafka_NewTopic_t>> owned;
  std::vector<rd_kafka_NewTopic_t*> requests;
  for (const auto& t : topics) {
    const std::string wire = detail::wire_topic(config, t);
    if (!wanted.insert(wire).second) continue;
    Owned<rd_kafka_NewTopic_t> nt(
        rd_kafka_NewTopic_new(wire.c_str(), partitions, replication, err, sizeof err));
    if (!nt) throw std::invalid_argument("kafka topic " + wire + ": " + err);
    requests.push_back(nt.get());
    owned.push_back(std::move(nt));
  }

  const int timeout_ms = static_cast<int>(timeout.count());
  const std::string failures = admin_request(
      rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, "create_topics", timeout_ms, {RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS},
      [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
        rd_kafka_CreateTopics(rk.get(), requests.data(), requests.size(), options, queue);
      },
      [](rd_kafka_event_t* event, std::size_t* count) -> const rd_kafka_topic_result_t** {
        const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
        if (result == nullptr) throw std::runtime_error("kafka create_topics: unexpected result event");
        return rd_kafka_CreateTopics_result_topics(result, count);
      });
  if (!failures.empty()) throw std::runtime_error("kafka create_topics failed: " + failures);

  // Creation is acknowledged by the controller before every broker knows the
  // topic: wait until metadata shows it with leaders.
  while (!all_visible(rk.get(), wanted, 2000)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(
          "kafka create_topics: topics not visible in metadata before timeout");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void delete_topics(const ClientConfig& config, const std::vector<std::string>& topics,
                   std::chrono::milliseconds timeout) {
  if (topics.empty()) return;
  Owned<rd_kafka_t> rk = admin_client(config);
  std::set<std::string> names;
  std::vector<Owned<rd_kafka_DeleteTopic_t>> owned;
  std::vector<rd_kafka_DeleteTopic_t*> requests;
  for (const auto& t : topics) {
    const std::string wire = detail::wire_topic(config, t);
    if (!names.insert(wire).second) continue;
    owned.emplace_back(rd_kafka_DeleteTopic_new(wire.c_str()));
    requests.push_back(owned.back().get());
  }
  const std::string failures = admin_request(
      rk.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, "delete_topics", static_cast<int>(timeout.count()),
      {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART},
      [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
        rd_kafka_DeleteTopics(rk.get(), requests.data(), requests.size(), options, queue);
      },
      [](rd_kafka_event_t* event, std::size_t* count) -> const rd_kafka_topic_result_t** {
        const rd_kafka_DeleteTopics_result_t* result = rd_kafka_event_DeleteTopics_result(event);
        if (result == nullptr) throw std::runtime_error("kafka delete_topics: unexpected result event");
        return rd_kafka_DeleteTopics_result_topics(result, count);
      });
  if (!failures.empty()) throw std::runtime_error("kafka delete_topics failed: " + failures);
}

}  // namespace leadpipe::kafka
