#pragma once
// Consumes contact.extracted: one transaction claims the event id, upserts the
// lead on its identity / phone / email, records capture metadata and the
// timeline entry, and writes lead.created / lead.updated (+ stage_changed) to
// the outbox. A replayed event is a no-op. Runs on the consumer's thread.
#include <pqxx/pqxx>

#include <optional>
#include <string>

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

// After a capture was merged into a lead (in `tx`): lead.created or
// lead.updated through the outbox, and, when contact data completed the lead,
// the automatic stage move journaled with lead.stage_changed. Shared by every
// intake consumer so they announce changes identically.
void publish_capture_outcome(pqxx::work& tx, const MergeResult& r, const std::optional<Lead>& existing,
                             const std::string& event_id);

// Whether a capture created the lead or changed its phone or e-mail (then
// duplicate candidates are looked for).
bool contact_key_changed(const MergeResult& r);

void handle_contact_extracted(const ConsumerDeps& deps, const kafka::Record& record,
                              const log::Logger& logger);

}  // namespace leadpipe::leads
