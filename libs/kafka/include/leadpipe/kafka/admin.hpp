#pragma once
// Topic administration through librdkafka's Admin API.
#include <chrono>
#include <string>
#include <vector>

#include "leadpipe/kafka/client.hpp"

namespace leadpipe::kafka {

// Creates the topics (names unprefixed; config.topic_prefix is applied) if they
// do not exist: "already exists" counts as success, so this is idempotent.
// Returns once every topic is visible in cluster metadata with a leader for
// each partition, so a producer or consumer started right after finds it.
// Throws std::runtime_error naming each topic that failed, or on timeout.
// Blocking; call at start-up or from tools/tests, not from an I/O thread.
void create_topics(const ClientConfig& config, const std::vector<std::string>& topics,
                   int partitions, int replication = 1,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Deletes the topics (names unprefixed; config.topic_prefix is applied) and
// their data; a topic that does not exist counts as deleted. Throws
// std::runtime_error naming each topic that failed, or on timeout. Blocking,
// for tools and tests (a benchmark's topics, say), never for a service.
void delete_topics(const ClientConfig& config, const std::vector<std::string>& topics,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace leadpipe::kafka
