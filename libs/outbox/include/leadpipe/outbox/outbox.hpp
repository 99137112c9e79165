#pragma once
// Transactional outbox and idempotent consumer, both living in the owning
// service's own schema.
//
// Producer side: write the business change and the event in ONE transaction,
//   pg::transact(pool, [&](pqxx::work& tx) {
//     upsert_lead(tx, lead);
//     outbox::enqueue(tx, "leads", {.topic = "lead.created", .key = key, .payload = json});
//   });
// and let an outbox::Relay (below) publish the rows to Kafka afterwards.
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
#include <leadpipe/log/log.hpp>

#include <pqxx/transaction>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace prometheus {
class Registry;
}

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

// ---------------------------------------------------------------------------
// Relay
//
// The outbox relay: publishes committed outbox rows, in id order, through a
// callback (the service wires it to its Kafka producer; this library does not
// depend on Kafka).
//
//   outbox::Relay relay({.url = cfg.pg_url, .schema = "leads"},
//                       [&](const std::vector<outbox::OutboxMessage>& batch) {
//                         return producer.publish_and_wait(batch);   // one bool per message
//                       },
//                       log, registry);
//   relay.start();
//   ...
//   relay.stop();   // on SIGTERM, before the producer is flushed and destroyed
//
// Behaviour:
// - Exactly one relay per schema is active (session advisory lock taken with
//   pg_try_advisory_lock on a dedicated connection); others stand by, retry
//   every poll_interval and take over within that time when the active one
//   stops or dies.
// - The active relay LISTENs on <schema>_outbox and wakes on every commit
//   that enqueued something; it also polls every poll_interval as a fallback.
// - Each batch (up to batch_size rows, ascending id) goes to `publish`, which
//   returns one bool per message (true = acked by the broker). The acked
//   prefix is marked published (published_at = now()); from the first failure
//   on, the rest is retried after retry_backoff, starting again at the failed
//   message: never reordered, never skipped. Messages acked after a failure
//   are therefore sent again: delivery is at-least-once, and consumers
//   de-duplicate by event id (claim()).
// - All state is the table: a restarted relay continues where the last one
//   stopped. A database error drops the connections (and the lock) and the
//   relay starts over after retry_backoff.
// - Published rows older than `retention` are deleted in batches of 1000 when
//   the relay becomes active and every 5 minutes after.
//
// Thread-safety: start()/stop() from one controlling thread; backlog() and
// active() from any thread. `publish` runs on the relay's own thread, one
// batch at a time; it must return (stop() waits for it).
//
// Metrics (label schema=<schema>):
//   leadpipe_outbox_published_total          counter  messages marked published
//   leadpipe_outbox_backlog                  gauge    unpublished rows (refreshed about every second while active)
//   leadpipe_outbox_publish_failures_total   counter  publish attempts that did not ack the whole batch

struct RelayConfig {
  std::string url;     // PostgreSQL connection string of the service's database
  std::string schema;  // schema holding the outbox table
  std::size_t batch_size = 200;
  std::chrono::milliseconds poll_interval{500};
  std::chrono::milliseconds retry_backoff{1000};
  std::chrono::hours retention{24 * 7};
};

class Relay {
 public:
  using Publish = std::function<std::vector<bool>(const std::vector<OutboxMessage>&)>;

  // Validates the config (std::invalid_argument); connects only in start().
  Relay(RelayConfig config, Publish publish, log::Logger logger,
        std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~Relay();  // stop() + join
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Starts the relay thread (its own connections, not from a Pool). No-op
  // when running; may be called again after stop().
  void start();
  // Lets the current batch finish (publish and mark), releases the lock so a
  // standby takes over, joins the thread. Idempotent.
  void stop();

  // Unpublished rows, counted now (own connection). Throws on database errors.
  std::int64_t backlog();
  // Whether this relay currently holds the schema's relay lock.
  bool active() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadpipe::outbox
