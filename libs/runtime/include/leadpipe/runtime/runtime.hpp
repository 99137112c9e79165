#pragma once
// Start-up glue shared by every service main(): common configuration, the
// id namespace for deterministic event ids, and a guarded entry point that
// turns configuration errors into exit code 2 with the variable's name and
// anything else into a logged exit code 1 (never an unlogged crash).
#include <functional>
#include <string>

#include <prometheus/registry.h>

#include <leadpipe/config/env.hpp>
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>

namespace leadpipe::runtime {

// KAFKA_BROKERS (required), KAFKA_TOPIC_PREFIX (optional, "" by default).
kafka::ClientConfig kafka_from_env(config::Env& env, const std::string& client_id);

// LOG_LEVEL (debug|info|warn|error, default info) → log::init(service, level).
void init_logging(config::Env& env, const std::string& service);

// Runs body(env). ConfigError → message on stderr, exit 2. Other exceptions →
// logged as JSON, exit 1. Returns body's exit code otherwise.
int guarded_main(const std::string& service, const std::function<int(config::Env&)>& body);

}  // namespace leadpipe::runtime

#include <optional>

#include <leadpipe/http/message.hpp>
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/pg/errors.hpp>

namespace leadpipe::runtime {
// The outbox relay's publish step: sends a batch through the producer and
// reports, per message, whether Kafka acknowledged it.
outbox::Relay::Publish outbox_publisher(kafka::Producer& producer);
}  // namespace leadpipe::runtime

namespace leadpipe::runtime {
// For http::Server::set_error_mapper: a transient database failure that
// escaped a handler (connection lost, database down, no pooled connection
// within the acquire timeout, serialization conflict after the retries) is
// a 503 problem with Retry-After: 1 — the request may be repeated — not a
// 500. Anything else: std::nullopt (the server's 500).
std::optional<http::HttpError> database_unavailable_as_503(const std::exception& e);

// For Kafka handlers: runs `f` (which uses the database) and turns a
// transient database failure (connection lost, pool exhausted, serialization
// conflict) into kafka::UnavailableError, so the consumer holds the record
// and retries it instead of dead-lettering a perfectly good event.
template <typename F>
decltype(auto) with_database(F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const pg::TransientError& e) {
    throw kafka::UnavailableError(std::string("database unavailable: ") + e.what());
  }
}
}  // namespace leadpipe::runtime
