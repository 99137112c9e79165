#pragma once
// Plain data types shared by the producer, the consumer and the admin helper.
// No librdkafka types leak into these headers.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::kafka {

struct ClientConfig {
  std::string brokers;    // bootstrap.servers, e.g. "127.0.0.1:59092"
  std::string client_id;  // client.id: shows up in broker logs and metrics
  // Prepended to every topic name on the wire (tests isolate runs with it);
  // records and results report the unprefixed name.
  std::string topic_prefix;
  // Extra librdkafka properties, applied last (they win over our defaults).
  std::map<std::string, std::string> overrides;
};

struct Header {
  std::string key;
  std::string value;
};

struct Message {
  std::string topic;  // unprefixed
  std::string key;    // empty = no key (random partition)
  std::string value;
  std::vector<Header> headers;
};

// Outcome of one produced message.
struct DeliveryResult {
  bool ok = false;
  std::string error;  // librdkafka's text when !ok
  bool retriable =
      false;  // true when trying again later may succeed (broker down, timeout, queue full)
  int32_t partition = -1;
  int64_t offset = -1;
};

// Throw from a Consumer::Handler for an event that can never succeed (cannot
// parse, fails its schema, invalid for the domain): the record is dead-lettered
// at once instead of being retried.
class PermanentError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// Throw from a Consumer::Handler when a dependency it needs (the database) is
// unreachable and the record itself is fine: the record is retried with capped
// backoff until it succeeds or the consumer stops — never dead-lettered, so an
// outage does not drain the topic into the DLQ. Handlers stay idempotent: if a
// long outage gets the consumer evicted from its group, the record is simply
// delivered again after the rebalance.
class UnavailableError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// One consumed record.
struct Record {
  std::string topic;  // unprefixed
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  std::vector<Header> headers;
  int64_t timestamp_ms = -1;  // the record's timestamp (create or log-append time); -1 if none

  // Value of the last header with this key (Kafka allows repeats; last wins).
  std::optional<std::string> header(std::string_view key) const;
};

}  // namespace leadpipe::kafka
