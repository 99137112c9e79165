// Pure parts of libs/pg: migration file planning, hashing, error classes,
// connection-string handling. No database needed.
#include <leadpipe/pg/after_commit.hpp>
#include <leadpipe/pg/errors.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/pg/session.hpp>

#include <catch2/catch.hpp>
#include <pqxx/except>

#include <set>
#include <string>

using leadpipe::embedded::File;
namespace pg = leadpipe::pg;

TEST_CASE("plan_migrations sorts by version and checksums contents", "[unit]") {
  const std::vector<File> files{
      {"0010_later.sql", "SELECT 10;"},
      {"0002_second.sql", "SELECT 2;"},
      {"0001_first-step.sql", "SELECT 1;"},
  };
  const auto plan = pg::plan_migrations(files);
  REQUIRE(plan.size() == 3);
  CHECK(plan[0].name == "0001_first-step.sql");
  CHECK(plan[0].version == 1);
  CHECK(plan[1].name == "0002_second.sql");
  CHECK(plan[2].name == "0010_later.sql");
  CHECK(plan[2].version == 10);
  CHECK(plan[1].sql == "SELECT 2;");
  CHECK(plan[1].checksum == pg::sha256_hex("SELECT 2;"));
}

TEST_CASE("plan_migrations rejects bad names and duplicate versions", "[unit]") {
  const char* bad[] = {"001_short.sql",  "0001-dash.sql",  "0001_.sql",        "0001_x.SQL",
                       "0001_x.sql.bak", "abcd_x.sql",     "0001_sp ace.sql", "init.sql",
                       "0001_x",         "00001_five.sql", "0001_a/b.sql"};
  for (const char* name : bad) {
    INFO(name);
    try {
      pg::plan_migrations({{name, "SELECT 1;"}});
      FAIL("accepted " << name);
    } catch (const pg::MigrationError& e) {
      CHECK(std::string(e.what()).find(name) != std::string::npos);
    }
  }
  try {
    pg::plan_migrations({{"0003_a.sql", ""}, {"0003_b.sql", ""}});
    FAIL("accepted duplicate versions");
  } catch (const pg::MigrationError& e) {
    CHECK(std::string(e.what()).find("0003_a.sql") != std::string::npos);
    CHECK(std::string(e.what()).find("0003_b.sql") != std::string::npos);
  }
  CHECK(pg::plan_migrations({}).empty());
}

TEST_CASE("sha256_hex matches the FIPS 180-2 test vectors", "[unit]") {
  CHECK(pg::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(pg::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("advisory_lock_key is stable and separates names", "[unit]") {
  CHECK(pg::advisory_lock_key("leadpipe.migrate:leads") ==
        pg::advisory_lock_key("leadpipe.migrate:leads"));
  std::set<std::int64_t> keys;
  for (const char* n : {"leadpipe.migrate:leads", "leadpipe.outbox:leads", "leadpipe.migrate:ingest",
                        "leadpipe.outbox:ingest"}) {
    keys.insert(pg::advisory_lock_key(n));
  }
  CHECK(keys.size() == 4);
  // First 8 bytes of sha256("abc") = ba7816bf8f01cfea, as a signed 64-bit value.
  CHECK(static_cast<std::uint64_t>(pg::advisory_lock_key("abc")) == 0xba7816bf8f01cfeaULL);
}

TEST_CASE("with_connect_timeout adds a bound unless the URL has one", "[unit]") {
  using std::chrono::seconds;
  CHECK(pg::with_connect_timeout("host=db port=5432", seconds(5)) ==
        "host=db port=5432 connect_timeout=5");
  CHECK(pg::with_connect_timeout("", seconds(3)) == "connect_timeout=3");
  CHECK(pg::with_connect_timeout("postgresql://u@db/leads", seconds(5)) ==
        "postgresql://u@db/leads?connect_timeout=5");
  CHECK(pg::with_connect_timeout("postgres://u@db/leads?sslmode=disable", seconds(5)) ==
        "postgres://u@db/leads?sslmode=disable&connect_timeout=5");
  CHECK(pg::with_connect_timeout("host=db connect_timeout=1", seconds(5)) ==
        "host=db connect_timeout=1");
}

TEST_CASE("classify decides which failures are retryable", "[unit]") {
  using K = pg::FailureKind;
  CHECK(pg::classify(pqxx::broken_connection("gone")) == K::connection);
  CHECK(pg::classify(pqxx::serialization_failure("conflict")) == K::serialization);
  CHECK(pg::classify(pqxx::deadlock_detected("deadlock")) == K::deadlock);
  CHECK(pg::classify(pqxx::sql_error("x", "q", "40001")) == K::serialization);
  CHECK(pg::classify(pqxx::sql_error("x", "q", "40P01")) == K::deadlock);
  CHECK(pg::classify(pqxx::sql_error("x", "q", "57P01")) == K::shutdown);
  CHECK(pg::classify(pqxx::sql_error("x", "q", "08006")) == K::connection);
  CHECK(pg::classify(pqxx::unique_violation("dup", "q", "23505")) == K::permanent);
  CHECK(pg::classify(pqxx::sql_error("canceled", "q", "57014")) == K::permanent);
  CHECK(pg::classify(pqxx::in_doubt_error("commit unknown")) == K::permanent);
  CHECK(pg::classify(std::runtime_error("app")) == K::permanent);
  CHECK(pg::classify(pg::TransientError("pool exhausted")) == K::connection);
  // A TransientError carrying its cause reports the cause.
  try {
    try {
      throw pqxx::deadlock_detected("deadlock");
    } catch (...) {
      std::throw_with_nested(pg::TransientError("wrapped"));
    }
  } catch (const pg::TransientError& e) {
    CHECK(pg::classify(e) == K::deadlock);
  }
  CHECK(pg::to_string(K::serialization) == "serialization");
}

TEST_CASE("is_simple_identifier accepts only plain lower-case names", "[unit]") {
  CHECK(pg::is_simple_identifier("leads"));
  CHECK(pg::is_simple_identifier("_x1"));
  CHECK_FALSE(pg::is_simple_identifier(""));
  CHECK_FALSE(pg::is_simple_identifier("Leads"));
  CHECK_FALSE(pg::is_simple_identifier("1leads"));
  CHECK_FALSE(pg::is_simple_identifier("le\"ads"));
  CHECK_FALSE(pg::is_simple_identifier(std::string(64, 'a')));
  CHECK(pg::is_simple_identifier(std::string(63, 'a')));
}

TEST_CASE("migrate rejects schema names that are not plain identifiers", "[unit]") {
  // Checked before connecting: the URL points nowhere.
  CHECK_THROWS_AS(pg::migrate("host=127.0.0.1 port=1", "Bad-Name", {}, leadpipe::log::root()),
                  std::invalid_argument);
}

TEST_CASE("after_commit work runs once, when its scope is run, and is dropped otherwise", "[unit]") {
  std::string log;
  pg::after_commit([&] { log += "no scope,"; });  // nothing to wait for: dropped
  {
    pg::CommitHooks hooks;
    pg::after_commit([&] { log += "a,"; });
    pg::after_commit([&] { log += "b,"; });
    CHECK(hooks.pending() == 2);
    CHECK(log.empty());  // not before the commit
    hooks.run();
    CHECK(log == "a,b,");
    hooks.run();  // once
    CHECK(log == "a,b,");
  }
  {
    pg::CommitHooks rolled_back;
    pg::after_commit([&] { log += "rolled back,"; });
  }  // destroyed without run(): dropped
  {
    pg::CommitHooks outer;
    pg::after_commit([&] { log += "outer,"; });
    {
      pg::CommitHooks inner;  // the innermost scope collects
      pg::after_commit([&] { log += "inner,"; });
      CHECK(outer.pending() == 1);
      inner.run();
    }
    pg::after_commit([&] { log += "outer again,"; });  // back to the outer scope
    outer.run();
  }
  pg::after_commit([&] { log += "no scope again,"; });
  CHECK(log == "a,b,inner,outer,outer again,");
}
