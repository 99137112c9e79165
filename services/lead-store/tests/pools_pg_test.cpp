// The two PostgreSQL pools (main.cpp): a CSV import runs on the bulk pool
// (ApiDeps::bulk), so it neither needs nor takes a connection of the small
// pool the board's requests use. Real HTTP server, real test PostgreSQL.
#include <utility>

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <chrono>
#include <future>
#include <thread>

#include <leadpipe/auth/jwt.hpp>
#include <leadpipe/http/server.hpp>
#include <leadpipe/httpclient/client.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/pg/pool.hpp>
#include <leadpipe/runtime/runtime.hpp>
#include <leadpipe/testing/infra.hpp>

#include "api.hpp"
#include "api_import.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

const std::string kSecret = "pools-test-secret-0123456789abcdef012345";

std::string make_db() {
  auto url = testing::create_database("pools");
  pg::migrate(url, "leads", embedded::leads_migrations(), log::root());
  return url;
}

}  // namespace

TEST_CASE("a CSV import runs on the bulk pool: it succeeds while the API pool's only connection is held", "[pg]") {
  const auto url = make_db();
  // One connection each; the API pool gives up after 1 s, so an import that
  // wrongly waited for it would answer 503 instead of 200.
  pg::Pool api_pool({.url = url, .size = 1, .acquire_timeout = std::chrono::seconds(1), .application_name = "api"},
                    log::root());
  pg::Pool bulk_pool({.url = url, .size = 1, .application_name = "bulk"}, log::root());
  const auth::JwtVerifier verifier(kSecret);
  auto deps = std::make_shared<ApiDeps>(ApiDeps{api_pool, verifier, log::root(), "ID"});
  deps->bulk_pool = &bulk_pool;
  http::Router router;
  add_api_routes(router, deps);
  add_import_routes(router, deps, nullptr);
  http::ServerConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.handle_signals = false;
  cfg.access_log = false;
  http::Server server(cfg, std::move(router), nullptr, log::root());
  server.set_error_mapper(runtime::database_unavailable_as_503);  // as main.cpp
  std::thread serving([&] { server.run(); });
  const auto base = "http://127.0.0.1:" + std::to_string(server.port());
  const auto bearer = "Bearer " + auth::issue_token(kSecret, {"admin-1", "demo", auth::Role::admin},
                                                     std::chrono::minutes(10));

  // Hold the API pool's connection until the import has answered.
  std::promise<void> holding, release;
  auto released = release.get_future().share();
  std::thread holder([&] {
    api_pool.with([&](pqxx::connection&) {
      holding.set_value();
      released.wait();
    });
  });
  holding.get_future().wait();

  const std::string csv = "name,phone,email\nAyu Lestari,+6281234500001,ayu@example.com\nBudi,+6281234500002,\n";
  const auto imported = httpclient::request("POST", base + "/api/v1/leads/import",
                                            {{"Authorization", bearer}, {"Content-Type", "text/csv"}}, csv,
                                            std::chrono::seconds(20));
  // While the API pool is still held, a list request gets no connection
  // within the acquire timeout: 503 with Retry-After, not a 500.
  const auto starved = httpclient::request("GET", base + "/api/v1/leads", {{"Authorization", bearer}}, {},
                                           std::chrono::seconds(20));
  release.set_value();
  holder.join();

  CHECK(imported.status == 200);
  rapidjson::Document d;
  d.Parse(imported.body.c_str());
  REQUIRE(d.IsObject());
  CHECK(d["inserted"].GetInt() == 2);
  CHECK(starved.status == 503);
  REQUIRE(starved.header("Retry-After") != nullptr);
  CHECK(*starved.header("Retry-After") == "1");

  const auto listed = httpclient::request("GET", base + "/api/v1/leads", {{"Authorization", bearer}}, {},
                                          std::chrono::seconds(20));
  CHECK(listed.status == 200);
  rapidjson::Document l;
  l.Parse(listed.body.c_str());
  REQUIRE(l.IsObject());
  CHECK(l["items"].GetArray().Size() == 2);
  server.stop();
  serving.join();
}
