// Fast tests against librdkafka's in-process mock cluster (no real broker).
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <thread>

#include "leadpipe/kafka/consumer.hpp"
#include "leadpipe/kafka/producer.hpp"
#include "leadpipe/testing/infra.hpp"
#include "test_support.hpp"

using namespace leadpipe::kafka;
using kafka_test::message;
using kafka_test::metric;
using leadpipe::testing::wait_until;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A mock cluster owned by a throwaway client handle; other clients reach it
// through its bootstrap address like a real cluster.
class MockCluster {
 public:
  explicit MockCluster(int brokers = 1) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE(rk_ != nullptr);
    cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
    REQUIRE(cluster_ != nullptr);
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  const std::string& bootstraps() const { return bootstraps_; }
  void create_topic(const std::string& name, int partitions = 1) {
    REQUIRE(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void set_broker_up(bool up) {
    constexpr int32_t kBroker = 1;  // mock broker ids start at 1
    REQUIRE((up ? rd_kafka_mock_broker_set_up(cluster_, kBroker)
                : rd_kafka_mock_broker_set_down(cluster_, kBroker)) == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void fail_next_produce(rd_kafka_resp_err_t err, int times = 1) {
    std::vector<rd_kafka_resp_err_t> errs(times, err);
    constexpr int16_t kProduceApiKey = 0;  // RD_KAFKAP_Produce lives in a private header
    rd_kafka_mock_push_request_errors_array(cluster_, kProduceApiKey, errs.size(), errs.data());
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

ProducerConfig producer_config(const std::string& brokers, const std::string& prefix = "") {
  ProducerConfig c;
  c.client.brokers = brokers;
  c.client.client_id = "kafka-unit-test";
  c.client.topic_prefix = prefix;
  return c;
}

}  // namespace

TEST_CASE("send_all_sync delivers in order with partition, offset and metrics", "[unit]") {
  MockCluster cluster;
  cluster.create_topic("pre.orders", 4);
  auto registry = std::make_shared<prometheus::Registry>();
  Producer producer(producer_config(cluster.bootstraps(), "pre."), leadpipe::log::root(), registry);

  std::vector<Message> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(message("orders", "demo:lead-1", "v" + std::to_string(i)));
  const auto results = producer.send_all_sync(batch);
  REQUIRE(results.size() == 5);
  for (std::size_t i = 0; i < results.size(); ++i) {
    INFO(i << ": " << results[i].error);
    CHECK(results[i].ok);
    CHECK(results[i].partition == results[0].partition);  // same key, same partition
    CHECK(results[i].offset == results[0].offset + static_cast<int64_t>(i));
  }
  CHECK(producer.send_all_sync({}).empty());
  CHECK(producer.healthy());
  // Metrics report the unprefixed topic.
  CHECK(metric(*registry, "leadpipe_kafka_produced_total",
               {{"topic", "orders"}, {"result", "ok"}}) == 5);
  CHECK(metric(*registry, "leadpipe_kafka_produce_latency_seconds", {}) == 5);
}

TEST_CASE("awaitable send_all completes on the awaiting coroutine's executor", "[unit]") {
  MockCluster cluster;
  cluster.create_topic("events", 1);
  Producer producer(producer_config(cluster.bootstraps()), leadpipe::log::root());

  asio::io_context ioc;
  std::vector<DeliveryResult> results;
  DeliveryResult single;
  std::size_t empty_size = 99;
  std::thread::id resumed_on;
  bool done = false;
  // Built outside the coroutine: GCC 12 miscompiles braced vector initialisers inside one.
  std::vector<Message> batch{message("events", "k1", "a"), message("events", "k2", "b"),
                             message("events", "", "c")};
  Message with_header = message("events", "k3", "d", {{"h", "v"}});
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        results = co_await producer.send_all(std::move(batch));
        resumed_on = std::this_thread::get_id();
        single = co_await producer.send(std::move(with_header));
        empty_size = (co_await producer.send_all(std::vector<Message>())).size();
        done = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  // run() returns only when the coroutine finished: in-flight sends keep the
  // io_context's work count up.
  ioc.run();
  REQUIRE(done);
  CHECK(resumed_on == std::this_thread::get_id());
  REQUIRE(results.size() == 3);
  for (const auto& r : results) CHECK(r.ok);
  CHECK(single.ok);
  CHECK(single.offset == 3);
  CHECK(empty_size == 0);
}

// Delivery reports served in one poll are handed to their waiters together,
// one posted function per executor: every coroutine must still resume on its
// own io_context's thread, with its own results, and each io_context's run()
// must return once its coroutines are done.
TEST_CASE("sends finished together resume every coroutine on its own executor", "[unit]") {
  MockCluster cluster;
  cluster.create_topic("events", 1);
  ProducerConfig cfg = producer_config(cluster.bootstraps());
  cfg.linger = 20ms;  // many sends in one produce request, reported in one poll
  Producer producer(cfg, leadpipe::log::root());

  constexpr int kPerContext = 40;
  struct Side {
    asio::io_context ioc;
    std::thread::id thread;
    std::vector<std::thread::id> resumed_on = std::vector<std::thread::id>(kPerContext);
    std::vector<std::string> got = std::vector<std::string>(kPerContext);
    std::atomic<int> done{0};
  };
  Side sides[2];
  for (int s = 0; s < 2; ++s) {
    for (int i = 0; i < kPerContext; ++i) {
      Side& side = sides[s];
      Message m = message("events", "k", std::to_string(s) + ":" + std::to_string(i));
      asio::co_spawn(
          side.ioc,
          [&side, &producer, i, m = std::move(m)]() mutable -> asio::awaitable<void> {
            const std::string value = m.value;
            const DeliveryResult r = co_await producer.send(std::move(m));
            side.resumed_on[i] = std::this_thread::get_id();
            side.got[i] = r.ok ? value : "failed: " + r.error;
            ++side.done;
          },
          [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
          });
    }
  }
  std::thread runners[2];
  for (int s = 0; s < 2; ++s) {
    runners[s] = std::thread([&side = sides[s]] {
      side.thread = std::this_thread::get_id();
      side.ioc.run();
    });
  }
  for (auto& t : runners) t.join();  // run() returned: nothing left waiting
  for (int s = 0; s < 2; ++s) {
    CHECK(sides[s].done == kPerContext);
    for (int i = 0; i < kPerContext; ++i) {
      INFO("context " << s << " send " << i);
      CHECK(sides[s].resumed_on[i] == sides[s].thread);
      CHECK(sides[s].got[i] == std::to_string(s) + ":" + std::to_string(i));
    }
  }
}

TEST_CASE("a topic name librdkafka refuses fails its messages at once, every time", "[unit]") {
  MockCluster cluster;
  cluster.create_topic("ok", 1);
  auto registry = std::make_shared<prometheus::Registry>();
  Producer producer(producer_config(cluster.bootstraps()), leadpipe::log::root(), registry);
  const std::string invalid(600, 't');  // longer than librdkafka's 512-byte topic name limit
  for (int round = 0; round < 2; ++round) {  // the second send takes the kept topic entry
    const auto sync = producer.send_all_sync({message(invalid, "k", "v"), message("ok", "k", "v")});
    REQUIRE(sync.size() == 2);
    CHECK_FALSE(sync[0].ok);
    CHECK_FALSE(sync[0].error.empty());
    CHECK(sync[1].ok);
  }
  CHECK(metric(*registry, "leadpipe_kafka_produced_total", {{"topic", invalid}, {"result", "error"}}) == 2);
}

TEST_CASE("a produce refused up front completes with an error instead of throwing", "[unit]") {
  MockCluster cluster;
  cluster.create_topic("big", 1);
  auto registry = std::make_shared<prometheus::Registry>();
  Producer producer(producer_config(cluster.bootstraps()), leadpipe::log::root(), registry);
  const std::string too_large(2 * 1024 * 1024, 'x');  // > message.max.bytes (1 MB)

  const auto sync =
      producer.send_all_sync({message("big", "k", "small"), message("big", "k", too_large),
                              message("big", "k", "small2")});
  REQUIRE(sync.size() == 3);
  CHECK(sync[0].ok);
  CHECK_FALSE(sync[1].ok);
  CHECK_FALSE(sync[1].retriable);
  CHECK_FALSE(sync[1].error.empty());
  CHECK(sync[2].ok);
  CHECK(metric(*registry, "leadpipe_kafka_produced_total",
               {{"topic", "big"}, {"result", "error"}}) == 1);

  asio::io_context ioc;
  DeliveryResult async_result;
  async_result.ok = true;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        async_result = co_await producer.send(message("big", "k", too_large));
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.run();
  CHECK_FALSE(async_result.ok);
  CHECK_FALSE(async_result.error.empty());
}

TEST_CASE("a broker-side produce error arrives in the delivery result", "[unit]") {
  MockCluster cluster;
  cluster.create_topic("denied", 1);
  Producer producer(producer_config(cluster.bootstraps()), leadpipe::log::root());
  REQUIRE(
      producer.send_sync(message("denied", "k", "warm-up")).ok);  // PID acquired, metadata known

  cluster.fail_next_produce(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  const DeliveryResult r = producer.send_sync(message("denied", "k", "v"));
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.retriable);
  CHECK(r.error.find("uthoriz") != std::string::npos);
}

TEST_CASE("an unreachable broker fails the send within delivery_timeout and turns unhealthy",
          "[unit]") {
  ProducerConfig cfg = producer_config("127.0.0.1:1");  // nothing listens on port 1
  cfg.delivery_timeout = 1500ms;
  Producer producer(cfg, leadpipe::log::root());

  const auto started = std::chrono::steady_clock::now();
  const DeliveryResult r = producer.send_sync(message("anything", "k", "v"));
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK_FALSE(r.ok);
  CHECK(r.retriable);
  CHECK(took < cfg.delivery_timeout + 1500ms);
  CHECK(wait_until([&] { return !producer.healthy(); }, 10s));
}

TEST_CASE("health follows the brokers: down, then up again", "[unit]") {
  MockCluster cluster;
  cluster.create_topic("h", 1);
  Producer producer(producer_config(cluster.bootstraps()), leadpipe::log::root());
  kafka_test::Collected seen;
  ConsumerConfig cc;
  cc.client.brokers = cluster.bootstraps();
  cc.group_id = "health-group";
  cc.topics = {"h"};
  Consumer consumer(
      cc, producer, [&](const Record& r, const leadpipe::log::Logger&) { seen.add(r); },
      leadpipe::log::root());
  CHECK_FALSE(consumer.healthy());  // not started
  consumer.start();
  REQUIRE(producer.send_sync(message("h", "k", "1")).ok);
  REQUIRE(wait_until([&] { return seen.size() == 1; }, 30s));
  CHECK(producer.healthy());
  CHECK(consumer.healthy());

  cluster.set_broker_up(false);
  CHECK(wait_until([&] { return !producer.healthy() && !consumer.healthy(); }, 30s));
  cluster.set_broker_up(true);
  // Recovery is noticed by the metadata probe even with no traffic.
  CHECK(wait_until([&] { return producer.healthy() && consumer.healthy(); }, 30s));
  consumer.stop();
  CHECK_FALSE(consumer.healthy());
}

TEST_CASE("destroying the producer completes in-flight sends", "[unit]") {
  ProducerConfig cfg = producer_config("127.0.0.1:1");
  cfg.delivery_timeout = 60s;  // would keep the message queued for a minute
  cfg.close_timeout = 200ms;

  asio::io_context ioc;
  std::vector<DeliveryResult> results;
  std::atomic<bool> enqueued{false};
  auto producer = std::make_unique<Producer>(cfg, leadpipe::log::root());
  std::vector<Message> two{message("t", "k", "1"), message("t", "k", "2")};
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto pending = producer->send_all(std::move(two));
        enqueued = true;
        results = co_await std::move(pending);
      },
      asio::detached_t{});
  std::thread runner([&] { ioc.run(); });
  REQUIRE(wait_until([&] { return enqueued.load(); }, 5s));
  const auto started = std::chrono::steady_clock::now();
  producer.reset();
  runner.join();  // returns only once the coroutine got its results
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    CHECK_FALSE(r.ok);
    CHECK(r.retriable);
    CHECK(r.error.find("urge") != std::string::npos);  // "Purged in queue"
  }
}

TEST_CASE("consumer on the mock cluster: records, a poison pill to the DLQ, then more records",
          "[unit]") {
  MockCluster cluster;
  cluster.create_topic("in", 1);
  cluster.create_topic("in.dlq", 1);
  Producer producer(producer_config(cluster.bootstraps()), leadpipe::log::root());
  REQUIRE(producer
              .send_all_sync({message("in", "k", "a"), message("in", "k", "poison"),
                              message("in", "k", "b", {{"trace", "t1"}})})
              .size() == 3);

  kafka_test::Collected seen;
  ConsumerConfig cc;
  cc.client.brokers = cluster.bootstraps();
  cc.client.client_id = "kafka-unit-test";
  cc.group_id = "unit-group";
  cc.topics = {"in"};
  Consumer consumer(
      cc, producer,
      [&](const Record& r, const leadpipe::log::Logger&) {
        if (r.value == "poison") throw PermanentError("cannot parse");
        seen.add(r);
      },
      leadpipe::log::root());
  consumer.start();
  REQUIRE(wait_until([&] { return seen.size() == 2; }, 30s));
  CHECK(consumer.healthy());

  kafka_test::Collected dead;
  ConsumerConfig dc = cc;
  dc.group_id = "unit-dlq-reader";
  dc.topics = {"in.dlq"};
  Consumer dlq_reader(
      dc, producer, [&](const Record& r, const leadpipe::log::Logger&) { dead.add(r); },
      leadpipe::log::root());
  dlq_reader.start();
  REQUIRE(wait_until([&] { return dead.size() == 1; }, 30s));
  consumer.stop();
  dlq_reader.stop();
  CHECK_FALSE(consumer.healthy());

  const auto ok = seen.snapshot();
  CHECK(ok[0].value == "a");
  CHECK(ok[1].value == "b");
  CHECK(ok[1].header("trace") == "t1");
  const Record d = dead.snapshot().front();
  CHECK(d.value == "poison");
  CHECK(d.header("dlq.error_class") == "permanent");
  CHECK(d.header("dlq.reason") == "cannot parse");
  CHECK(d.header("dlq.source_offset") == "1");
}
