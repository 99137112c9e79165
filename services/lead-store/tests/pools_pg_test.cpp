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

// Runs fn while another thread holds the pool's only connection.
template <typename F>
void holding_while(pg::Pool& pool, F&& fn) {
  std::promise<void> holding, release;
  auto released = release.get_future().share();
  std::thread holder([&] {
    pool.with([&](pqxx::connection&) {
      holding.set_value();
      released.wait();
    });
  });
  holding.get_future().wait();
  fn();
  release.set_value();
  holder.join();
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

  // While the API pool's connection is held: the import answers; a list
  // request gets no connection within the acquire timeout, so 503 with
  // Retry-After, not a 500.
  httpclient::ClientResponse imported, starved;
  holding_while(api_pool, [&] {
    const std::string csv = "name,phone,email\nAyu Lestari,+6281234500001,ayu@example.com\nBudi,+6281234500002,\n";
    imported = httpclient::request("POST", base + "/api/v1/leads/import",
                                   {{"Authorization", bearer}, {"Content-Type", "text/csv"}}, csv,
                                   std::chrono::seconds(20));
    starved = httpclient::request("GET", base + "/api/v1/leads", {{"Authorization", bearer}}, {},
                                  std::chrono::seconds(20));
  });

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

TEST_CASE("list pages with one plan for every value run on the board pool, with generic plans, and page alike",
          "[pg]") {
  const auto url = make_db();
  pg::Pool api_pool({.url = url, .size = 1, .acquire_timeout = std::chrono::seconds(1), .application_name = "api"},
                    log::root());
  pg::Pool board_pool({.url = url,
                       .size = 1,
                       .acquire_timeout = std::chrono::seconds(1),
                       .application_name = "board",
                       .generic_plans = true},
                      log::root());
  const auth::JwtVerifier verifier(kSecret);
  auto deps = std::make_shared<ApiDeps>(ApiDeps{api_pool, verifier, log::root(), "ID"});
  deps->board_pool = &board_pool;
  http::Router router;
  add_api_routes(router, deps);
  http::ServerConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.handle_signals = false;
  cfg.access_log = false;
  http::Server server(cfg, std::move(router), nullptr, log::root());
  server.set_error_mapper(runtime::database_unavailable_as_503);
  std::thread serving([&] { server.run(); });
  const auto base = "http://127.0.0.1:" + std::to_string(server.port());
  const auto bearer = "Bearer " + auth::issue_token(kSecret, {"admin-1", "demo", auth::Role::admin},
                                                     std::chrono::minutes(10));
  auto call = [&](const std::string& method, const std::string& path, const std::string& body = {}) {
    return httpclient::request(method, base + path, {{"Authorization", bearer}, {"Content-Type", "application/json"}},
                               body, std::chrono::seconds(20));
  };
  for (int i = 0; i < 23; ++i) {
    const auto phone = "+62812345" + std::to_string(10000 + i);
    REQUIRE(call("POST", "/api/v1/leads", R"({"name": "Lead )" + std::to_string(i) + R"(", "phone": ")" + phone + R"("})")
                .status == 201);
  }
  // Every page of the default view, newest first, through cursors: more than
  // five executions of the prepared page on the board pool's connection.
  auto walk = [&](const std::string& first) {
    std::vector<std::string> ids;
    std::string path = first;
    for (int pages = 0; pages < 20; ++pages) {
      const auto r = call("GET", path);
      REQUIRE(r.status == 200);
      rapidjson::Document d;
      d.Parse(r.body.c_str());
      REQUIRE(d.IsObject());
      for (const auto& item : d["items"].GetArray()) ids.emplace_back(item["id"].GetString());
      if (d["next_cursor"].IsNull()) break;
      path = first + "&cursor=" + d["next_cursor"].GetString();
    }
    return ids;
  };
  const auto expected = api_pool.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    std::vector<std::string> ids;
    for (const auto& r : tx.exec("SELECT id::text FROM leads.leads WHERE tenant = 'demo' AND deleted_at IS NULL "
                                 "ORDER BY created_at DESC, id DESC")) {
      ids.push_back(r[0].as<std::string>());
    }
    return ids;
  });
  REQUIRE(expected.size() == 23);
  CHECK(walk("/api/v1/leads?limit=4") == expected);
  CHECK(walk("/api/v1/leads?limit=4") == expected);
  CHECK(walk("/api/v1/leads?stage=new&limit=5") == expected);
  CHECK(walk("/api/v1/leads?view=all&sort=updated&limit=6").size() == 23);
  // The board pool's connection holds one prepared page per text, planned generically.
  const auto generic = board_pool.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT count(*), COALESCE(sum(custom_plans), 0), COALESCE(sum(generic_plans), 0) "
                    "FROM pg_prepared_statements");
  });
  CHECK(generic[0].as<int>() >= 3);
  CHECK(generic[1].as<int>() == 0);
  CHECK(generic[2].as<int>() >= 12);

  // Which pool: with the board pool's only connection held, the default view
  // finds none within its acquire timeout (503) while a tag filter, planned
  // for its values, runs on the API pool; and the other way round.
  holding_while(board_pool, [&] {
    CHECK(call("GET", "/api/v1/leads?limit=4").status == 503);
    CHECK(call("GET", "/api/v1/leads?tag=vip&limit=4").status == 200);
    CHECK(call("GET", "/api/v1/leads?q=lead&limit=4").status == 200);
  });
  holding_while(api_pool, [&] {
    CHECK(call("GET", "/api/v1/leads?limit=4").status == 200);
    CHECK(call("GET", "/api/v1/leads?stage=new&limit=4").status == 200);
    CHECK(call("GET", "/api/v1/leads?tag=vip&limit=4").status == 503);
  });
  server.stop();
  serving.join();
}
