// Against the real test broker (deploy/local/test-infra.sh, 127.0.0.1:29192).
// Each test isolates itself with a unique topic prefix and consumer groups.
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <map>
#include <set>

#include "leadpipe/kafka/admin.hpp"
#include "leadpipe/kafka/consumer.hpp"
#include "leadpipe/kafka/producer.hpp"
#include "leadpipe/testing/infra.hpp"
#include "test_support.hpp"

using namespace leadpipe::kafka;
using kafka_test::Collected;
using kafka_test::message;
using kafka_test::metric;
using leadpipe::testing::wait_until;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kWait = 30s;

// A run-unique namespace on the shared broker: topic prefix and group names.
struct Env {
  explicit Env(std::vector<std::string> topics) {
    client.brokers = leadpipe::testing::kafka_brokers();
    client.client_id = "kafka-broker-test";
    client.topic_prefix = leadpipe::testing::unique_name("kt") + ".";
    std::vector<std::string> all = topics;
    for (const auto& t : topics) all.push_back(t + ".dlq");
    create_topics(client, all, 1);
    ProducerConfig pc;
    pc.client = client;
    producer = std::make_unique<Producer>(pc, leadpipe::log::root(), registry);
  }

  ConsumerConfig consumer_config(const std::string& topic, const std::string& group) const {
    ConsumerConfig c;
    c.client = client;
    c.group_id = client.topic_prefix + group;
    c.topics = {topic};
    c.retry_backoff = 10ms;
    c.max_backoff = 50ms;
    return c;
  }

  // Everything on `topic` from the beginning, in a throwaway group.
  std::unique_ptr<Consumer> reader(const std::string& topic, Collected& into) {
    auto c = std::make_unique<Consumer>(
        consumer_config(topic, leadpipe::testing::unique_name("reader")), *producer,
        [&into](const Record& r, const leadpipe::log::Logger&) { into.add(r); },
        leadpipe::log::root());
    c->start();
    return c;
  }

  ClientConfig client;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<Producer> producer;
};

void require_all_ok(const std::vector<DeliveryResult>& results) {
  for (const auto& r : results) {
    INFO(r.error);
    REQUIRE(r.ok);
  }
}

// Proves `topic` held nothing before this call without waiting for a silence:
// writes a sentinel and reads the topic from the start; the sentinel must be
// the first record.
void require_empty(Env& env, const std::string& topic) {
  require_all_ok({env.producer->send_sync(message(topic, "", "sentinel"))});
  Collected seen;
  auto reader = env.reader(topic, seen);
  REQUIRE(wait_until([&] { return seen.size() >= 1; }, kWait));
  reader->stop();
  CHECK(seen.snapshot().front().value == "sentinel");
}

}  // namespace

TEST_CASE("produce and consume round-trip with keys and headers", "[kafka]") {
  Env env({"orders"});
  std::vector<Message> batch;
  for (int i = 0; i < 3; ++i) {
    batch.push_back(message(
        "orders", "demo:lead-" + std::to_string(i), "value-" + std::to_string(i),
        {{"ce_type", "lead.created"}, {"n", std::to_string(i)}, {"bin", std::string("a\0b", 3)}}));
  }
  const auto results = env.producer->send_all_sync(batch);
  require_all_ok(results);
  CHECK(results[0].offset == 0);
  CHECK(results[2].offset == 2);

  Collected seen;
  auto consumer = env.reader("orders", seen);
  REQUIRE(wait_until([&] { return seen.size() == 3; }, kWait));
  CHECK(consumer->healthy());
  consumer->stop();

  const auto records = seen.snapshot();
  for (int i = 0; i < 3; ++i) {
    const Record& r = records[i];
    CHECK(r.topic == "orders");  // unprefixed
    CHECK(r.partition == 0);
    CHECK(r.offset == i);
    CHECK(r.key == "demo:lead-" + std::to_string(i));
    CHECK(r.value == "value-" + std::to_string(i));
    CHECK(r.header("ce_type") == "lead.created");
    CHECK(r.header("n") == std::to_string(i));
    CHECK(r.header("bin") == std::string("a\0b", 3));
    CHECK(r.timestamp_ms > 1600000000000);
  }
  CHECK(metric(*env.registry, "leadpipe_kafka_produced_total",
               {{"topic", "orders"}, {"result", "ok"}}) == 3);
}

TEST_CASE("awaitable send_all inside an io_context", "[kafka]") {
  Env env({"async"});
  asio::io_context ioc;
  std::vector<DeliveryResult> results;
  std::vector<Message> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back(message("async", "k" + std::to_string(i % 3), std::to_string(i)));
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        results = co_await env.producer->send_all(std::move(batch));
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.run();
  REQUIRE(results.size() == 20);
  require_all_ok(results);
  std::set<int64_t> offsets;
  for (const auto& r : results) offsets.insert(r.offset);
  CHECK(offsets.size() == 20);
  CHECK(*offsets.rbegin() == 19);

  Collected seen;
  auto consumer = env.reader("async", seen);
  REQUIRE(wait_until([&] { return seen.size() == 20; }, kWait));
}

// The producer hands librdkafka the values without a copy and keeps them in
// the send's batch until the last delivery report: what the broker stores must
// be exactly what was sent, long and short (in-object) strings alike, after
// the caller's vector is gone.
TEST_CASE("values reach the broker intact after the caller's messages are gone", "[kafka]") {
  Env env({"values"});
  const auto value_of = [](int i) {
    return i % 2 == 0 ? std::to_string(i) : std::string(1500 + i, static_cast<char>('a' + i % 26));
  };
  asio::io_context ioc;
  std::vector<DeliveryResult> results;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        std::vector<Message> batch;
        for (int i = 0; i < 40; ++i) batch.push_back(message("values", "k" + std::to_string(i), value_of(i)));
        auto pending = env.producer->send_all(std::move(batch));
        batch = {};
        results = co_await std::move(pending);
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.run();
  REQUIRE(results.size() == 40);
  require_all_ok(results);

  Collected seen;
  auto consumer = env.reader("values", seen);
  REQUIRE(wait_until([&] { return seen.size() == 40; }, kWait));
  consumer->stop();
  for (const Record& r : seen.snapshot()) {
    const int i = std::stoi(r.key.substr(1));
    CHECK(r.value == value_of(i));
  }
}

TEST_CASE("a PermanentError dead-letters the record at once and the next one is processed",
          "[kafka]") {
  Env env({"leads"});
  require_all_ok(
      env.producer->send_all_sync({message("leads", "demo:1", "good-1"),
                                   message("leads", "demo:2", "poison", {{"traceparent", "00-1"}}),
                                   message("leads", "demo:3", "good-2")}));
  Collected ok;
  std::atomic<int> poison_calls{0};
  const ConsumerConfig cc = env.consumer_config("leads", "store");
  Consumer consumer(
      cc, *env.producer,
      [&](const Record& r, const leadpipe::log::Logger&) {
        if (r.value == "poison") {
          ++poison_calls;
          throw PermanentError("data: /lead_id missing");
        }
        ok.add(r);
      },
      leadpipe::log::root(), env.registry);
  consumer.start();
  REQUIRE(wait_until([&] { return ok.size() == 2; }, kWait));
  CHECK(ok.snapshot()[0].value == "good-1");
  CHECK(ok.snapshot()[1].value == "good-2");
  CHECK(poison_calls == 1);  // never retried

  Collected dead;
  auto reader = env.reader("leads.dlq", dead);
  REQUIRE(wait_until([&] { return dead.size() == 1; }, kWait));
  const Record d = dead.snapshot().front();
  CHECK(d.key == "demo:2");
  CHECK(d.value == "poison");
  CHECK(d.header("traceparent") == "00-1");
  CHECK(d.header("dlq.reason") == "data: /lead_id missing");
  CHECK(d.header("dlq.error_class") == "permanent");
  CHECK(d.header("dlq.source_topic") == "leads");
  CHECK(d.header("dlq.source_partition") == "0");
  CHECK(d.header("dlq.source_offset") == "1");
  CHECK(d.header("dlq.attempts") == "1");
  CHECK(d.header("dlq.consumer_group") == cc.group_id);
  CHECK(metric(*env.registry, "leadpipe_kafka_consumed_total",
               {{"topic", "leads"}, {"outcome", "ok"}}) == 2);
  CHECK(metric(*env.registry, "leadpipe_kafka_consumed_total",
               {{"topic", "leads"}, {"outcome", "dead_lettered"}}) == 1);
  CHECK(metric(*env.registry, "leadpipe_kafka_consumer_lag",
               {{"topic", "leads"}, {"partition", "0"}, {"group", cc.group_id}}) == 0);
}

TEST_CASE("a transient failure is retried and the record processed once, without a dead letter",
          "[kafka]") {
  Env env({"flaky"});
  require_all_ok({env.producer->send_sync(message("flaky", "k", "x"))});
  std::atomic<int> calls{0};
  Collected done;
  Consumer consumer(
      env.consumer_config("flaky", "g"), *env.producer,
      [&](const Record& r, const leadpipe::log::Logger&) {
        if (++calls <= 2) throw std::runtime_error("database unavailable");
        done.add(r);
      },
      leadpipe::log::root(), env.registry);
  consumer.start();
  REQUIRE(wait_until([&] { return done.size() == 1; }, kWait));
  consumer.stop();
  CHECK(calls == 3);
  CHECK(done.size() == 1);
  CHECK(metric(*env.registry, "leadpipe_kafka_consumed_total",
               {{"topic", "flaky"}, {"outcome", "retried"}}) == 2);
  CHECK(metric(*env.registry, "leadpipe_kafka_consumed_total",
               {{"topic", "flaky"}, {"outcome", "ok"}}) == 1);
  require_empty(env, "flaky.dlq");
}

TEST_CASE("an unavailable dependency holds the record past max_attempts, never dead-lettering it",
          "[kafka]") {
  Env env({"outage"});
  require_all_ok(env.producer->send_all_sync(
      {message("outage", "k", "first"), message("outage", "k", "second")}));
  std::atomic<int> calls{0};
  Collected done;
  ConsumerConfig cc = env.consumer_config("outage", "g");
  cc.max_attempts = 2;
  cc.retry_backoff = std::chrono::milliseconds(5);
  cc.max_backoff = std::chrono::milliseconds(20);
  Consumer consumer(
      cc, *env.producer,
      [&](const Record& r, const leadpipe::log::Logger&) {
        // The database is "down" for the first six calls: far more than max_attempts.
        if (++calls <= 6) throw leadpipe::kafka::UnavailableError("connection refused");
        done.add(r);
      },
      leadpipe::log::root(), env.registry);
  consumer.start();
  REQUIRE(wait_until([&] { return done.size() == 2; }, kWait));
  consumer.stop();
  const auto got = done.snapshot();
  CHECK(got[0].value == "first");  // held in place: order kept, nothing skipped
  CHECK(got[1].value == "second");
  CHECK(calls == 8);
  CHECK(metric(*env.registry, "leadpipe_kafka_consumed_total",
               {{"topic", "outage"}, {"outcome", "retried"}}) == 6);
  require_empty(env, "outage.dlq");
}

TEST_CASE("exhausted retries dead-letter the record with error_class=exhausted", "[kafka]") {
  Env env({"broken"});
  require_all_ok(env.producer->send_all_sync(
      {message("broken", "k", "never"), message("broken", "k", "fine")}));
  std::atomic<int> calls{0};
  Collected ok;
  ConsumerConfig cc = env.consumer_config("broken", "g");
  cc.max_attempts = 3;
  Consumer consumer(
      cc, *env.producer,
      [&](const Record& r, const leadpipe::log::Logger&) {
        if (r.value == "never") {
          ++calls;
          throw std::runtime_error("upstream 503");
        }
        ok.add(r);
      },
      leadpipe::log::root());
  consumer.start();
  REQUIRE(wait_until([&] { return ok.size() == 1; }, kWait));
  CHECK(calls == 3);

  Collected dead;
  auto reader = env.reader("broken.dlq", dead);
  REQUIRE(wait_until([&] { return dead.size() == 1; }, kWait));
  const Record d = dead.snapshot().front();
  CHECK(d.value == "never");
  CHECK(d.header("dlq.error_class") == "exhausted");
  CHECK(d.header("dlq.attempts") == "3");
  CHECK(d.header("dlq.reason") == "upstream 503");
  CHECK(d.header("dlq.source_offset") == "0");
}

TEST_CASE("after stop() a new consumer in the same group resumes after the last processed offset",
          "[kafka]") {
  Env env({"resume"});
  std::vector<Message> first;
  for (int i = 0; i < 5; ++i) first.push_back(message("resume", "k", std::to_string(i)));
  require_all_ok(env.producer->send_all_sync(first));

  const ConsumerConfig cc = env.consumer_config("resume", "g");
  Collected a_seen;
  {
    Consumer a(
        cc, *env.producer, [&](const Record& r, const leadpipe::log::Logger&) { a_seen.add(r); },
        leadpipe::log::root());
    a.start();
    REQUIRE(wait_until([&] { return a_seen.size() == 5; }, kWait));
    a.stop();
    a.stop();  // idempotent
  }
  std::vector<Message> second;
  for (int i = 5; i < 10; ++i) second.push_back(message("resume", "k", std::to_string(i)));
  require_all_ok(env.producer->send_all_sync(second));

  Collected b_seen;
  Consumer b(
      cc, *env.producer, [&](const Record& r, const leadpipe::log::Logger&) { b_seen.add(r); },
      leadpipe::log::root());
  b.start();
  REQUIRE(wait_until([&] { return b_seen.size() >= 5; }, kWait));
  b.stop();
  const auto records = b_seen.snapshot();
  REQUIRE(records.size() == 5);  // a clean stop committed everything: nothing re-processed
  for (int i = 0; i < 5; ++i) {
    CHECK(records[i].offset == 5 + i);
    CHECK(records[i].value == std::to_string(5 + i));
  }
}

TEST_CASE("a failed dead-letter write leaves the offset unstored so the record comes back",
          "[kafka]") {
  Env env({"dlqdown"});
  require_all_ok({env.producer->send_sync(message("dlqdown", "k", "poison"))});

  // A DLQ producer that cannot reach any broker: every dead letter fails.
  ProducerConfig broken;
  broken.client = env.client;
  broken.client.brokers = "127.0.0.1:1";
  broken.delivery_timeout = 300ms;
  Producer unreachable(broken, leadpipe::log::root());

  const ConsumerConfig cc = env.consumer_config("dlqdown", "g");
  std::atomic<int> calls{0};
  auto poison = [&](const Record&, const leadpipe::log::Logger&) {
    ++calls;
    throw PermanentError("bad event");
  };
  {
    Consumer a(cc, unreachable, poison, leadpipe::log::root());
    a.start();
    REQUIRE(wait_until([&] { return calls >= 1; }, kWait));
    // Let it fail the DLQ write at least once (each try takes delivery_timeout).
    REQUIRE(wait_until([&] { return !unreachable.healthy(); }, kWait));
    a.stop();
  }
  const int calls_before = calls;

  Consumer b(cc, *env.producer, poison, leadpipe::log::root());
  b.start();
  REQUIRE(wait_until([&] { return calls > calls_before; }, kWait));  // redelivered, not skipped
  Collected dead;
  auto reader = env.reader("dlqdown.dlq", dead);
  REQUIRE(wait_until([&] { return dead.size() == 1; }, kWait));
  CHECK(dead.snapshot().front().value == "poison");
}

TEST_CASE("create_topics is idempotent and waits until topics are usable", "[kafka]") {
  ClientConfig client;
  client.brokers = leadpipe::testing::kafka_brokers();
  client.topic_prefix = leadpipe::testing::unique_name("kt") + ".";
  create_topics(client, {"a", "b", "a"}, 3);
  CHECK_NOTHROW(create_topics(client, {"a", "b"}, 3));

  ProducerConfig pc;
  pc.client = client;
  Producer producer(pc, leadpipe::log::root());
  std::set<int32_t> partitions;
  for (int i = 0; i < 30; ++i) {
    const auto r = producer.send_sync(message("a", "key-" + std::to_string(i), "v"));
    REQUIRE(r.ok);
    partitions.insert(r.partition);
  }
  CHECK(partitions.size() == 3);

  ClientConfig bad = client;
  CHECK_THROWS_AS(create_topics(bad, {"c"}, 0), std::exception);
}

namespace {

// Whether the cluster's metadata lists the (wire) topic; asks for all topics,
// so it never auto-creates one.
bool topic_listed(const std::string& brokers, const std::string& wire) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk != nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const bool ok = rd_kafka_metadata(rk, 1, nullptr, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR;
  bool found = false;
  for (int i = 0; ok && i < md->topic_cnt; ++i) found = found || wire == md->topics[i].topic;
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);
  REQUIRE(ok);
  return found;
}

}  // namespace

TEST_CASE("delete_topics removes the topics and is idempotent", "[kafka]") {
  ClientConfig client;
  client.brokers = leadpipe::testing::kafka_brokers();
  client.topic_prefix = leadpipe::testing::unique_name("kt") + ".";
  create_topics(client, {"gone", "kept"}, 1);
  ProducerConfig pc;
  pc.client = client;
  {
    Producer producer(pc, leadpipe::log::root());
    REQUIRE(producer.send_sync(message("gone", "k", "some data")).ok);
  }
  REQUIRE(topic_listed(client.brokers, client.topic_prefix + "gone"));

  delete_topics(client, {"gone", "gone"});
  CHECK(wait_until([&] { return !topic_listed(client.brokers, client.topic_prefix + "gone"); }, kWait));
  CHECK(topic_listed(client.brokers, client.topic_prefix + "kept"));
  CHECK_NOTHROW(delete_topics(client, {"gone", "never-existed"}));  // absent counts as deleted
  delete_topics(client, {"kept"});
}
