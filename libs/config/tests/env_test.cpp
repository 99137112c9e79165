#include <catch2/catch.hpp>

#include "leadpipe/config/env.hpp"

using leadpipe::config::ConfigError;
using leadpipe::config::Env;

TEST_CASE("typed values are parsed and recorded", "[unit]") {
  Env env({{"PORT", "8081"}, {"DEBUG", "true"}, {"NAME", "x"}, {"SECRET", "s3cr3t"}});
  CHECK(env.integer("PORT", 1, 1, 65535, "port") == 8081);
  CHECK(env.boolean("DEBUG", false, "debug"));
  CHECK(env.string("MISSING", "dflt", "fallback used") == "dflt");
  CHECK(env.secret("SECRET", "a secret") == "s3cr3t");
  CHECK_NOTHROW(env.validate());
  for (const auto& e : env.describe()) {
    if (e.name == "SECRET") CHECK(e.value == "<redacted>");
  }
}

TEST_CASE("every problem is reported by variable name", "[unit]") {
  Env env({{"PORT", "eighty"}, {"LEVEL", "loud"}, {"FLAG", "maybe"}});
  env.integer("PORT", 80, 1, 65535, "port");
  env.required("DATABASE_URL", "postgres");
  env.one_of("LEVEL", "info", {"debug", "info"}, "log level");
  env.boolean("FLAG", false, "flag");
  try {
    env.validate();
    FAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    CHECK(msg.find("PORT") != std::string::npos);
    CHECK(msg.find("DATABASE_URL") != std::string::npos);
    CHECK(msg.find("LEVEL") != std::string::npos);
    CHECK(msg.find("FLAG") != std::string::npos);
  }
}

TEST_CASE("integers outside their range are rejected", "[unit]") {
  Env env({{"POOL", "0"}});
  env.integer("POOL", 4, 1, 64, "pool size");
  CHECK_THROWS_AS(env.validate(), ConfigError);
}

TEST_CASE("env files parse comments, export and quotes", "[unit]") {
  auto m = leadpipe::config::parse_env_file(
      "# comment\nexport A=1\nB = \"two words\"\nC='x'\nnot a line\n"
      "D=\"${D:-host=127.0.0.1 port=1}\"\n");
  CHECK(m.at("A") == "1");
  CHECK(m.at("B") == "two words");
  CHECK(m.at("C") == "x");
  CHECK(m.at("D") == "host=127.0.0.1 port=1");
  CHECK(m.size() == 4);
}
