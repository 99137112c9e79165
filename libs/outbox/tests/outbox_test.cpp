// Outbox, relay and idempotent consumer against the real test PostgreSQL.
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/testing/infra.hpp>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <prometheus/registry.h>

#include <future>
#include <mutex>
#include <thread>

namespace outbox = leadpipe::outbox;
namespace testing = leadpipe::testing;
using outbox::OutboxMessage;
using std::chrono::milliseconds;

namespace {

// A publish callback that records what it was asked and what it acked.
class Recorder {
 public:
  // decide(batch, call_number) -> acks; default: ack everything.
  using Decide = std::function<std::vector<bool>(const std::vector<OutboxMessage>&, int)>;
  explicit Recorder(Decide decide = nullptr) : decide_(std::move(decide)) {}

  outbox::Relay::Publish publish() {
    return [this](const std::vector<OutboxMessage>& batch) {
      std::vector<bool> acks;
      int call = 0;
      {
        std::lock_guard lock(mu_);
        std::vector<std::int64_t> ids;
        for (const auto& m : batch) ids.push_back(m.id);
        calls_.push_back(ids);
        call = static_cast<int>(calls_.size());
      }
      acks = decide_ ? decide_(batch, call) : std::vector<bool>(batch.size(), true);
      std::lock_guard lock(mu_);
      for (std::size_t i = 0; i < batch.size() && i < acks.size(); ++i) {
        if (acks[i]) acked_.push_back(batch[i]);
      }
      return acks;
    };
  }
  std::vector<OutboxMessage> acked() {
    std::lock_guard lock(mu_);
    return acked_;
  }
  std::size_t acked_count() {
    std::lock_guard lock(mu_);
    return acked_.size();
  }
  std::vector<std::int64_t> acked_ids() {
    std::lock_guard lock(mu_);
    std::vector<std::int64_t> ids;
    for (const auto& m : acked_) ids.push_back(m.id);
    return ids;
  }
  std::vector<std::vector<std::int64_t>> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  Decide decide_;
  std::mutex mu_;
  std::vector<std::vector<std::int64_t>> calls_;
  std::vector<OutboxMessage> acked_;
};

double metric(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    double total = 0;
    for (const auto& m : family.metric) total += m.counter.value + m.gauge.value;
    return total;
  }
  return -1;
}

struct Fixture {
  std::string url = testing::create_database("outbox");
  std::string schema = testing::unique_name("ob");
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  Fixture() {
    pqxx::connection c(url);
    pqxx::work tx(c);
    tx.exec0("CREATE SCHEMA " + schema);
    tx.exec(outbox::ddl(schema));
    tx.commit();
  }

  outbox::RelayConfig relay_config() const {
    return {.url = url,
            .schema = schema,
            .batch_size = 200,
            .poll_interval = milliseconds(100),
            .retry_backoff = milliseconds(50)};
  }

  // Enqueues payloads in one committed transaction; returns their ids.
  std::vector<std::int64_t> enqueue(const std::vector<std::string>& payloads,
                                    const std::string& topic = "lead.created") {
    pqxx::connection c(url);
    pqxx::work tx(c);
    for (const auto& p : payloads) {
      outbox::enqueue(tx, schema, {.topic = topic, .key = "t1:" + p, .payload = p});
    }
    const auto rows = tx.exec("SELECT id FROM " + schema + ".outbox ORDER BY id DESC LIMIT " +
                              std::to_string(payloads.size()));
    tx.commit();
    std::vector<std::int64_t> ids;
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) ids.push_back((*it)[0].as<std::int64_t>());
    return ids;
  }

  int count(const std::string& where) {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT count(*) FROM " + schema + ".outbox WHERE " + where)[0].as<int>();
  }
};

std::vector<std::string> payloads(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("m" + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE_METHOD(Fixture, "a rolled-back enqueue is never published", "[pg]") {
  Recorder rec;
  outbox::Relay relay(relay_config(), rec.publish(), leadpipe::log::root(), registry);
  relay.start();
  {
    pqxx::connection c(url);
    pqxx::work tx(c);
    outbox::enqueue(tx, schema, {.topic = "lead.created", .key = "k", .payload = "ghost"});
    tx.abort();
  }
  enqueue({"real"});  // the barrier: once it is published, the ghost had its chance
  REQUIRE(testing::wait_until([&] { return rec.acked_count() >= 1; }));
  relay.stop();
  const auto acked = rec.acked();
  REQUIRE(acked.size() == 1);
  CHECK(acked[0].payload == "real");
  CHECK(count("true") == 1);
  CHECK(relay.backlog() == 0);
}

TEST_CASE_METHOD(Fixture, "the relay publishes every row once in id order with fields intact", "[pg]") {
  Recorder rec;
  auto config = relay_config();
  config.batch_size = 7;
  outbox::Relay relay(config, rec.publish(), leadpipe::log::root(), registry);
  relay.start();

  std::vector<std::int64_t> ids;
  for (int t = 0; t < 10; ++t) {
    const auto more = enqueue(payloads(t * 5, t * 5 + 5));
    ids.insert(ids.end(), more.begin(), more.end());
  }
  {
    pqxx::connection c(url);
    pqxx::work tx(c);
    outbox::enqueue(tx, schema,
                    {.topic = "lead.stage_changed",
                     .key = "t1:lead-9",
                     .payload = R"({"data":{"stage":"contacted"}})",
                     .headers = {{"ce_type", "lead.stage_changed"}, {"traceparent", "00-ab \"q\"-01"}}});
    tx.commit();
  }
  REQUIRE(testing::wait_until([&] { return rec.acked_count() >= 51; }));
  relay.stop();

  const auto acked = rec.acked();
  REQUIRE(acked.size() == 51);
  for (std::size_t i = 0; i < 50; ++i) {
    CHECK(acked[i].id == ids[i]);
    CHECK(acked[i].payload == "m" + std::to_string(i));
    CHECK(acked[i].key == "t1:m" + std::to_string(i));
    CHECK(acked[i].topic == "lead.created");
  }
  const OutboxMessage& last = acked[50];
  CHECK(last.id > ids.back());
  CHECK(last.topic == "lead.stage_changed");
  CHECK(last.payload == R"({"data":{"stage":"contacted"}})");
  REQUIRE(last.headers.size() == 2);
  CHECK(last.headers[0] == std::pair<std::string, std::string>{"ce_type", "lead.stage_changed"});
  CHECK(last.headers[1] == std::pair<std::string, std::string>{"traceparent", "00-ab \"q\"-01"});

  for (const auto& call : rec.calls()) CHECK(call.size() <= 7);
  CHECK(count("published_at IS NULL") == 0);
  CHECK(relay.backlog() == 0);
  CHECK(metric(*registry, "leadpipe_outbox_published_total") == 51);
  CHECK(metric(*registry, "leadpipe_outbox_publish_failures_total") == 0);
}

TEST_CASE_METHOD(Fixture, "the relay wakes on NOTIFY, not only by polling", "[pg]") {
  Recorder rec;
  auto config = relay_config();
  config.poll_interval = std::chrono::seconds(60);  // polling alone would take a minute
  outbox::Relay relay(config, rec.publish(), leadpipe::log::root(), registry);
  relay.start();
  enqueue({"first"});
  REQUIRE(testing::wait_until([&] { return rec.acked_count() == 1; }, std::chrono::seconds(10)));
  // The relay is now idle in its 60 s wait; only the notification can wake it.
  enqueue({"second"});
  REQUIRE(testing::wait_until([&] { return rec.acked_count() == 2; }, std::chrono::seconds(5)));
  CHECK(rec.acked()[1].payload == "second");
  const auto started = std::chrono::steady_clock::now();
  relay.stop();  // interrupts the 60 s wait
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE_METHOD(Fixture, "a failed publish is retried from the first failure and never skipped",
                 "[pg]") {
  const auto ids = enqueue(payloads(1, 6));  // five messages, one transaction
  std::vector<std::int64_t> published_during_retry;

  SECTION("broker fails message 3 and everything after it") {
    Recorder rec([&](const std::vector<OutboxMessage>& batch, int call) {
      if (call == 1) return std::vector<bool>{true, true, false, false, false};
      if (call == 2) {
        pqxx::connection c(url);
        pqxx::nontransaction tx(c);
        for (const auto& row : tx.exec("SELECT id FROM " + schema +
                                       ".outbox WHERE published_at IS NOT NULL ORDER BY id")) {
          published_during_retry.push_back(row[0].as<std::int64_t>());
        }
      }
      return std::vector<bool>(batch.size(), true);
    });
    outbox::Relay relay(relay_config(), rec.publish(), leadpipe::log::root(), registry);
    relay.start();
    REQUIRE(testing::wait_until([&] { return rec.acked_count() >= 5; }));
    relay.stop();

    const auto calls = rec.calls();
    REQUIRE(calls.size() >= 2);
    CHECK(calls[0] == ids);
    CHECK(calls[1] == std::vector<std::int64_t>(ids.begin() + 2, ids.end()));
    CHECK(published_during_retry == std::vector<std::int64_t>(ids.begin(), ids.begin() + 2));
    CHECK(rec.acked_ids() == ids);  // 1..5, each exactly once, in order
    CHECK(calls.size() == 2);
    CHECK(metric(*registry, "leadpipe_outbox_publish_failures_total") == 1);
    CHECK(metric(*registry, "leadpipe_outbox_published_total") == 5);
  }

  SECTION("acks after a failure do not let the relay skip the failed message") {
    Recorder rec([&](const std::vector<OutboxMessage>& batch, int call) {
      if (call == 1) return std::vector<bool>{true, true, false, true, true};
      return std::vector<bool>(batch.size(), true);
    });
    outbox::Relay relay(relay_config(), rec.publish(), leadpipe::log::root(), registry);
    relay.start();
    REQUIRE(testing::wait_until([&] { return count("published_at IS NULL") == 0; }));
    relay.stop();
    const auto calls = rec.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[1] == std::vector<std::int64_t>(ids.begin() + 2, ids.end()));
  }

  SECTION("a throwing callback publishes nothing and is retried") {
    Recorder rec([&](const std::vector<OutboxMessage>& batch, int call) {
      if (call == 1) throw std::runtime_error("broker unreachable");
      return std::vector<bool>(batch.size(), true);
    });
    outbox::Relay relay(relay_config(), rec.publish(), leadpipe::log::root(), registry);
    relay.start();
    REQUIRE(testing::wait_until([&] { return rec.acked_count() >= 5; }));
    relay.stop();
    const auto calls = rec.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0] == ids);
    CHECK(calls[1] == ids);
    CHECK(rec.acked_ids() == ids);
  }
}

TEST_CASE_METHOD(Fixture, "a restarted relay continues where the last one stopped", "[pg]") {
  Recorder first;
  auto before = enqueue(payloads(0, 5));
  {
    outbox::Relay relay(relay_config(), first.publish(), leadpipe::log::root(), registry);
    relay.start();
    REQUIRE(testing::wait_until([&] { return first.acked_count() == 5; }));
  }  // destructor stops it
  const auto during_downtime = enqueue(payloads(5, 10));
  CHECK(count("published_at IS NULL") == 5);

  Recorder second;
  outbox::Relay relay(relay_config(), second.publish(), leadpipe::log::root(), registry);
  relay.start();
  REQUIRE(testing::wait_until([&] { return second.acked_count() == 5; }));
  CHECK(second.acked_ids() == during_downtime);
  CHECK(first.acked_ids() == before);

  // The same object can be stopped and started again.
  relay.stop();
  const auto after_restart = enqueue(payloads(10, 12));
  relay.start();
  REQUIRE(testing::wait_until([&] { return second.acked_count() == 7; }));
  relay.stop();
  const auto all = second.acked_ids();
  CHECK(std::vector<std::int64_t>(all.begin() + 5, all.end()) == after_restart);
  CHECK(count("published_at IS NULL") == 0);
}

TEST_CASE_METHOD(Fixture, "two relays on one schema - one publishes and the other takes over", "[pg]") {
  Recorder rec_a, rec_b;
  outbox::Relay a(relay_config(), rec_a.publish(), leadpipe::log::root(), registry);
  outbox::Relay b(relay_config(), rec_b.publish(), leadpipe::log::root(), registry);
  a.start();
  REQUIRE(testing::wait_until([&] { return a.active(); }));
  b.start();

  std::vector<std::int64_t> ids;
  for (int t = 0; t < 4; ++t) {
    const auto more = enqueue(payloads(t * 5, t * 5 + 5));
    ids.insert(ids.end(), more.begin(), more.end());
  }
  REQUIRE(testing::wait_until([&] { return rec_a.acked_count() == 20; }));
  CHECK(rec_a.acked_ids() == ids);
  CHECK(rec_b.calls().empty());
  CHECK_FALSE(b.active());

  // The active relay goes away: the standby takes over within its poll interval.
  a.stop();
  REQUIRE(testing::wait_until([&] { return b.active(); }));
  const auto later = enqueue(payloads(20, 25));
  REQUIRE(testing::wait_until([&] { return rec_b.acked_count() == 5; }));
  CHECK(rec_b.acked_ids() == later);
  CHECK(rec_a.acked_count() == 20);
  b.stop();
}

TEST_CASE_METHOD(Fixture, "the relay recovers when its database sessions are killed", "[pg]") {
  Recorder rec;
  outbox::Relay relay(relay_config(), rec.publish(), leadpipe::log::root(), registry);
  relay.start();
  const auto first = enqueue(payloads(0, 3));
  // Published and marked: killing the sessions now cannot cause a resend.
  REQUIRE(testing::wait_until(
      [&] { return rec.acked_count() == 3 && count("published_at IS NULL") == 0; }));
  {
    pqxx::connection admin(testing::pg_admin_url());
    pqxx::nontransaction tx(admin);
    tx.exec_params(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1",
        "leadpipe-outbox-%:" + schema);
  }
  const auto second = enqueue(payloads(3, 6));
  REQUIRE(testing::wait_until([&] { return rec.acked_count() >= 6; }));
  relay.stop();
  auto expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  CHECK(rec.acked_ids() == expected);
}

TEST_CASE_METHOD(Fixture, "only published rows past the retention are deleted", "[pg]") {
  {
    pqxx::connection c(url);
    pqxx::work tx(c);
    const std::string t = schema + ".outbox";
    tx.exec0("INSERT INTO " + t + " (topic, key, payload, published_at) VALUES "
             "('x', 'k', 'old1', now() - interval '8 days'), "
             "('x', 'k', 'old2', now() - interval '8 days'), "
             "('x', 'k', 'old3', now() - interval '7 days 1 hour'), "
             "('x', 'k', 'recent', now() - interval '1 hour'), "
             "('x', 'k', 'pending1', NULL), "
             "('x', 'k', 'pending2', NULL)");
    tx.commit();
  }
  Recorder rec;
  outbox::Relay relay(relay_config(), rec.publish(), leadpipe::log::root(), registry);
  relay.start();
  REQUIRE(testing::wait_until([&] { return rec.acked_count() == 2 && count("true") == 3; }));
  relay.stop();
  CHECK(count("payload LIKE 'old%'") == 0);
  CHECK(count("payload IN ('recent', 'pending1', 'pending2')") == 3);
  const auto acked = rec.acked();
  CHECK(acked[0].payload == "pending1");
  CHECK(acked[1].payload == "pending2");
}

TEST_CASE_METHOD(Fixture, "the backlog gauge follows the table", "[pg]") {
  enqueue(payloads(0, 4));
  std::promise<void> release;
  auto released = release.get_future().share();
  // Hold the first publish until the gauge has been seen at 4.
  Recorder rec([released](const std::vector<OutboxMessage>& batch, int) {
    released.wait();
    return std::vector<bool>(batch.size(), true);
  });
  outbox::Relay relay(relay_config(), rec.publish(), leadpipe::log::root(), registry);
  CHECK(relay.backlog() == 4);
  relay.start();
  REQUIRE(testing::wait_until(
      [&] { return metric(*registry, "leadpipe_outbox_backlog") == 4; }));
  release.set_value();
  REQUIRE(testing::wait_until(
      [&] { return metric(*registry, "leadpipe_outbox_backlog") == 0; }));
  CHECK(relay.backlog() == 0);
  relay.stop();
}

TEST_CASE_METHOD(Fixture, "claim marks an event processed once per consumer", "[pg]") {
  pqxx::connection c(url);
  auto claim = [&](const std::string& consumer, const std::string& id, bool commit) {
    pqxx::work tx(c);
    const bool fresh = outbox::claim(tx, schema, consumer, id);
    if (commit) tx.commit();
    return fresh;
  };

  CHECK(claim("analytics", "evt-1", true));
  CHECK_FALSE(claim("analytics", "evt-1", true));
  CHECK(claim("outreach", "evt-1", true));  // another consumer has its own record

  CHECK(claim("analytics", "evt-2", false));  // rolled back ...
  CHECK(claim("analytics", "evt-2", true));   // ... so it can be claimed again
  CHECK_FALSE(claim("analytics", "evt-2", true));

  SECTION("a concurrent duplicate waits for the first claimer's outcome") {
    for (const bool first_commits : {true, false}) {
      INFO("first claimer commits: " << first_commits);
      const std::string id = first_commits ? "evt-commit" : "evt-rollback";
      pqxx::work first(c);
      REQUIRE(outbox::claim(first, schema, "analytics", id));
      std::promise<bool> second_result;
      std::thread second([&] {
        pqxx::connection c2(url + " application_name=claim_second");
        pqxx::work tx(c2);
        second_result.set_value(outbox::claim(tx, schema, "analytics", id));
        tx.commit();
      });
      REQUIRE(testing::wait_until([&] {
        pqxx::connection admin(url);
        pqxx::nontransaction tx(admin);
        return tx.exec1("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                        "'claim_second' AND wait_event_type = 'Lock'")[0]
                   .as<int>() == 1;
      }));
      if (first_commits) {
        first.commit();
      } else {
        first.abort();
      }
      second.join();
      CHECK(second_result.get_future().get() == !first_commits);
    }
  }
}
