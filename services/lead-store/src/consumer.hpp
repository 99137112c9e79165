#pragma once
// Consumes contact.extracted: one transaction claims the event id, upserts the
// lead on its identity / phone / email, records capture metadata and the
// timeline entry, and writes lead.created / lead.updated (+ stage_changed) to
// the outbox. A replayed event is a no-op. Runs on the consumer's thread.
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/pg/pool.hpp>

#include "lead.hpp"

namespace leadpipe::leads {

inline constexpr const char* kConsumerName = "lead-store";

struct ConsumerDeps {
  pg::Pool& pool;
  Pipeline pipeline = Pipeline::admissions();
};

void handle_contact_extracted(const ConsumerDeps& deps, const kafka::Record& record,
                              const log::Logger& logger);

}  // namespace leadpipe::leads
