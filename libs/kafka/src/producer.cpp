#include "leadpipe/kafka/producer.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common.hpp"

namespace leadpipe::kafka {
namespace {

using Clock = std::chrono::steady_clock;

struct Batch;

// How a finished batch reaches its waiter. Invoked exactly once: either
// complete(), from whichever thread served the batch's last delivery report,
// or (for batches finished in the poll thread's poll(), see Impl::hand_over)
// resume(), on the waiter's executor, from the function post_group() posted.
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void complete(std::vector<DeliveryResult> results) = 0;
  // Whether the waiter has an executor (and, below, the same one as `other`'s):
  // completions sharing one are handed over in one posted function.
  virtual bool has_executor() const { return false; }
  virtual bool same_executor(const Completion& /*other*/) const { return false; }
  // Posts to this waiter's executor one function that resumes every batch of
  // `group` (all with waiters on the same executor), in order, and deletes it.
  virtual void post_group(std::vector<std::unique_ptr<Batch>> /*group*/) {}
  // Runs the waiter now; only from the function post_group() posted.
  virtual void resume(std::vector<DeliveryResult> results) { complete(std::move(results)); }
};

void resume_all(std::vector<std::unique_ptr<Batch>>& group);

// Resumes a coroutine (or any Asio handler): posts the handler to its associated
// executor and keeps that executor's work count up until then, so an io_context
// does not run out of work while a send is in flight.
template <typename Handler>
class AsioCompletion final : public Completion {
 public:
  explicit AsioCompletion(Handler handler)
      : work_(boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                  boost::asio::execution::outstanding_work.tracked)),
        handler_(std::move(handler)) {}

  void complete(std::vector<DeliveryResult> results) override {
    // Always post, never dispatch: this may run inside ~Producer on an I/O
    // thread, and resuming the coroutine there would re-enter the destructor.
    boost::asio::post(work_, [h = std::move(handler_), r = std::move(results)]() mutable {
      std::move(h)(std::move(r));
    });
  }

  bool has_executor() const override { return true; }
  bool same_executor(const Completion& other) const override {
    const auto* o = dynamic_cast<const AsioCompletion*>(&other);
    return o != nullptr && o->work_ == work_;  // same io_context (or strand)
  }
  void post_group(std::vector<std::unique_ptr<Batch>> group) override {
    boost::asio::post(work_, [g = std::move(group)]() mutable { resume_all(g); });
  }
  void resume(std::vector<DeliveryResult> results) override { std::move(handler_)(std::move(results)); }

 private:
  decltype(boost::asio::prefer(std::declval<boost::asio::associated_executor_t<Handler>>(),
                               boost::asio::execution::outstanding_work.tracked)) work_;
  Handler handler_;
};

class PromiseCompletion final : public Completion {
 public:
  std::future<std::vector<DeliveryResult>> future() { return promise_.get_future(); }
  void complete(std::vector<DeliveryResult> results) override {
    promise_.set_value(std::move(results));
  }

 private:
  std::promise<std::vector<DeliveryResult>> promise_;
};

struct TopicEntry;

// librdkafka's per-message opaque: one slot per message, inside its batch (no
// allocation per message).
struct Slot {
  Batch* batch;
  std::size_t index;
  const TopicEntry* topic;  // owned by the producer, never erased
  Clock::time_point enqueued;
};

// One send_all call. `remaining` starts at size+1: the extra count is dropped
// after the last produce() call, so the batch cannot complete while messages
// are still being enqueued. The batch owns its messages until it completes:
// librdkafka is given their values without a copy (RD_KAFKA_MSG_F_COPY would
// be a second buffer and a memcpy per message, ~1.3 KB for a webhook's event)
// and reads them until the delivery report. It deletes itself on completion.
struct Batch {
  std::vector<Message> messages;  // never resized once produced from: values are referenced
  std::vector<DeliveryResult> results;
  std::vector<Slot> slots;
  std::atomic<std::size_t> remaining{0};
  std::unique_ptr<Completion> completion;
};

// What the producer keeps per topic it has sent to: the name on the wire and
// the counters, resolved once (prometheus::Family::Add per delivery report
// was a label map, a hash and a lock per message).
struct TopicEntry {
  std::string wire;  // with the client's topic prefix
  rd_kafka_topic_t* handle = nullptr;  // librdkafka's handle of `wire`, kept: no lookup by name per message
  rd_kafka_resp_err_t handle_error = RD_KAFKA_RESP_ERR_NO_ERROR;  // why `handle` is null (an invalid name)
  prometheus::Counter* ok = nullptr;
  prometheus::Counter* error = nullptr;
};

void resume_all(std::vector<std::unique_ptr<Batch>>& group) {
  for (auto& b : group) {
    b->completion->resume(std::move(b->results));
    b.reset();
  }
}

// Batches finished by delivery reports served inside the poll thread's poll():
// handed over to their waiters together once poll() returns (Impl::hand_over).
// Null on every other thread, and there a finished batch completes at once.
thread_local std::vector<std::unique_ptr<Batch>>* t_finished = nullptr;

// Counts one message of `batch` as finished; the last one completes the batch
// (or queues it for the hand-over) and deletes it. The batch must not be
// touched after this call.
void finish_one(Batch* batch) {
  // acq_rel: the completer sees every result slot written by other reporters.
  if (batch->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::unique_ptr<Batch> owned(batch);
    if (t_finished != nullptr && owned->completion->has_executor()) {
      t_finished->push_back(std::move(owned));
    } else {
      owned->completion->complete(std::move(owned->results));
    }
  }
}

}  // namespace

struct Producer::Impl : public RdKafka::DeliveryReportCb {
  Impl(ProducerConfig cfg, log::Logger log, std::shared_ptr<prometheus::Registry> reg)
      : config(std::move(cfg)),
        logger(std::move(log)),
        registry(std::move(reg)),
        events(logger, [this](RdKafka::ErrorCode err, bool fatal) { on_error(err, fatal); }) {
    if (registry) {
      produced = &prometheus::BuildCounter()
                      .Name("leadpipe_kafka_produced_total")
                      .Help("Messages produced, by topic and result (ok|error)")
                      .Register(*registry);
      latency = &prometheus::BuildHistogram()
                     .Name("leadpipe_kafka_produce_latency_seconds")
                     .Help("Time from produce() to the broker's ack, successful deliveries")
                     .Register(*registry)
                     .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01,
                                                                      0.025, 0.05, 0.1, 0.25, 0.5,
                                                                      1, 2.5, 5, 10});
    }
    auto conf = detail::make_conf(
        config.client, {
                           {"enable.idempotence", "true"},
                           {"acks", "all"},
                           {"message.timeout.ms", std::to_string(config.delivery_timeout.count())},
                           {"linger.ms", std::to_string(config.linger.count())},
                           // The Java client's partitioner: the same key lands on the same
                           // partition whichever client produced it.
                           {"partitioner", "murmur2_random"},
                           // TCP_NODELAY, as the Java client always sets: a produce request's
                           // last segment must not wait for the ack of the ones before it
                           // (every caller waits on the broker's answer).
                           {"socket.nagle.disable", "true"},
                       });
    std::string err;
    if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) !=
            RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(&events), err) !=
            RdKafka::Conf::CONF_OK) {
      throw std::invalid_argument("kafka producer config: " + err);
    }
    producer.reset(RdKafka::Producer::create(conf.get(), err));
    if (!producer) throw std::invalid_argument("kafka producer: " + err);
    poller = std::thread([this] { poll_loop(); });
  }

  ~Impl() {
    stopping = true;
    if (poller.joinable()) poller.join();
    // Bounded drain: anything still queued after this is purged, and the purge
    // reports are served below, so every waiter gets a result.
    const auto bound =
        std::min(config.close_timeout, config.delivery_timeout + std::chrono::seconds(1));
    if (producer->flush(static_cast<int>(bound.count())) != RdKafka::ERR_NO_ERROR) {
      logger.warn("kafka producer: flush timed out on shutdown; purging",
                  {{"outstanding", producer->outq_len()}});
      producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
      producer->flush(1000);
    }
    if (const auto left = in_flight.load(); left != 0) {
      logger.error("kafka producer: messages without delivery report at shutdown",
                   {{"count", static_cast<std::int64_t>(left)}});
    }
    for (auto& [name, t] : topics) {
      if (t.handle) rd_kafka_topic_destroy(t.handle);
    }
    producer.reset();
  }

  void poll_loop() {
    auto next_probe = Clock::now();
    std::vector<std::unique_ptr<Batch>> finished;
    while (!stopping) {
      t_finished = &finished;
      producer->poll(100);
      t_finished = nullptr;
      hand_over(finished);
      // librdkafka says when all brokers go down but not when one comes back:
      // probe with a metadata request while we believe they are down.
      if (!broker_up && !fatal && Clock::now() >= next_probe) {
        RdKafka::Metadata* md = nullptr;
        if (producer->metadata(false, nullptr, &md, 500) == RdKafka::ERR_NO_ERROR) {
          broker_up = true;
          logger.info("kafka producer: brokers reachable again");
        }
        delete md;
        next_probe = Clock::now() + std::chrono::seconds(2);
      }
    }
  }

  // Hands the batches one poll() finished to their waiters: one posted
  // function per executor resumes all of that executor's waiters in order,
  // instead of one post (a queued operation, a lock of the io_context's queue,
  // perhaps a wake-up) per batch. One poll serves every delivery report of a
  // produce response: at 512 webhooks in flight that is ~100 batches at once.
  static void hand_over(std::vector<std::unique_ptr<Batch>>& finished) {
    while (!finished.empty()) {
      std::vector<std::unique_ptr<Batch>> group;
      group.reserve(finished.size());
      const Completion& first = *finished.front()->completion;
      std::size_t others = 0;  // batches of other executors stay, compacted, for the next round
      for (auto& b : finished) {
        if (group.empty() || b->completion->same_executor(first)) {
          group.push_back(std::move(b));
        } else {
          finished[others++] = std::move(b);
        }
      }
      finished.resize(others);
      Completion& target = *group.front()->completion;
      target.post_group(std::move(group));
    }
  }

  void on_error(RdKafka::ErrorCode err, bool is_fatal) {
    if (is_fatal) fatal = true;
    if (err == RdKafka::ERR__ALL_BROKERS_DOWN) broker_up = false;
  }

  // Delivery report: called once per message from a thread in poll()/flush().
  void dr_cb(RdKafka::Message& msg) override {
    const Slot* p = static_cast<const Slot*>(msg.msg_opaque());
    if (!p) return;
    DeliveryResult& r = p->batch->results[p->index];
    if (msg.err() == RdKafka::ERR_NO_ERROR) {
      r.ok = true;
      r.partition = msg.partition();
      r.offset = msg.offset();
      broker_up = true;
      if (latency) {
        latency->Observe(std::chrono::duration<double>(Clock::now() - p->enqueued).count());
      }
    } else {
      r.ok = false;
      r.error = msg.errstr();
      r.retriable = detail::is_retriable(msg.err());
      r.partition = msg.partition();
    }
    count(*p->topic, r.ok);
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    finish_one(p->batch);  // may delete the batch, slot and payload included
  }

  static void count(const TopicEntry& t, bool ok) {
    if (auto* c = ok ? t.ok : t.error) c->Increment();
  }

  // The entry of an (unprefixed) topic, created on first use. Entries are
  // never erased, so pointers to them stay valid for the producer's life.
  const TopicEntry& topic_entry(const std::string& topic) {
    std::lock_guard lock(topics_mu);
    auto [it, added] = topics.try_emplace(topic);
    if (added) {
      it->second.wire = detail::wire_topic(config.client, topic);
      it->second.handle = rd_kafka_topic_new(producer->c_ptr(), it->second.wire.c_str(), nullptr);
      // NULL: an invalid name (or no memory); every message to it is refused
      // with the reason, as producing by name would.
      if (!it->second.handle) {
        const auto why = rd_kafka_last_error();
        it->second.handle_error = why != RD_KAFKA_RESP_ERR_NO_ERROR ? why : RD_KAFKA_RESP_ERR__INVALID_ARG;
      }
      if (produced) {
        it->second.ok = &produced->Add({{"topic", topic}, {"result", "ok"}});
        it->second.error = &produced->Add({{"topic", topic}, {"result", "error"}});
      }
    }
    return it->second;
  }

  void enqueue(std::vector<Message> messages, std::unique_ptr<Completion> completion) {
    const std::size_t n = messages.size();
    auto* batch = new Batch;
    batch->messages = std::move(messages);  // the vector's buffer moves: values keep their addresses
    batch->results.resize(n);
    batch->slots.resize(n);
    batch->remaining.store(n + 1, std::memory_order_relaxed);
    batch->completion = std::move(completion);
    for (std::size_t i = 0; i < n; ++i) produce_one(*batch, i);
    finish_one(batch);
  }

  // Produced through the C API: the C++ produce() takes the topic name by
  // value and looks the topic up by name, and its Headers wrapper is one more
  // allocation; per message, on the webhook's hot path. The value is not
  // copied (see Batch); the key and the headers are, by librdkafka.
  void produce_one(Batch& batch, std::size_t index) {
    const Message& m = batch.messages[index];
    rd_kafka_headers_t* headers = nullptr;
    if (!m.headers.empty()) {
      headers = rd_kafka_headers_new(m.headers.size());
      for (const auto& h : m.headers) {
        rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                            static_cast<ssize_t>(h.value.size()));
      }
    }
    const TopicEntry& topic = topic_entry(m.topic);
    Slot& slot = batch.slots[index];
    slot = Slot{&batch, index, &topic, Clock::now()};
    in_flight.fetch_add(1, std::memory_order_relaxed);
    const void* key = m.key.empty() ? nullptr : m.key.data();
    const rd_kafka_resp_err_t err =
        topic.handle ? rd_kafka_producev(producer->c_ptr(), RD_KAFKA_V_RKT(topic.handle),
                                         RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA), RD_KAFKA_V_MSGFLAGS(0),
                                         RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
                                         RD_KAFKA_V_KEY(key, m.key.size()), RD_KAFKA_V_HEADERS(headers),
                                         RD_KAFKA_V_OPAQUE(&slot), RD_KAFKA_V_END)
                     : topic.handle_error;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;  // the delivery report finishes it
    // Refused up front: no delivery report will come, so complete it here.
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (headers) rd_kafka_headers_destroy(headers);  // ownership passes to librdkafka only on success
    const auto code = static_cast<RdKafka::ErrorCode>(err);
    DeliveryResult& r = batch.results[index];
    r.ok = false;
    r.error = RdKafka::err2str(code);
    r.retriable = detail::is_retriable(code);
    count(topic, false);
    logger.warn("kafka produce refused", {{"topic", m.topic}, {"error", r.error}});
    finish_one(&batch);  // not the last count: enqueue() still holds one
  }

  ProducerConfig config;
  log::Logger logger;
  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>* produced = nullptr;
  prometheus::Histogram* latency = nullptr;
  std::mutex topics_mu;
  std::unordered_map<std::string, TopicEntry> topics;
  detail::EventLogger events;  // must outlive `producer`
  std::unique_ptr<RdKafka::Producer> producer;
  std::thread poller;
  std::atomic<bool> stopping{false};
  std::atomic<bool> broker_up{true};
  std::atomic<bool> fatal{false};
  std::atomic<std::size_t> in_flight{0};
};

Producer::Producer(ProducerConfig config, log::Logger logger,
                   std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_unique<Impl>(
          std::move(config), logger.with({{"component", "kafka-producer"}}), std::move(registry))) {
}

Producer::~Producer() = default;

boost::asio::awaitable<std::vector<DeliveryResult>> Producer::send_all(
    std::vector<Message> messages) {
  co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                 void(std::vector<DeliveryResult>)>(
      [impl = impl_.get()](auto handler, std::vector<Message> msgs) {
        impl->enqueue(std::move(msgs),
                      std::make_unique<AsioCompletion<decltype(handler)>>(std::move(handler)));
      },
      boost::asio::use_awaitable, std::move(messages));
}

boost::asio::awaitable<DeliveryResult> Producer::send(Message message) {
  std::vector<Message> one;
  one.push_back(std::move(message));
  auto results = co_await send_all(std::move(one));
  co_return std::move(results.front());
}

std::vector<DeliveryResult> Producer::send_all_sync(std::vector<Message> messages) {
  const std::size_t n = messages.size();
  auto completion = std::make_unique<PromiseCompletion>();
  auto future = completion->future();
  impl_->enqueue(std::move(messages), std::move(completion));
  // librdkafka reports every message by message.timeout.ms; the extra margin
  // only guards against a bug turning into a hung thread.
  const auto bound = impl_->config.delivery_timeout + std::chrono::seconds(30);
  if (future.wait_for(bound) != std::future_status::ready) {
    impl_->logger.error("kafka producer: no delivery report within bound",
                        {{"bound_ms", static_cast<std::int64_t>(bound.count())}});
    std::vector<DeliveryResult> failed(n);
    for (auto& r : failed) {
      r.error = "no delivery report";
      r.retriable = true;
    }
    return failed;
  }
  return future.get();
}

DeliveryResult Producer::send_sync(Message message) {
  std::vector<Message> one;
  one.push_back(std::move(message));
  return std::move(send_all_sync(std::move(one)).front());
}

bool Producer::flush(std::chrono::milliseconds timeout) {
  return impl_->producer->flush(static_cast<int>(timeout.count())) == RdKafka::ERR_NO_ERROR;
}

bool Producer::healthy() const { return impl_->broker_up && !impl_->fatal; }

const ProducerConfig& Producer::config() const { return impl_->config; }

}  // namespace leadpipe::kafka
