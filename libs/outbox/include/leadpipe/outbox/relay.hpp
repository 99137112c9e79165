#pragma once
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
#include <leadpipe/log/log.hpp>
#include <leadpipe/outbox/outbox.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
}

namespace leadpipe::outbox {

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
