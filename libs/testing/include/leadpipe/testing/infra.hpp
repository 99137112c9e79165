#pragma once
// Helpers for tests labelled [pg], [kafka] and [e2e]. The servers are the real
// PostgreSQL and Kafka started by deploy/local/test-infra.sh (the CTest `infra`
// fixture) on test-only ports; tests isolate themselves by unique names
// (schemas, databases, topics, consumer groups), never by sleeping.
#include <chrono>
#include <functional>
#include <string>

namespace leadpipe::testing {

// Superuser connection string of the test cluster's `postgres` database.
// Env LEADPIPE_TEST_PG_URL overrides (default host=127.0.0.1 port=25532).
std::string pg_admin_url();
// Same server, another database.
std::string pg_url(const std::string& database);
// Bootstrap servers of the test broker. Env LEADPIPE_TEST_KAFKA (default 127.0.0.1:29192).
std::string kafka_brokers();
// A fresh, lower-case identifier safe for SQL and topic names: prefix + random.
std::string unique_name(const std::string& prefix);
// Creates a new empty database on the test cluster and returns its URL.
std::string create_database(const std::string& prefix);
// Polls `done` every 20 ms until it returns true or `timeout` passes.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Absolute path of the source tree (for samples under ../shared and scripts).
std::string source_dir();

}  // namespace leadpipe::testing
