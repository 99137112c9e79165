#pragma once
// The contact-extractor's one Kafka consumer. Each record is handled in ONE
// transaction: claim the event id (a redelivery is a no-op), apply the effect,
// write any output to the outbox (the relay publishes it).
//   ingest.whatsapp.inbound → conversation state advanced (rules, slot
//       filling, gated LLM), contact.extracted, optionally an outreach.requested
//       slot prompt
//   outreach.sent          → the bot's / counsellor's words fed into the state
//       as a bot/agent turn (questions set awaiting_*, numbers it said are never
//       the lead's); no output
//   ingest.call.completed  → transcript scored, name/email/phone taken from the
//       customer's turns, contact.extracted (channel "call")
// Runs on the Kafka consumer's thread; blocking DB and LLM work is fine there.
#include <chrono>
#include <string>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/extract/extractor.hpp>
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/pg/pool.hpp>

#include "llm.hpp"
#include "tenant_config.hpp"

namespace leadpipe::extractor {

struct ConsumerDeps {
  pg::Pool& pool;
  TenantCache& tenants;
  LlmLayer* llm = nullptr;  // null or not configured → rule-only
};

inline constexpr const char* kConsumerName = "contact-extractor";
inline constexpr const char* kSchema = "extraction";

// Dispatches on the CloudEvent type. Throws kafka::PermanentError for events
// that can never be processed (bad envelope, schema-invalid data, unknown type).
void handle_record(const ConsumerDeps& deps, const kafka::Record& record, const log::Logger& logger);

// Consumes one LLM call from the tenant's budget for today (UTC) in `tx`;
// false when the budget is spent.
bool take_llm_budget(pqxx::transaction_base& tx, const std::string& tenant, int daily_budget);

}  // namespace leadpipe::extractor
