#pragma once
// Idempotent Kafka producer (enable.idempotence=true, acks=all) with a
// coroutine API for I/O threads and a blocking API for worker threads.
//
// Lifecycle: the constructor creates the librdkafka handle and starts one poll
// thread that serves delivery reports and errors. The destructor stops the
// poll thread, flushes (bounded by close_timeout), purges whatever is still
// queued or in flight (those sends complete with a "purged" error, so no
// waiter is ever left hanging), then destroys the handle. Destroy the Producer before the
// io_context whose coroutines await it, and after every Consumer that dead-letters through it.
//
// Thread-safety: every member function may be called from any thread, except
// that the blocking *_sync functions must not be called from a completion
// handler running on the poll thread (none of ours do: async completions are
// always posted to the awaiting coroutine's executor).
//
// Every send completes: librdkafka reports each message once, at the latest
// when message.timeout.ms (= delivery_timeout) expires; a produce() refused
// up front (queue full, message too large, fatal producer) completes at once
// with ok=false. Nothing here throws for a failed delivery.
#include <utility>  // before Asio: GCC 12 + Boost 1.74 need std::exchange declared

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "leadpipe/kafka/client.hpp"
#include "leadpipe/log/log.hpp"

namespace prometheus {
class Registry;
}

namespace leadpipe::kafka {

struct ProducerConfig {
  ClientConfig client;
  // message.timeout.ms: bounds how long a caller can wait for a result.
  std::chrono::milliseconds delivery_timeout{5000};
  std::chrono::milliseconds linger{2};  // linger.ms: batching delay
  // How long the destructor waits for queued messages before purging them.
  std::chrono::milliseconds close_timeout{10000};
};

class Producer {
 public:
  // Throws std::invalid_argument if librdkafka rejects the configuration.
  // Metrics (if registry given): leadpipe_kafka_produced_total{topic,result},
  // leadpipe_kafka_produce_latency_seconds (enqueue to broker ack, successes).
  Producer(ProducerConfig config, log::Logger logger,
           std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Completes on the awaiting coroutine's executor once the broker acked all
  // messages or they failed / timed out; results are in input order. Never
  // blocks the calling thread. The Producer must outlive the operation.
  boost::asio::awaitable<std::vector<DeliveryResult>> send_all(std::vector<Message> messages);
  boost::asio::awaitable<DeliveryResult> send(Message message);

  // Blocking equivalents for consumer / relay threads.
  std::vector<DeliveryResult> send_all_sync(std::vector<Message> messages);
  DeliveryResult send_sync(Message message);

  // Waits until everything queued so far is delivered or failed; false on timeout.
  bool flush(std::chrono::milliseconds timeout);

  // False while all brokers are down (librdkafka reported ALL_BROKERS_DOWN) or
  // after a fatal idempotence error; true again after a successful delivery or
  // metadata request (probed every 2 s while down). Starts true. A single
  // broker's transport error does not count: librdkafka reports one whenever
  // an idle connection is closed, which is no outage.
  bool healthy() const;

  const ProducerConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadpipe::kafka
