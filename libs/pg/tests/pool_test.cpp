// pg::Pool against the real test PostgreSQL (deploy/local/test-infra.sh).
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <leadpipe/pg/pool.hpp>
#include <leadpipe/testing/infra.hpp>
#include <leadpipe/testing/metrics.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <atomic>
#include <future>
#include <map>
#include <thread>
#include <vector>

namespace pg = leadpipe::pg;
namespace testing = leadpipe::testing;
namespace asio = boost::asio;

namespace {

// Value of one series of a counter / gauge (or a histogram's sample count).
double metric(prometheus::Registry& registry, const std::string& name,
              const std::map<std::string, std::string>& labels) {
  return testing::metric_value(registry, name, labels);
}

int backend_pid(pqxx::connection& c) {
  pqxx::nontransaction tx(c);
  return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
}

// Number of server processes serving connections with this application_name.
int sessions_named(const std::string& app) {
  pqxx::connection admin(testing::pg_admin_url());
  pqxx::nontransaction tx(admin);
  return tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app)[0]
      .as<int>();
}

void terminate_sessions_named(const std::string& app) {
  pqxx::connection admin(testing::pg_admin_url());
  pqxx::nontransaction tx(admin);
  tx.exec_params(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app);
}

struct Fixture {
  std::string url = testing::create_database("pgpool");
  std::string app = testing::unique_name("pool");
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
};

}  // namespace

TEST_CASE_METHOD(Fixture, "Pool::with runs on a configured connection and reuses it", "[pg]") {
  pg::Pool pool({.url = url, .size = 2, .statement_timeout = std::chrono::milliseconds(1500),
                 .application_name = app},
                leadpipe::log::root(), registry);

  const auto settings = pool.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const auto row = tx.exec1("SELECT current_setting('statement_timeout'), "
                              "current_setting('application_name'), pg_backend_pid()");
    return std::tuple{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int>()};
  });
  CHECK(std::get<0>(settings) == "1500ms");
  CHECK(std::get<1>(settings) == app);

  // Sequential calls get the same warm connection back.
  CHECK(pool.with(backend_pid) == std::get<2>(settings));
  CHECK(metric(*registry, "leadpipe_pg_pool_in_use", {{"pool", app}}) == 0);

  // The callable's own exceptions propagate unchanged and do not cost the connection.
  CHECK_THROWS_AS(pool.with([](pqxx::connection&) -> int { throw std::logic_error("domain"); }),
                  std::logic_error);
  CHECK_THROWS_AS(pool.with([](pqxx::connection& c) {
                    pqxx::nontransaction tx(c);
                    tx.exec("SELEC 1");
                  }),
                  pqxx::syntax_error);
  CHECK(pool.with(backend_pid) == std::get<2>(settings));
  CHECK(pool.healthy());
}

TEST_CASE_METHOD(Fixture, "Pool::async resumes on the awaiting io_context and carries exceptions",
                 "[pg]") {
  pg::Pool pool({.url = url, .size = 2, .application_name = app}, leadpipe::log::root(), registry);
  asio::io_context io;

  std::thread::id io_thread, resumed_on, worker_thread, resumed_after_error;
  int answer = 0;
  bool caught_syntax_error = false;
  bool ran_void = false;
  std::exception_ptr escaped;

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        answer = co_await pool.async([&](pqxx::connection& c) {
          worker_thread = std::this_thread::get_id();
          pqxx::nontransaction tx(c);
          return tx.exec1("SELECT 41 + 1")[0].as<int>();
        });
        resumed_on = std::this_thread::get_id();
        co_await pool.async([&](pqxx::connection&) { ran_void = true; });
        try {
          co_await pool.async([](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec("SELEC 1");
          });
        } catch (const pqxx::syntax_error&) {
          caught_syntax_error = true;
        }
        resumed_after_error = std::this_thread::get_id();
      },
      [&](std::exception_ptr e) { escaped = e; });

  // run() returns only when the coroutine has finished: the pending database
  // work must count as outstanding work on the io_context.
  std::thread runner([&] {
    io_thread = std::this_thread::get_id();
    io.run();
  });
  runner.join();

  REQUIRE_FALSE(escaped);
  CHECK(answer == 42);
  CHECK(ran_void);
  CHECK(caught_syntax_error);
  CHECK(resumed_on == io_thread);
  CHECK(resumed_after_error == io_thread);
  CHECK(worker_thread != io_thread);
  CHECK(worker_thread != std::thread::id{});
}

TEST_CASE_METHOD(Fixture, "Pool::async never lends more connections than the pool size", "[pg]") {
  pg::Pool pool({.url = url, .size = 2, .application_name = app}, leadpipe::log::root(), registry);
  asio::io_context io;
  std::atomic<int> concurrent{0};
  std::atomic<int> peak{0};
  int sum = 0;
  int done = 0;
  for (int i = 0; i < 12; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          const int v = co_await pool.async([&, i](pqxx::connection& c) {
            const int now = ++concurrent;
            int prev = peak.load();
            while (now > prev && !peak.compare_exchange_weak(prev, now)) {
            }
            pqxx::nontransaction tx(c);
            // Long enough for the calls to overlap.
            const int r = tx.exec_params1("SELECT $1::int FROM pg_sleep(0.02)", i)[0].as<int>();
            --concurrent;
            return r;
          });
          sum += v;  // io_context is single-threaded: no race
          ++done;
        },
        asio::detached);
  }
  io.run();
  CHECK(done == 12);
  CHECK(sum == 66);
  CHECK(peak.load() <= 2);
  CHECK(peak.load() >= 1);
}

TEST_CASE_METHOD(Fixture, "Pool survives terminated backends", "[pg]") {
  pg::Pool pool({.url = url, .size = 2, .application_name = app}, leadpipe::log::root(), registry);

  SECTION("idle connection terminated") {
    const int first_pid = pool.with(backend_pid);
    REQUIRE(sessions_named(app) == 1);
    terminate_sessions_named(app);
    REQUIRE(testing::wait_until([&] { return sessions_named(app) == 0; }));

    int transient = 0;
    int next_pid = 0;
    for (int attempt = 0; attempt < 2 && next_pid == 0; ++attempt) {
      try {
        next_pid = pool.with(backend_pid);
      } catch (const pg::TransientError&) {
        ++transient;
      }
    }
    CHECK(transient <= 1);
    CHECK(next_pid != 0);
    CHECK(next_pid != first_pid);
    CHECK(pool.with(backend_pid) == next_pid);
  }

  SECTION("connection terminated during a statement") {
    std::promise<int> started;
    std::promise<std::string> outcome;
    std::thread victim([&] {
      try {
        pool.with([&](pqxx::connection& c) {
          pqxx::nontransaction tx(c);
          started.set_value(c.backendpid());
          tx.exec("SELECT pg_sleep(30)");
        });
        outcome.set_value("returned");
      } catch (const pg::TransientError& e) {
        // The pqxx exception is kept as the nested cause.
        try {
          std::rethrow_if_nested(e);
          outcome.set_value("transient without cause");
        } catch (const pqxx::failure&) {
          outcome.set_value("transient");
        } catch (...) {
          outcome.set_value("transient with odd cause");
        }
      } catch (const std::exception& e) {
        outcome.set_value(std::string("other: ") + e.what());
      }
    });
    const int pid = started.get_future().get();
    // Terminate only once the backend is really inside pg_sleep.
    REQUIRE(testing::wait_until([&] {
      pqxx::connection admin(testing::pg_admin_url());
      pqxx::nontransaction tx(admin);
      return !tx.exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' "
                             "AND query LIKE '%pg_sleep(30)%'",
                             pid)
                  .empty();
    }));
    terminate_sessions_named(app);
    victim.join();
    CHECK(outcome.get_future().get() == "transient");
    CHECK(metric(*registry, "leadpipe_pg_errors_total", {{"pool", app}, {"kind", "connection"}}) +
              metric(*registry, "leadpipe_pg_errors_total", {{"pool", app}, {"kind", "shutdown"}}) >=
          1);
    // The broken connection was discarded; the next call gets a fresh one.
    const int next = pool.with(backend_pid);
    CHECK(next != pid);
    CHECK(metric(*registry, "leadpipe_pg_pool_in_use", {{"pool", app}}) == 0);
  }
}

TEST_CASE_METHOD(Fixture, "Pool::with gives up after acquire_timeout when all connections are busy",
                 "[pg]") {
  pg::Pool pool({.url = url, .size = 1, .acquire_timeout = std::chrono::milliseconds(200),
                 .application_name = app},
                leadpipe::log::root(), registry);
  std::promise<void> holding, release;
  auto release_future = release.get_future();
  std::thread holder([&] {
    pool.with([&](pqxx::connection&) {
      holding.set_value();
      release_future.wait();
    });
  });
  holding.get_future().wait();

  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(pool.with(backend_pid), pg::TransientError);
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(waited >= std::chrono::milliseconds(200));
  CHECK(waited < std::chrono::seconds(3));
  CHECK(metric(*registry, "leadpipe_pg_errors_total", {{"pool", app}, {"kind", "acquire_timeout"}}) ==
        1);
  CHECK(metric(*registry, "leadpipe_pg_pool_in_use", {{"pool", app}}) == 1);

  release.set_value();
  holder.join();
  CHECK(pool.with(backend_pid) > 0);  // the slot is free again
  CHECK(metric(*registry, "leadpipe_pg_pool_wait_seconds", {{"pool", app}}) >= 3);
}

TEST_CASE_METHOD(Fixture, "statement_timeout is enforced and is not retryable", "[pg]") {
  pg::Pool pool({.url = url, .size = 1, .statement_timeout = std::chrono::milliseconds(100),
                 .application_name = app},
                leadpipe::log::root(), registry);
  const int pid = pool.with(backend_pid);
  try {
    pool.with([](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      tx.exec("SELECT pg_sleep(5)");
    });
    FAIL("statement was not cancelled");
  } catch (const pg::TransientError&) {
    FAIL("a statement timeout must not be reported as retryable");
  } catch (const pqxx::sql_error& e) {
    CHECK(e.sqlstate() == "57014");
  }
  CHECK(metric(*registry, "leadpipe_pg_errors_total", {{"pool", app}, {"kind", "statement_timeout"}}) ==
        1);
  CHECK(pool.with(backend_pid) == pid);  // the connection is still good
}

TEST_CASE("Pool tolerates an unreachable database", "[pg]") {
  // Nothing listens on port 1; construction must not throw, calls fail as retryable.
  pg::Pool pool({.url = "host=127.0.0.1 port=1 user=postgres dbname=postgres",
                 .size = 1,
                 .acquire_timeout = std::chrono::milliseconds(500)},
                leadpipe::log::root());
  CHECK_THROWS_AS(pool.with(backend_pid), pg::TransientError);
  CHECK_FALSE(pool.healthy());
  // The failed connect gave its slot back: the next call fails the same way
  // instead of timing out on a leaked slot.
  try {
    pool.with(backend_pid);
    FAIL("connected to nothing");
  } catch (const pg::TransientError& e) {
    CHECK(std::string(e.what()).find("cannot connect") != std::string::npos);
  }
}

TEST_CASE_METHOD(Fixture, "transact commits and retries transient failures only", "[pg]") {
  pg::Pool pool({.url = url, .size = 2, .application_name = app}, leadpipe::log::root(), registry);
  pool.with([](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec0("CREATE TABLE items (id int PRIMARY KEY, note text)");
    tx.commit();
  });
  auto count = [&] {
    return pool.with([](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      return tx.exec1("SELECT count(*) FROM items")[0].as<int>();
    });
  };

  SECTION("a serialization failure is retried and the retry commits") {
    int calls = 0;
    std::vector<int> committed;  // after_commit work of each attempt
    const int inserted = pg::transact(pool, [&](pqxx::work& tx) {
      ++calls;
      tx.exec_params0("INSERT INTO items VALUES ($1, 'x')", calls);
      const int attempt = calls;
      pg::after_commit([this, &committed, attempt] {
        committed.push_back(attempt);
        pqxx::connection other(url);  // runs after the commit: another session sees the row
        pqxx::read_transaction otx(other);
        CHECK(otx.exec1("SELECT count(*) FROM items")[0].as<int>() == 1);
      });
      if (calls == 1) throw pqxx::serialization_failure("simulated conflict");
      return calls;
    });
    CHECK(calls == 2);
    CHECK(inserted == 2);
    CHECK(count() == 1);  // the first attempt was rolled back
    CHECK(committed == std::vector<int>{2});  // and so was its after_commit work
  }

  SECTION("a real serialization conflict between two SERIALIZABLE transactions is retried") {
    // Two transactions each read the table and then insert: write skew, which
    // SERIALIZABLE rejects for the second committer; transact retries it.
    std::promise<void> first_read, second_read;
    auto first_read_f = first_read.get_future();
    auto second_read_f = second_read.get_future();
    std::atomic<int> calls_b{0};
    std::thread a([&] {
      pg::transact(pool, [&](pqxx::work& tx) {
        tx.exec0("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
        tx.exec1("SELECT count(*) FROM items");
        first_read.set_value();
        second_read_f.wait();
        tx.exec0("INSERT INTO items VALUES (100, 'a')");
      });
    });
    pg::transact(pool, [&](pqxx::work& tx) {
      tx.exec0("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
      if (++calls_b == 1) {
        first_read_f.wait();
        tx.exec1("SELECT count(*) FROM items");
        second_read.set_value();
        // Wait until a has committed so that our commit is the one to fail.
        REQUIRE(testing::wait_until([&] {
          pqxx::connection probe(url);
          pqxx::read_transaction ptx(probe);
          return ptx.exec1("SELECT count(*) FROM items")[0].as<int>() == 1;
        }));
      } else {
        tx.exec1("SELECT count(*) FROM items");
      }
      tx.exec0("INSERT INTO items VALUES (200, 'b')");
    });
    a.join();
    CHECK(calls_b.load() == 2);
    CHECK(count() == 2);
    CHECK(metric(*registry, "leadpipe_pg_errors_total", {{"pool", app}, {"kind", "serialization"}}) ==
          1);
  }

  SECTION("permanent errors are not retried") {
    int calls = 0;
    bool hook_ran = false;
    CHECK_THROWS_AS(pg::transact(pool,
                                 [&](pqxx::work& tx) {
                                   ++calls;
                                   tx.exec0("INSERT INTO items VALUES (1, 'a')");
                                   pg::after_commit([&hook_ran] { hook_ran = true; });
                                   tx.exec0("INSERT INTO items VALUES (1, 'b')");
                                 }),
                    pqxx::unique_violation);
    CHECK(calls == 1);
    CHECK(count() == 0);
    CHECK_FALSE(hook_ran);
  }

  SECTION("attempts are bounded") {
    int calls = 0;
    CHECK_THROWS_AS(pg::transact(
                        pool,
                        [&](pqxx::work&) {
                          ++calls;
                          throw pqxx::deadlock_detected("simulated deadlock");
                        },
                        4),
                    pg::TransientError);
    CHECK(calls == 4);
  }

  SECTION("async_transact from a coroutine") {
    asio::io_context io;
    int got = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          got = co_await pg::async_transact(pool, [](pqxx::work& tx) {
            tx.exec0("INSERT INTO items VALUES (7, 'async')");
            return tx.exec1("SELECT count(*) FROM items")[0].as<int>();
          });
        },
        asio::detached);
    io.run();
    CHECK(got == 1);
    CHECK(count() == 1);
  }
}

TEST_CASE_METHOD(Fixture, "healthy() follows the database within its cache time", "[pg]") {
  pg::Pool pool({.url = url, .size = 1, .application_name = app}, leadpipe::log::root(), registry);
  REQUIRE(pool.healthy());
  const std::string db = pqxx::connection(url).dbname();
  {
    pqxx::connection admin(testing::pg_admin_url());
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE " + tx.quote_name(db) + " WITH (FORCE)");
  }
  const auto started = std::chrono::steady_clock::now();
  CHECK(testing::wait_until([&] { return !pool.healthy(); }, std::chrono::seconds(5)));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
}

TEST_CASE_METHOD(Fixture, "exec_prepared_cached prepares a text once per connection and survives a changed result type",
                 "[pg]") {
  pg::Pool pool({.url = url, .size = 1, .application_name = app}, leadpipe::log::root());
  pool.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec("CREATE TABLE things (id int PRIMARY KEY, label text)");
    tx.exec("INSERT INTO things SELECT g, 'thing ' || g FROM generate_series(1, 20) g");
  });
  const std::string sql = "SELECT label FROM things WHERE id = $1";
  pool.with([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    for (int id : {3, 7, 3, 11, 5, 9, 13}) {  // past PostgreSQL's five custom plans
      const auto r = pg::exec_prepared_cached(tx, sql, {std::to_string(id)});
      REQUIRE(r.size() == 1);
      CHECK(r[0][0].as<std::string>() == "thing " + std::to_string(id));
    }
    // One server-side statement for the text, executed every time.
    const auto prepared = tx.exec_params1(
        "SELECT count(*), sum(generic_plans + custom_plans) FROM pg_prepared_statements WHERE statement = $1", sql);
    CHECK(prepared[0].as<int>() == 1);
    CHECK(prepared[1].as<int>() == 7);
  });
  // A migration changes the column the prepared statement returns: the next
  // call still answers (unprepared, then prepared afresh).
  pool.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec("ALTER TABLE things ALTER COLUMN label TYPE varchar(40)");
  });
  pool.with([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    CHECK(pg::exec_prepared_cached(tx, sql, {"4"})[0][0].as<std::string>() == "thing 4");
    CHECK(pg::exec_prepared_cached(tx, sql, {"6"})[0][0].as<std::string>() == "thing 6");
  });
}

TEST_CASE_METHOD(Fixture, "a pool with generic_plans plans without the parameters' values", "[pg]") {
  pg::Pool generic({.url = url, .size = 1, .application_name = app, .generic_plans = true}, leadpipe::log::root());
  pg::Pool plain({.url = url, .size = 1, .application_name = app + "p"}, leadpipe::log::root());
  auto mode = [](pg::Pool& p) {
    return p.with([](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      return tx.exec1("SHOW plan_cache_mode")[0].as<std::string>();
    });
  };
  CHECK(mode(generic) == "force_generic_plan");
  CHECK(mode(plain) == "auto");
  generic.with([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const auto r = pg::exec_prepared_cached(tx, "SELECT $1::int + 1", {"41"});
    CHECK(r[0][0].as<int>() == 42);
    CHECK(tx.exec1("SELECT generic_plans FROM pg_prepared_statements WHERE statement = 'SELECT $1::int + 1'")[0]
              .as<int>() == 1);
  });
}
