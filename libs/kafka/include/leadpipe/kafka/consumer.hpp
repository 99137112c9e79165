#pragma once
// At-least-once Kafka consumer with retries and a dead-letter topic.
//
// Processing: records are handled one at a time on the consumer's own thread
// (blocking database work is fine there). The handler:
//   - returns            → done; the record's offset is stored.
//   - throws PermanentError → dead-lettered at once (error_class=permanent).
//   - throws UnavailableError → a dependency (the database) is down, the record
//                             is fine: retried with capped backoff for as long as
//                             it takes (or until stop()), never dead-lettered, so
//                             an outage does not empty the topic into the DLQ.
//   - throws anything else  → retried after retry_backoff(attempt) up to
//                             max_attempts, then dead-lettered (error_class=exhausted).
// Dead letters go to "<topic>.dlq" (through the given Producer, so with its
// topic prefix) with the original key, value and headers plus dlq.* headers
// (see make_dead_letter). The offset is stored only after the handler
// succeeded or the dead letter was acked: nothing is skipped. If the dead-letter
// write fails it is retried with backoff until it succeeds or stop() is called
// (then the record is redelivered later); nothing is dropped.
//
// Offsets: enable.auto.commit=true with enable.auto.offset.store=false, so
// librdkafka commits only offsets we stored, periodically, on rebalance and on
// close. A crash can redeliver records handled since the last commit: handlers
// must be idempotent (record the event id in the same DB transaction).
//
// Lifecycle: construct → start() → … → stop() (or destroy). stop() lets the
// current record finish (a retry backoff is cut short and that record is left
// for redelivery), commits stored offsets, leaves the group and joins the
// thread. A stopped Consumer cannot be restarted. The dlq Producer must
// outlive the Consumer. A handler that runs longer than max.poll.interval.ms
// (librdkafka default 300 s) gets the consumer evicted from the group.
//
// Thread-safety: start(), stop() and healthy() may be called from any thread.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "leadpipe/kafka/client.hpp"
#include "leadpipe/log/log.hpp"

namespace prometheus {
class Registry;
}

namespace leadpipe::kafka {

class Producer;

struct ConsumerConfig {
  ClientConfig client;
  std::string group_id;
  std::vector<std::string> topics;  // unprefixed
  int max_attempts = 5;             // handler calls per record before dead-lettering (>= 1)
  std::chrono::milliseconds retry_backoff{200};  // first retry delay, doubled per attempt
  std::chrono::milliseconds max_backoff{5000};   // cap of the retry delay
  std::string auto_offset_reset = "earliest";    // where a new group starts
};

class Consumer {
 public:
  // Runs on the consumer's thread; the logger carries topic/partition/offset.
  using Handler = std::function<void(const Record&, const log::Logger&)>;

  // Throws std::invalid_argument if the configuration is rejected.
  // Metrics (if registry given):
  // leadpipe_kafka_consumed_total{topic,outcome=ok|retried|dead_lettered},
  // leadpipe_kafka_consumer_lag{topic,partition,group} (from the last fetch's high watermark).
  Consumer(ConsumerConfig config, Producer& dlq_producer, Handler handler, log::Logger logger,
           std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~Consumer();  // stop() + join
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Subscribes and starts the consumer thread. Throws std::runtime_error if the
  // subscription is refused, std::logic_error if already started or stopped.
  void start();
  // Finish the current record, commit stored offsets, close (leave the group),
  // join. Idempotent. Called from the handler itself it only requests the stop
  // (the thread exits after the current record).
  void stop();
  // Running, not stopped, and the brokers are reachable.
  bool healthy() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Pure building blocks (exposed for tests and for tools that replay DLQs) ----

enum class DeadLetterClass { permanent, exhausted };
std::string_view to_string(DeadLetterClass c);

// Delay before retry number `attempt` (1 = the first retry): base * 2^(attempt-1),
// capped at max_backoff; never negative, no overflow for large attempts.
std::chrono::milliseconds retry_backoff(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds max_backoff);

// The dead letter for `record`: topic "<record.topic>.dlq", same key and value,
// the original headers except earlier dlq.* ones (a replayed dead letter is
// re-labelled, not double-labelled), then dlq.reason (truncated to 1000 bytes
// on a UTF-8 boundary), dlq.error_class (permanent|exhausted),
// dlq.source_topic, dlq.source_partition, dlq.source_offset, dlq.attempts,
// dlq.consumer_group and dlq.failed_at (RFC 3339 UTC).
Message make_dead_letter(const Record& record, std::string_view reason, DeadLetterClass error_class,
                         int attempts, std::string_view consumer_group);

}  // namespace leadpipe::kafka
