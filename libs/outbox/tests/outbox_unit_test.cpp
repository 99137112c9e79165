// Pure parts of libs/outbox: DDL text, names, configuration checks.
#include <leadpipe/outbox/outbox.hpp>

#include <catch2/catch.hpp>

namespace outbox = leadpipe::outbox;

TEST_CASE("ddl creates the documented tables in the schema", "[unit]") {
  const std::string sql = outbox::ddl("leads");
  for (const char* fragment :
       {"CREATE TABLE \"leads\".outbox (", "id bigserial PRIMARY KEY", "topic text NOT NULL",
        "key text NOT NULL", "payload text NOT NULL", "headers jsonb NOT NULL DEFAULT '{}'",
        "created_at timestamptz NOT NULL DEFAULT now()", "published_at timestamptz",
        "CREATE INDEX outbox_unpublished ON \"leads\".outbox (id) WHERE published_at IS NULL",
        "CREATE TABLE \"leads\".processed_events (", "consumer text NOT NULL",
        "event_id text NOT NULL", "processed_at timestamptz NOT NULL DEFAULT now()",
        "PRIMARY KEY (consumer, event_id)"}) {
    INFO(fragment);
    CHECK(sql.find(fragment) != std::string::npos);
  }
}

TEST_CASE("schema names are validated where they reach SQL", "[unit]") {
  CHECK(outbox::channel("leads") == "leads_outbox");
  CHECK(outbox::channel(std::string(56, 'a')) == std::string(56, 'a') + "_outbox");
  CHECK_THROWS_AS(outbox::channel(std::string(57, 'a')), std::invalid_argument);
  CHECK_THROWS_AS(outbox::ddl("leads; DROP TABLE x"), std::invalid_argument);
  CHECK_THROWS_AS(outbox::ddl("Leads"), std::invalid_argument);
  CHECK_THROWS_AS(outbox::ddl(""), std::invalid_argument);
}

TEST_CASE("Relay rejects unusable configuration without connecting", "[unit]") {
  const auto ok = [](const std::vector<outbox::OutboxMessage>& b) {
    return std::vector<bool>(b.size(), true);
  };
  const auto log = leadpipe::log::root();
  // The URL points nowhere: construction must not connect.
  const std::string nowhere = "host=127.0.0.1 port=1";
  CHECK_NOTHROW(outbox::Relay({.url = nowhere, .schema = "leads"}, ok, log));
  CHECK_THROWS_AS(outbox::Relay({.url = nowhere, .schema = "Leads"}, ok, log), std::invalid_argument);
  CHECK_THROWS_AS(outbox::Relay({.url = nowhere, .schema = "leads", .batch_size = 0}, ok, log),
                  std::invalid_argument);
  CHECK_THROWS_AS(outbox::Relay({.url = nowhere,
                                 .schema = "leads",
                                 .poll_interval = std::chrono::milliseconds(0)},
                                ok, log),
                  std::invalid_argument);
  CHECK_THROWS_AS(outbox::Relay({.url = nowhere, .schema = "leads"}, nullptr, log),
                  std::invalid_argument);
}

TEST_CASE("a relay that cannot reach the database stops promptly", "[unit]") {
  outbox::Relay relay({.url = "host=127.0.0.1 port=1",
                       .schema = "leads",
                       .poll_interval = std::chrono::seconds(30),
                       .retry_backoff = std::chrono::seconds(30)},
                      [](const std::vector<outbox::OutboxMessage>& b) {
                        return std::vector<bool>(b.size(), true);
                      },
                      leadpipe::log::root());
  relay.start();
  relay.start();  // no-op while running
  const auto started = std::chrono::steady_clock::now();
  relay.stop();  // must not sit out the 30 s waits
  relay.stop();  // idempotent
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK_FALSE(relay.active());
}
