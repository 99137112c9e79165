#include "leadpipe/kafka/consumer.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common.hpp"
#include "leadpipe/kafka/producer.hpp"

namespace leadpipe::kafka {
namespace {

using Clock = std::chrono::steady_clock;

std::string describe(const std::vector<RdKafka::TopicPartition*>& parts) {
  std::string out;
  for (const auto* p : parts) {
    if (!out.empty()) out += ",";
    out += p->topic() + "/" + std::to_string(p->partition());
  }
  return out;
}

Record to_record(RdKafka::Message& msg, const ClientConfig& client) {
  Record r;
  r.topic = detail::strip_prefix(client, msg.topic_name());
  r.partition = msg.partition();
  r.offset = msg.offset();
  if (msg.key_pointer() != nullptr) {
    r.key.assign(static_cast<const char*>(msg.key_pointer()), msg.key_len());
  }
  if (msg.payload() != nullptr) r.value.assign(static_cast<const char*>(msg.payload()), msg.len());
  if (RdKafka::Headers* hs = msg.headers(); hs != nullptr) {
    for (const auto& h : hs->get_all()) {
      Header out{h.key(), {}};
      if (h.value() != nullptr)
        out.value.assign(static_cast<const char*>(h.value()), h.value_size());
      r.headers.push_back(std::move(out));
    }
  }
  const RdKafka::MessageTimestamp ts = msg.timestamp();
  r.timestamp_ms =
      ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE ? -1 : ts.timestamp;
  return r;
}

}  // namespace

struct Consumer::Impl : public RdKafka::RebalanceCb {
  Impl(ConsumerConfig cfg, Producer& dlq, Handler h, log::Logger log,
       std::shared_ptr<prometheus::Registry> reg)
      : config(std::move(cfg)),
        dlq_producer(dlq),
        handler(std::move(h)),
        logger(std::move(log)),
        registry(std::move(reg)),
        events(logger, [this](RdKafka::ErrorCode err, bool fatal) { on_error(err, fatal); }) {
    if (config.group_id.empty()) throw std::invalid_argument("kafka consumer: group_id is empty");
    if (config.topics.empty()) throw std::invalid_argument("kafka consumer: no topics");
    if (config.max_attempts < 1) throw std::invalid_argument("kafka consumer: max_attempts < 1");
    if (!handler) throw std::invalid_argument("kafka consumer: no handler");
    if (registry) {
      consumed = &prometheus::BuildCounter()
                      .Name("leadpipe_kafka_consumed_total")
                      .Help("Records consumed, by topic and outcome (ok|retried|dead_lettered)")
                      .Register(*registry);
      lag =
          &prometheus::BuildGauge()
               .Name("leadpipe_kafka_consumer_lag")
               .Help("Records behind the partition's high watermark after the last handled record")
               .Register(*registry);
    }
    auto conf =
        detail::make_conf(config.client, {
                                             {"group.id", config.group_id},
                                             {"enable.auto.commit", "true"},
                                             {"enable.auto.offset.store", "false"},
                                             {"auto.offset.reset", config.auto_offset_reset},
                                             {"enable.partition.eof", "false"},
                                             // TCP_NODELAY, as the producer and the Java client.
                                             {"socket.nagle.disable", "true"},
                                         });
    std::string err;
    if (conf->set("event_cb", static_cast<RdKafka::EventCb*>(&events), err) !=
            RdKafka::Conf::CONF_OK ||
        conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
      throw std::invalid_argument("kafka consumer config: " + err);
    }
    consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer) throw std::invalid_argument("kafka consumer: " + err);
  }

  ~Impl() { stop(); }

  // ---- lifecycle ----

  void start() {
    std::lock_guard lock(lifecycle_mu);
    if (started || stop_requested)
      throw std::logic_error("kafka consumer: start() called twice or after stop()");
    std::vector<std::string> wire;
    for (const auto& t : config.topics) wire.push_back(detail::wire_topic(config.client, t));
    if (const auto err = consumer->subscribe(wire); err != RdKafka::ERR_NO_ERROR) {
      throw std::runtime_error("kafka consumer: subscribe failed: " + RdKafka::err2str(err));
    }
    started = true;
    running = true;
    worker = std::thread([this] { run(); });
    worker_id = worker.get_id();
    logger.info("kafka consumer started");
  }

  void request_stop() {
    {
      std::lock_guard lock(sleep_mu);
      stop_requested = true;
    }
    wake.notify_all();
  }

  void stop() {
    request_stop();
    // From the handler: the loop exits after the current record; the owner joins later.
    if (std::this_thread::get_id() == worker_id.load()) return;
    std::lock_guard lock(lifecycle_mu);
    if (worker.joinable()) worker.join();
    close_once();  // no-op if the worker closed it
  }

  // Commits what was stored and leaves the group. Runs on the worker thread
  // (or on the caller's if the consumer never started).
  void close_once() {
    if (closed.exchange(true)) return;
    if (const auto err = consumer->commitSync(); err != RdKafka::ERR_NO_ERROR &&
                                                 err != RdKafka::ERR__NO_OFFSET &&
                                                 err != RdKafka::ERR__STATE) {
      logger.warn("kafka consumer: final commit failed", {{"error", RdKafka::err2str(err)}});
    }
    if (const auto err = consumer->close(); err != RdKafka::ERR_NO_ERROR) {
      logger.warn("kafka consumer: close failed", {{"error", RdKafka::err2str(err)}});
    }
    running = false;
    logger.info("kafka consumer stopped");
  }

  // Sleeps unless/until stop is requested; false if it was.
  bool sleep_unless_stopping(std::chrono::milliseconds d) {
    std::unique_lock lock(sleep_mu);
    return !wake.wait_for(lock, d, [this] { return stop_requested.load(); });
  }

  // ---- the worker ----

  void run() {
    worker_id = std::this_thread::get_id();  // before any handler can call stop()
    auto next_probe = Clock::now();
    while (!stop_requested) {
      std::unique_ptr<RdKafka::Message> msg(consumer->consume(100));
      switch (msg->err()) {
        case RdKafka::ERR_NO_ERROR:
          broker_up = true;
          process(*msg);
          break;
        case RdKafka::ERR__TIMED_OUT:
        case RdKafka::ERR__PARTITION_EOF: break;
        default:
          if (msg->err() == RdKafka::ERR__FATAL) fatal = true;
          log_consume_error(*msg);
          break;
      }
      // librdkafka reports all brokers down but not their return: probe.
      if (!broker_up && Clock::now() >= next_probe) {
        RdKafka::Metadata* md = nullptr;
        if (consumer->metadata(false, nullptr, &md, 500) == RdKafka::ERR_NO_ERROR) {
          broker_up = true;
          logger.info("kafka consumer: brokers reachable again");
        }
        delete md;
        next_probe = Clock::now() + std::chrono::seconds(2);
      }
    }
    close_once();
  }

  void log_consume_error(RdKafka::Message& msg) {
    const auto now = Clock::now();
    if (msg.err() == last_error && now - last_error_logged < std::chrono::seconds(10)) return;
    last_error = msg.err();
    last_error_logged = now;
    logger.warn("kafka consume error", {{"kafka_error", RdKafka::err2str(msg.err())},
                                        {"detail", msg.errstr()},
                                        {"topic", msg.topic_name()}});
  }

  void process(RdKafka::Message& msg) {
    const Record record = to_record(msg, config.client);
    const std::string wire = msg.topic_name();
    const log::Logger rlog = logger.with(
        {{"topic", record.topic}, {"partition", record.partition}, {"offset", record.offset}});

    int attempt = 0;      // failures that count towards max_attempts
    int unavailable = 0;  // consecutive "dependency down" failures (no limit)
    for (;;) {
      std::string error;
      bool handled = false;
      bool permanent = false;
      bool dependency_down = false;
      try {
        handler(record, rlog);
        handled = true;
      } catch (const PermanentError& e) {
        permanent = true;
        error = e.what();
      } catch (const UnavailableError& e) {
        dependency_down = true;
        error = e.what();
      } catch (const std::exception& e) {
        error = e.what();
      } catch (...) {
        error = "non-standard exception";
      }
      if (handled) {
        if (unavailable > 0) rlog.info("dependency back; record processed", {{"waited_retries", unavailable}});
        count(record.topic, "ok");
        store_offset(wire, record, rlog);
        return;
      }
      if (permanent) {
        dead_letter(wire, record, error, DeadLetterClass::permanent, attempt + 1, rlog);
        return;
      }
      std::chrono::milliseconds delay{0};
      if (dependency_down) {
        ++unavailable;
        delay = retry_backoff(unavailable, config.retry_backoff, config.max_backoff);
        // First failure, then once a minute at most: an outage is one story, not a flood.
        if (unavailable == 1 || unavailable % 12 == 0) {
          rlog.warn("dependency unavailable; holding the record and retrying",
                    {{"retries", unavailable},
                     {"backoff_ms", static_cast<std::int64_t>(delay.count())},
                     {"error", error}});
        }
      } else {
        ++attempt;
        if (attempt >= config.max_attempts) {
          dead_letter(wire, record, error, DeadLetterClass::exhausted, attempt, rlog);
          return;
        }
        delay = retry_backoff(attempt, config.retry_backoff, config.max_backoff);
        rlog.warn("handler failed; will retry",
                  {{"attempt", attempt},
                   {"max_attempts", config.max_attempts},
                   {"backoff_ms", static_cast<std::int64_t>(delay.count())},
                   {"error", error}});
      }
      count(record.topic, "retried");
      if (!sleep_unless_stopping(delay)) {
        rlog.info("stopping during retries; the record will be redelivered");
        return;  // offset not stored
      }
    }
  }

  void dead_letter(const std::string& wire, const Record& record, const std::string& reason,
                   DeadLetterClass cls, int attempts, const log::Logger& rlog) {
    const Message letter = make_dead_letter(record, reason, cls, attempts, config.group_id);
    for (int n = 1;; ++n) {
      const DeliveryResult r = dlq_producer.send_sync(letter);
      if (r.ok) {
        count(record.topic, "dead_lettered");
        rlog.warn("record dead-lettered", {{"dlq_topic", letter.topic},
                                           {"error_class", std::string(to_string(cls))},
                                           {"attempts", attempts},
                                           {"reason", reason}});
        store_offset(wire, record, rlog);
        return;
      }
      const auto delay = retry_backoff(n, config.retry_backoff, config.max_backoff);
      rlog.error("dead-letter write failed; retrying (offset not stored)",
                 {{"dlq_topic", letter.topic},
                  {"error", r.error},
                  {"try", n},
                  {"backoff_ms", static_cast<std::int64_t>(delay.count())}});
      if (!sleep_unless_stopping(delay)) {
        rlog.warn("stopping with an unwritten dead letter; the record will be redelivered");
        return;
      }
    }
  }

  void store_offset(const std::string& wire, const Record& record, const log::Logger& rlog) {
    std::unique_ptr<RdKafka::TopicPartition> tp(
        RdKafka::TopicPartition::create(wire, record.partition, record.offset + 1));
    std::vector<RdKafka::TopicPartition*> parts{tp.get()};
    const auto err = consumer->offsets_store(parts);
    if (err != RdKafka::ERR_NO_ERROR || tp->err() != RdKafka::ERR_NO_ERROR) {
      // Typically the partition was revoked meanwhile: its new owner redelivers.
      rlog.warn("could not store offset",
                {{"error", RdKafka::err2str(err != RdKafka::ERR_NO_ERROR ? err : tp->err())}});
      return;
    }
    if (lag != nullptr) {
      int64_t low = -1, high = -1;
      if (consumer->get_watermark_offsets(wire, record.partition, &low, &high) ==
              RdKafka::ERR_NO_ERROR &&
          high >= 0) {
        lag->Add({{"topic", record.topic},
                  {"partition", std::to_string(record.partition)},
                  {"group", config.group_id}})
            .Set(static_cast<double>(std::max<int64_t>(0, high - (record.offset + 1))));
      }
    }
  }

  void count(const std::string& topic, const char* outcome) {
    if (consumed) consumed->Add({{"topic", topic}, {"outcome", outcome}}).Increment();
  }

  void on_error(RdKafka::ErrorCode err, bool is_fatal) {
    if (is_fatal) fatal = true;
    if (err == RdKafka::ERR__ALL_BROKERS_DOWN) broker_up = false;
  }

  // Served inside consume() on the worker thread.
  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& parts) override {
    const bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      logger.info("kafka partitions assigned", {{"partitions", describe(parts)}});
      if (cooperative) {
        std::unique_ptr<RdKafka::Error> e(c->incremental_assign(parts));
        if (e) logger.error("kafka incremental assign failed", {{"error", e->str()}});
      } else if (const auto e = c->assign(parts); e != RdKafka::ERR_NO_ERROR) {
        logger.error("kafka assign failed", {{"error", RdKafka::err2str(e)}});
      }
    } else {
      if (err == RdKafka::ERR__REVOKE_PARTITIONS) {
        logger.info("kafka partitions revoked",
                    {{"partitions", describe(parts)}, {"lost", c->assignment_lost()}});
      } else {
        logger.error("kafka rebalance error", {{"error", RdKafka::err2str(err)}});
      }
      if (cooperative) {
        std::unique_ptr<RdKafka::Error> e(c->incremental_unassign(parts));
        if (e) logger.error("kafka incremental unassign failed", {{"error", e->str()}});
      } else if (const auto e = c->unassign(); e != RdKafka::ERR_NO_ERROR) {
        logger.error("kafka unassign failed", {{"error", RdKafka::err2str(e)}});
      }
    }
  }

  ConsumerConfig config;
  Producer& dlq_producer;
  Handler handler;
  log::Logger logger;
  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>* consumed = nullptr;
  prometheus::Family<prometheus::Gauge>* lag = nullptr;
  detail::EventLogger events;  // must outlive `consumer`
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;

  std::mutex lifecycle_mu;  // start/stop/join
  std::thread worker;
  std::atomic<std::thread::id> worker_id{};
  bool started = false;  // guarded by lifecycle_mu
  std::atomic<bool> closed{false};
  std::atomic<bool> running{false};

  std::mutex sleep_mu;
  std::condition_variable wake;
  std::atomic<bool> stop_requested{false};  // written under sleep_mu

  std::atomic<bool> broker_up{true};
  std::atomic<bool> fatal{false};

  // Worker-thread only.
  RdKafka::ErrorCode last_error = RdKafka::ERR_NO_ERROR;
  Clock::time_point last_error_logged{};
};

Consumer::Consumer(ConsumerConfig config, Producer& dlq_producer, Handler handler,
                   log::Logger logger, std::shared_ptr<prometheus::Registry> registry) {
  log::Logger scoped = logger.with({{"component", "kafka-consumer"}, {"group", config.group_id}});
  impl_ = std::make_unique<Impl>(std::move(config), dlq_producer, std::move(handler),
                                 std::move(scoped), std::move(registry));
}

Consumer::~Consumer() = default;

void Consumer::start() { impl_->start(); }
void Consumer::stop() { impl_->stop(); }

bool Consumer::healthy() const {
  return impl_->running && !impl_->stop_requested && impl_->broker_up && !impl_->fatal;
}

}  // namespace leadpipe::kafka
