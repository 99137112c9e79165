// A fresh, migrated `leads` database on the test PostgreSQL and a pool on it,
// shared by the lead-store [pg] tests. Each test derives its own fixture and
// adds the queries it needs.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <pqxx/pqxx>
#include <prometheus/registry.h>

#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/pg/pool.hpp>
#include <leadpipe/testing/infra.hpp>
#include <leadpipe/testing/metrics.hpp>

#include "consumer.hpp"
#include "workflow_metrics.hpp"

namespace leadpipe::leads {

// A series of the workflow counters (workflow_metrics.hpp), installed once per
// test process on a registry of its own; 0 when absent. The counters add up
// across test cases: compare values before and after.
inline double workflow_metric(const std::string& name, const std::map<std::string, std::string>& labels) {
  static const auto registry = [] {
    auto r = std::make_shared<prometheus::Registry>();
    metrics::install(r);
    return r;
  }();
  return testing::metric_value(*registry, name, labels);
}

struct LeadsDb {
  std::string url;
  pg::Pool pool;
  ConsumerDeps deps{pool};

  // `name` prefixes the database and is the pool's application_name.
  explicit LeadsDb(const std::string& name, std::size_t pool_size = 2)
      : url(make(name)),
        pool({.url = url, .size = pool_size, .application_name = name + "-test"}, log::root()) {}

  // First column of the first row as text ("" for no row or NULL).
  std::string text(const std::string& sql) {
    return pool.with([&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      auto r = tx.exec(sql);
      return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
    });
  }
  long long scalar(const std::string& sql) { return std::stoll(text(sql)); }

 private:
  static std::string make(const std::string& name) {
    auto url = leadpipe::testing::create_database(name);
    pg::migrate(url, "leads", embedded::leads_migrations(), log::root());
    return url;
  }
};

}  // namespace leadpipe::leads
