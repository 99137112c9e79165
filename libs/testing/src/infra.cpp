#include "leadpipe/testing/infra.hpp"

#include <pqxx/pqxx>

#include <cstdlib>
#include <random>
#include <thread>

namespace leadpipe::testing {
namespace {
std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : fallback;
}
}  // namespace

std::string pg_url(const std::string& database) {
  return env_or("LEADPIPE_TEST_PG_URL", "host=127.0.0.1 port=25532 user=postgres") +
         " dbname=" + database;
}

std::string pg_admin_url() { return pg_url("postgres"); }

std::string kafka_brokers() { return env_or("LEADPIPE_TEST_KAFKA", "127.0.0.1:29192"); }

std::string unique_name(const std::string& prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out = prefix + "_";
  for (int i = 0; i < 10; ++i) out.push_back(alphabet[rng() % 36]);
  return out;
}

std::string create_database(const std::string& prefix) {
  const std::string name = unique_name(prefix);
  pqxx::connection c(pg_admin_url());
  pqxx::nontransaction tx(c);
  tx.exec0("CREATE DATABASE " + tx.quote_name(name));
  return pg_url(name);
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string source_dir() { return LEADPIPE_SOURCE_DIR; }

}  // namespace leadpipe::testing
