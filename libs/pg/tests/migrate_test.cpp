// pg::migrate against the real test PostgreSQL.
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/pg/session.hpp>
#include <leadpipe/testing/infra.hpp>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <thread>

namespace pg = leadpipe::pg;
namespace testing = leadpipe::testing;
using leadpipe::embedded::File;

namespace {

const std::vector<File> kBase{
    // Deliberately out of order: migrate() sorts by version.
    {"0002_add_email.sql", "ALTER TABLE people ADD COLUMN email text;"},
    {"0001_create_people.sql",
     "CREATE TABLE people (id bigserial PRIMARY KEY, name text NOT NULL);\n"
     "INSERT INTO people (name) VALUES ('first');"},
};

struct Fixture {
  std::string url = testing::create_database("pgmig");
  std::string schema = testing::unique_name("mig");
  leadpipe::log::Logger log = leadpipe::log::root();

  pqxx::result query(const std::string& sql) {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    return tx.exec(sql);
  }
  int count(const std::string& sql) { return query(sql)[0][0].as<int>(); }
  bool schema_exists() {
    return count("SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema + "'") == 1;
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "migrate creates the schema and applies files in order once", "[pg]") {
  REQUIRE_FALSE(schema_exists());
  const auto applied = pg::migrate(url, schema, kBase, log);
  CHECK(applied == std::vector<std::string>{"0001_create_people.sql", "0002_add_email.sql"});
  CHECK(schema_exists());

  // search_path pointed at the schema: the unqualified table landed there.
  CHECK(count("SELECT count(*) FROM " + schema + ".people WHERE email IS NULL") == 1);
  CHECK(count("SELECT count(*) FROM pg_tables WHERE tablename = 'people' AND schemaname <> '" +
              schema + "'") == 0);

  const auto rows = query("SELECT version, name, checksum FROM " + schema +
                          ".schema_migrations ORDER BY version");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][0].as<int>() == 1);
  CHECK(rows[0][1].as<std::string>() == "0001_create_people.sql");
  CHECK(rows[0][2].as<std::string>() == pg::sha256_hex(kBase[1].contents));
  CHECK(rows[1][1].as<std::string>() == "0002_add_email.sql");

  // Nothing to do the second time, and nothing re-run (the INSERT would duplicate).
  CHECK(pg::migrate(url, schema, kBase, log).empty());
  CHECK(count("SELECT count(*) FROM " + schema + ".people") == 1);

  // A new file is applied on its own.
  auto more = kBase;
  more.push_back({"0003_add_phone.sql", "ALTER TABLE people ADD COLUMN phone text;"});
  CHECK(pg::migrate(url, schema, more, log) == std::vector<std::string>{"0003_add_phone.sql"});
  CHECK(count("SELECT count(*) FROM " + schema + ".schema_migrations") == 3);
}

TEST_CASE_METHOD(Fixture, "migrate refuses edited or renamed or back-numbered files", "[pg]") {
  pg::migrate(url, schema, kBase, log);
  auto expect_error_naming = [&](const std::vector<File>& files, const std::string& name) {
    try {
      pg::migrate(url, schema, files, log);
      FAIL("migrate accepted a bad migration set");
    } catch (const pg::MigrationError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(name) != std::string::npos);
    }
  };

  SECTION("edited after it was applied") {
    expect_error_naming({kBase[1], {"0002_add_email.sql", "ALTER TABLE people ADD COLUMN mail text;"}},
                        "0002_add_email.sql");
  }
  SECTION("renamed after it was applied") {
    expect_error_naming({kBase[1], {"0002_email.sql", kBase[0].contents}}, "0002_email.sql");
  }
  SECTION("a new file numbered below an applied one") {
    auto files = kBase;
    files.push_back({"0004_later.sql", "SELECT 1;"});
    pg::migrate(url, schema, files, log);
    files.push_back({"0003_forgotten.sql", "CREATE TABLE forgotten (id int);"});
    expect_error_naming(files, "0003_forgotten.sql");
    CHECK(count("SELECT count(*) FROM pg_tables WHERE tablename = 'forgotten'") == 0);
  }
  SECTION("a bad file name is rejected before anything runs") {
    auto files = kBase;
    files.push_back({"0003_ok.sql", "CREATE TABLE ok (id int);"});
    files.push_back({"3_bad.sql", "SELECT 1;"});
    expect_error_naming(files, "3_bad.sql");
    CHECK(count("SELECT count(*) FROM pg_tables WHERE tablename = 'ok'") == 0);
  }
  // Whatever was refused, the recorded state is untouched.
  CHECK(count("SELECT count(*) FROM " + schema + ".schema_migrations WHERE version <= 2") == 2);
}

TEST_CASE_METHOD(Fixture, "a failing migration is rolled back and named while earlier ones stay", "[pg]") {
  auto files = kBase;
  files.push_back({"0003_broken.sql",
                   "CREATE TABLE half (id int);\nALTER TABLE no_such_table ADD COLUMN x int;"});
  try {
    pg::migrate(url, schema, files, log);
    FAIL("broken migration applied");
  } catch (const pg::MigrationError& e) {
    CHECK(std::string(e.what()).find("0003_broken.sql") != std::string::npos);
    CHECK_THROWS_AS(std::rethrow_if_nested(e), pqxx::sql_error);
  }
  CHECK(count("SELECT count(*) FROM " + schema + ".schema_migrations") == 2);
  CHECK(count("SELECT count(*) FROM pg_tables WHERE tablename = 'half'") == 0);

  // Fixed in a new build (it never landed), it applies.
  files.back() = {"0003_broken.sql", "CREATE TABLE half (id int);"};
  CHECK(pg::migrate(url, schema, files, log) == std::vector<std::string>{"0003_broken.sql"});
}

TEST_CASE_METHOD(Fixture, "concurrent migrate runs apply each file exactly once", "[pg]") {
  // Hold the schema's migration lock ourselves, start four runners, wait until
  // all of them are blocked on it, then let them go: they must serialise.
  pqxx::connection holder(url);
  const auto key = pg::advisory_lock_key("leadpipe.migrate:" + schema);
  {
    pqxx::nontransaction tx(holder);
    tx.exec_params("SELECT pg_advisory_lock($1)", key);
  }

  auto files = kBase;
  files.push_back({"0003_counter.sql",
                   "CREATE TABLE runs (n int); INSERT INTO runs VALUES (1);"});
  constexpr int kRunners = 4;
  std::vector<std::vector<std::string>> results(kRunners);
  std::vector<std::string> errors(kRunners);
  std::vector<std::thread> runners;
  for (int i = 0; i < kRunners; ++i) {
    runners.emplace_back([&, i] {
      try {
        results[i] = pg::migrate(url, schema, files, log);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  REQUIRE(testing::wait_until([&] {
    return count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                 "AND wait_event = 'advisory' AND application_name = 'leadpipe-migrate:" +
                 schema + "'") == kRunners;
  }));
  {
    pqxx::nontransaction tx(holder);
    tx.exec_params("SELECT pg_advisory_unlock($1)", key);
  }
  for (auto& t : runners) t.join();

  std::vector<std::string> all;
  int runs_that_applied = 0;
  for (int i = 0; i < kRunners; ++i) {
    INFO("runner " << i << ": " << errors[i]);
    CHECK(errors[i].empty());
    if (!results[i].empty()) ++runs_that_applied;
    all.insert(all.end(), results[i].begin(), results[i].end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<std::string>{"0001_create_people.sql", "0002_add_email.sql",
                                        "0003_counter.sql"});
  CHECK(runs_that_applied == 1);
  CHECK(count("SELECT count(*) FROM " + schema + ".runs") == 1);
  CHECK(count("SELECT count(*) FROM " + schema + ".schema_migrations") == 3);
}

TEST_CASE_METHOD(Fixture, "migrate works for a role that may not create schemas", "[pg]") {
  // The operator created the schema for the service role; the role has no
  // CREATE on the database, so migrate must not try to create the schema.
  const std::string role = testing::unique_name("svc");
  query("CREATE ROLE " + role + " LOGIN");
  query("REVOKE CREATE ON DATABASE " + std::string(pqxx::connection(url).dbname()) + " FROM PUBLIC");
  query("CREATE SCHEMA " + schema + " AUTHORIZATION " + role);

  const std::string role_url = url + " user=" + role;
  CHECK(pg::migrate(role_url, schema, kBase, log).size() == 2);
  CHECK(pg::migrate(role_url, schema, kBase, log).empty());

  // And a schema it may not create is reported, not silently skipped.
  CHECK_THROWS_AS(pg::migrate(role_url, testing::unique_name("other"), kBase, log),
                  pqxx::insufficient_privilege);

  query("DROP OWNED BY " + role);
  query("DROP ROLE " + role);
}
