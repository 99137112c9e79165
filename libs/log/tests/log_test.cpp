#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "leadpipe/log/log.hpp"

using namespace leadpipe::log;

TEST_CASE("lines are JSON with context and fields", "[unit]") {
  std::vector<std::string> lines;
  set_sink_for_tests(&lines);
  init("test-svc", Level::info);
  Logger l = root().with({{"request_id", "r-1"}, {"tenant", "demo"}});
  l.info("hello \"world\"", {{"partition", 3}, {"offset", std::int64_t{42}}, {"ok", true}});
  l.debug("hidden");
  set_sink_for_tests(nullptr);

  REQUIRE(lines.size() == 1);
  rapidjson::Document d;
  d.Parse(lines[0].c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["service"].GetString()) == "test-svc");
  CHECK(std::string(d["msg"].GetString()) == "hello \"world\"");
  CHECK(std::string(d["request_id"].GetString()) == "r-1");
  CHECK(std::string(d["tenant"].GetString()) == "demo");
  CHECK(d["partition"].GetInt() == 3);
  CHECK(d["offset"].GetInt64() == 42);
  CHECK(d["ok"].GetBool());
}

TEST_CASE("levels parse", "[unit]") {
  Level l{};
  CHECK(parse_level("warn", l));
  CHECK(l == Level::warn);
  CHECK_FALSE(parse_level("loud", l));
}
