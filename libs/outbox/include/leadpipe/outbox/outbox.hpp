#pragma once
// Transactional outbox and idempotent consumer, both living in the owning
// service's own schema.
//
// Producer side: write the business change and the event in ONE transaction,
//   pg::transact(pool, [&](pqxx::work& tx) {
//     upsert_lead(tx, lead);
//     outbox::enqueue(tx, "leads", {.topic = "lead.created", .key = key, .payload = json});
//   });
// and let an outbox::Relay (relay.hpp) publish the rows to Kafka afterwards.
// Either both commit or neither does, so no event is lost and none is
// announced for a change that rolled back.
//
// Consumer side: apply an event's effect and remember its id in ONE
// transaction, then commit the Kafka offset:
//   pg::transact(pool, [&](pqxx::work& tx) {
//     if (!outbox::claim(tx, "leads", "lead-store.contact-extracted", event.id)) return;  // duplicate
//     apply(tx, event);
//   });
//
// All functions are stateless and thread-safe; they use only the caller's
// transaction. `schema` must be a plain lower-case identifier of at most 56
// characters (the NOTIFY channel `<schema>_outbox` must fit PostgreSQL's 63).
#include <pqxx/transaction>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace leadpipe::outbox {

// The tables every service creates in its first migration (see README.md),
// qualified with `schema`. Tests run it directly; migrations spell out the
// same statements unqualified (they run with search_path = schema).
std::string ddl(const std::string& schema);

struct OutboxMessage {
  std::int64_t id = 0;  // assigned by the database; ignored by enqueue()
  std::string topic, key, payload;
  // Kafka headers. Stored as a JSON object: keys must be unique (a repeated
  // key keeps its last value) and come back ordered by jsonb's rules.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Inserts the message in the caller's transaction and fires
// NOTIFY <schema>_outbox, which PostgreSQL delivers only on commit, so the
// relay wakes at once. Throws std::invalid_argument for an empty topic or a
// bad schema name, pqxx errors from the insert.
void enqueue(pqxx::work& tx, const std::string& schema, const OutboxMessage& message);

// Records (consumer, event_id) as processed in the caller's transaction.
// Returns false when it was already recorded: the caller skips the effect.
// If another transaction is claiming the same id concurrently, this waits for
// it: false if it commits, true if it rolls back. A claim made in a
// transaction that rolls back is forgotten with it.
bool claim(pqxx::work& tx, const std::string& schema, const std::string& consumer,
           const std::string& event_id);

// NOTIFY channel of a schema's outbox: "<schema>_outbox".
std::string channel(const std::string& schema);

}  // namespace leadpipe::outbox
