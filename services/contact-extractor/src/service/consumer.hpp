#pragma once
// Consumes ingest.whatsapp.inbound: for each message, in ONE transaction,
// claims the event id (idempotent), advances the sender's conversation state,
// and writes contact.extracted to the outbox. The relay publishes it.
// Runs on the Kafka consumer's thread; blocking DB work is fine there.
#include <chrono>
#include <string>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/extract/extractor.hpp>
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/pg/pool.hpp>

namespace leadpipe::extractor {

struct ConsumerDeps {
  pg::Pool& pool;
  const extract::Extractor& extractor;
  std::string region;
};

inline constexpr const char* kConsumerName = "contact-extractor";
inline constexpr const char* kSchema = "extraction";

// Throws kafka::PermanentError for events that can never be processed
// (bad envelope, schema-invalid data, wrong type).
void handle_inbound(const ConsumerDeps& deps, const kafka::Record& record, const log::Logger& logger);

}  // namespace leadpipe::extractor
