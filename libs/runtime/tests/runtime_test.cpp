#include <catch2/catch.hpp>

#include <leadpipe/runtime/runtime.hpp>

using namespace leadpipe;

TEST_CASE("a transient database failure holds the Kafka record instead of dead-lettering it", "[unit]") {
  CHECK_THROWS_AS(runtime::with_database([]() -> int { throw pg::TransientError("connection refused"); }),
                  kafka::UnavailableError);
  // Anything else keeps its class: poison stays poison, bugs stay bugs.
  CHECK_THROWS_AS(runtime::with_database([]() -> int { throw kafka::PermanentError("bad event"); }),
                  kafka::PermanentError);
  CHECK_THROWS_AS(runtime::with_database([]() -> int { throw std::logic_error("bug"); }), std::logic_error);
  CHECK(runtime::with_database([] { return 42; }) == 42);
}

TEST_CASE("KAFKA_BROKERS is required, the prefix optional", "[unit]") {
  config::Env env({{"KAFKA_BROKERS", "127.0.0.1:9092"}});
  auto c = runtime::kafka_from_env(env, "svc");
  CHECK(c.brokers == "127.0.0.1:9092");
  CHECK(c.topic_prefix.empty());
  CHECK(c.client_id == "svc");
  config::Env missing({});
  runtime::kafka_from_env(missing, "svc");
  CHECK_THROWS_AS(missing.validate(), config::ConfigError);
}

TEST_CASE("a transient database failure escaping an HTTP handler is a 503 with Retry-After, anything else a 500", "[unit]") {
  const auto mapped = runtime::database_unavailable_as_503(pg::TransientError("no connection within 5000 ms"));
  REQUIRE(mapped.has_value());
  CHECK(mapped->status == 503);
  const auto res = mapped->to_response();
  CHECK(res.status == 503);
  bool retry_after = false;
  for (const auto& [k, v] : res.headers) retry_after = retry_after || (k == "Retry-After" && v == "1");
  CHECK(retry_after);
  // The detail is ours, not the exception's text.
  CHECK(res.body.find("5000 ms") == std::string::npos);
  CHECK_FALSE(runtime::database_unavailable_as_503(std::logic_error("bug")).has_value());
  CHECK_FALSE(runtime::database_unavailable_as_503(kafka::PermanentError("bad event")).has_value());
}
