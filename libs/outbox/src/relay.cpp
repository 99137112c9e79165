#include "leadpipe/outbox/outbox.hpp"

#include "schema_name.hpp"

#include <leadpipe/pg/session.hpp>

#include <poll.h>
#include <pqxx/pqxx>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace leadpipe::outbox {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kBacklogRefresh = std::chrono::seconds(1);
constexpr auto kCleanupInterval = std::chrono::minutes(5);
constexpr auto kCleanupContinue = std::chrono::seconds(1);  // when a pass left rows behind
constexpr long kCleanupBatch = 1000;
constexpr int kCleanupBatchesPerPass = 20;  // bounds how long publishing pauses for cleanup
constexpr auto kWorkerStatementTimeout = std::chrono::seconds(30);

std::vector<std::pair<std::string, std::string>> parse_headers(const std::string& json) {
  std::vector<std::pair<std::string, std::string>> out;
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return out;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    if (it->value.IsString()) {
      out.emplace_back(std::move(key),
                       std::string(it->value.GetString(), it->value.GetStringLength()));
    } else {
      // Not written by enqueue(); pass the JSON text through rather than drop it.
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
      it->value.Accept(w);
      out.emplace_back(std::move(key), std::string(buffer.GetString(), buffer.GetSize()));
    }
  }
  return out;
}

RelayConfig validated(RelayConfig config) {
  detail::checked_schema(config.schema);
  if (config.batch_size == 0) throw std::invalid_argument("outbox relay batch_size must be >= 1");
  if (config.poll_interval.count() <= 0) {
    throw std::invalid_argument("outbox relay poll_interval must be positive");
  }
  if (config.retry_backoff.count() < 0) {
    throw std::invalid_argument("outbox relay retry_backoff must not be negative");
  }
  if (config.retention.count() < 0) {
    throw std::invalid_argument("outbox relay retention must not be negative");
  }
  return config;
}

}  // namespace

struct Relay::Impl {
  Impl(RelayConfig cfg, Publish pub, log::Logger log, std::shared_ptr<prometheus::Registry> reg)
      : config(validated(std::move(cfg))),
        publish(std::move(pub)),
        logger(log.with({{"component", "outbox-relay"}, {"schema", config.schema}})),
        registry(reg ? std::move(reg) : std::make_shared<prometheus::Registry>()),
        table("\"" + config.schema + "\".outbox"),
        lock_key(pg::advisory_lock_key("leadpipe.outbox:" + config.schema)) {
    if (!publish) throw std::invalid_argument("outbox relay needs a publish callback");
    const prometheus::Labels labels{{"schema", config.schema}};
    published = &prometheus::BuildCounter()
                     .Name("leadpipe_outbox_published_total")
                     .Help("Outbox messages acked by the broker and marked published")
                     .Register(*registry)
                     .Add(labels);
    backlog_gauge = &prometheus::BuildGauge()
                         .Name("leadpipe_outbox_backlog")
                         .Help("Outbox rows not yet published")
                         .Register(*registry)
                         .Add(labels);
    failures = &prometheus::BuildCounter()
                    .Name("leadpipe_outbox_publish_failures_total")
                    .Help("Outbox publish attempts that did not ack the whole batch")
                    .Register(*registry)
                    .Add(labels);
    wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }

  ~Impl() { ::close(wake_fd); }

  std::unique_ptr<pg::Session> open_session(const char* role,
                                            std::chrono::milliseconds statement_timeout) {
    return std::make_unique<pg::Session>(
        config.url,
        pg::SessionOptions{.application_name =
                               std::string("leadpipe-outbox-") + role + ":" + config.schema,
                           .statement_timeout = statement_timeout},
        logger);
  }

  // --- relay thread -------------------------------------------------------

  void run() {
    while (!stopping.load()) {
      try {
        if (!acquire_lock()) break;
        run_active();
      } catch (const std::exception& e) {
        logger.warn(active.load() ? "outbox relay lost its database session; starting over"
                                  : "outbox relay failed; starting over",
                    {{"error", e.what()}});
      }
      if (active.exchange(false)) logger.info("outbox relay inactive");
      drop_sessions();  // also releases the lock, so a standby can take over
      if (!stopping.load()) wait(config.retry_backoff, -1);
    }
    if (active.exchange(false)) logger.info("outbox relay inactive");
    drop_sessions();
  }

  // Standby until this relay holds the schema's relay lock (true) or stop() (false).
  bool acquire_lock() {
    bool said_standby = false;
    while (!stopping.load()) {
      try {
        if (!lock_session) lock_session = open_session("relay", std::chrono::milliseconds(0));
        pqxx::nontransaction tx(lock_session->conn());
        if (tx.exec_params1("SELECT pg_try_advisory_lock($1)", lock_key)[0].as<bool>()) return true;
        if (!said_standby) {
          logger.info("another outbox relay is active; standing by");
          said_standby = true;
        }
      } catch (const std::exception& e) {
        logger.warn("outbox relay cannot reach PostgreSQL", {{"error", e.what()}});
        lock_session.reset();
      }
      wait(config.poll_interval, -1);
    }
    return false;
  }

  void run_active() {
    {
      // LISTEN before the first fetch: a commit after this point either is
      // seen by that fetch or wakes us.
      pqxx::nontransaction tx(lock_session->conn());
      tx.exec0("LISTEN \"" + channel(config.schema) + "\"");
    }
    work_session = open_session("worker", kWorkerStatementTimeout);
    active.store(true);
    logger.info("outbox relay active");
    next_cleanup = Clock::now();
    next_backlog = Clock::now();

    while (!stopping.load()) {
      // Our lock lives exactly as long as this session; consumes notifications too.
      if (!lock_session->alive()) throw std::runtime_error("relay lock session lost");
      housekeeping();
      const std::vector<OutboxMessage> batch = fetch();
      if (batch.empty()) {
        wait(config.poll_interval, lock_session->conn().sock());
        continue;
      }
      const std::size_t acked = publish_batch(batch);
      mark_published(batch, acked);  // even when stopping: finish the batch
      if (acked < batch.size()) {
        failures->Increment();
        logger.warn("publish failed; will retry from the first unacked message",
                    {{"first_failed_id", batch[acked].id},
                     {"acked", acked},
                     {"batch", batch.size()}});
        wait(config.retry_backoff, -1);
        continue;
      }
      // A short batch means we are caught up; a pending notification (a
      // commit since the fetch) ends the wait at once.
      if (batch.size() < config.batch_size) {
        wait(config.poll_interval, lock_session->conn().sock());
      }
    }
  }

  std::vector<OutboxMessage> fetch() {
    pqxx::nontransaction tx(work_session->conn());
    const pqxx::result rows = tx.exec_params(
        "SELECT id, topic, key, payload, headers::text FROM " + table +
            " WHERE published_at IS NULL ORDER BY id LIMIT $1",
        static_cast<long>(config.batch_size));
    std::vector<OutboxMessage> batch;
    batch.reserve(rows.size());
    for (const auto& row : rows) {
      batch.push_back(OutboxMessage{row[0].as<std::int64_t>(), row[1].as<std::string>(),
                                    row[2].as<std::string>(), row[3].as<std::string>(),
                                    parse_headers(row[4].as<std::string>())});
    }
    return batch;
  }

  // Number of leading messages acked; a throwing callback acks nothing.
  std::size_t publish_batch(const std::vector<OutboxMessage>& batch) {
    std::vector<bool> acks;
    try {
      acks = publish(batch);
    } catch (const std::exception& e) {
      logger.error("outbox publish callback threw", {{"error", e.what()}});
      return 0;
    } catch (...) {
      logger.error("outbox publish callback threw a non-standard exception");
      return 0;
    }
    if (acks.size() != batch.size()) {
      logger.error("outbox publish callback returned the wrong number of results",
                   {{"results", acks.size()}, {"messages", batch.size()}});
    }
    std::size_t n = 0;
    while (n < batch.size() && n < acks.size() && acks[n]) ++n;
    return n;
  }

  void mark_published(const std::vector<OutboxMessage>& batch, std::size_t count) {
    if (count == 0) return;
    // Exact ids, never a range: an id inside the range may belong to a
    // transaction that had not committed when we fetched.
    std::string ids = "{";
    for (std::size_t i = 0; i < count; ++i) {
      if (i) ids += ',';
      ids += std::to_string(batch[i].id);
    }
    ids += '}';
    pqxx::nontransaction tx(work_session->conn());
    tx.exec_params("UPDATE " + table +
                       " SET published_at = now() WHERE id = ANY($1::bigint[]) "
                       "AND published_at IS NULL",
                   ids);
    published->Increment(static_cast<double>(count));
  }

  void housekeeping() {
    const auto now = Clock::now();
    if (now >= next_backlog) {
      pqxx::nontransaction tx(work_session->conn());
      backlog_gauge->Set(static_cast<double>(
          tx.exec1("SELECT count(*) FROM " + table + " WHERE published_at IS NULL")[0]
              .as<std::int64_t>()));
      next_backlog = now + kBacklogRefresh;
    }
    if (now >= next_cleanup) {
      next_cleanup = now + (cleanup() ? kCleanupContinue : kCleanupInterval);
    }
  }

  // Deletes published rows older than the retention, at most
  // kCleanupBatchesPerPass small transactions per call. Returns true when
  // rows were left for a later pass.
  bool cleanup() {
    const int hours = static_cast<int>(config.retention.count());
    pqxx::nontransaction tx(work_session->conn());
    // The first row that must stay (unpublished or recent). Rows are
    // published in id order, so everything below it is old and published; the
    // ordered scan touches only rows about to be deleted.
    const pqxx::result first_kept = tx.exec_params(
        "SELECT id FROM " + table +
            " WHERE published_at IS NULL OR published_at >= now() - make_interval(hours => $1::int)"
            " ORDER BY id LIMIT 1",
        hours);
    const std::int64_t boundary = first_kept.empty() ? std::numeric_limits<std::int64_t>::max()
                                                     : first_kept[0][0].as<std::int64_t>();
    long deleted = 0;
    for (int i = 0; i < kCleanupBatchesPerPass && !stopping.load(); ++i) {
      // The age condition is repeated so a row inserted meanwhile is never touched.
      const pqxx::result r = tx.exec_params(
          "DELETE FROM " + table + " WHERE id IN (SELECT id FROM " + table +
              " WHERE id < $1::bigint AND published_at < now() - make_interval(hours => $2::int)"
              " ORDER BY id LIMIT $3)",
          boundary, hours, kCleanupBatch);
      deleted += static_cast<long>(r.affected_rows());
      if (static_cast<long>(r.affected_rows()) < kCleanupBatch) {
        if (deleted > 0) logger.info("deleted old published outbox rows", {{"rows", deleted}});
        return false;
      }
    }
    if (deleted > 0) logger.info("deleted old published outbox rows", {{"rows", deleted}});
    return true;
  }

  enum class Woke { timeout, database, stop };

  // Sleeps up to `timeout`, waking early on stop() or (db_fd >= 0) when the
  // database sent something (a notification, or EOF of a dying session).
  Woke wait(std::chrono::milliseconds timeout, int db_fd) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (stopping.load()) return Woke::stop;
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Woke::timeout;
      pollfd fds[2] = {{wake_fd, POLLIN, 0}, {db_fd, POLLIN, 0}};
      const int n = ::poll(fds, db_fd >= 0 ? 2 : 1, static_cast<int>(left));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "poll");
      }
      if (n == 0) continue;
      if (fds[0].revents != 0) return Woke::stop;
      if (db_fd >= 0 && fds[1].revents != 0) return Woke::database;
    }
  }

  void drop_sessions() noexcept {
    work_session.reset();
    lock_session.reset();
  }

  // --- configuration and shared state --------------------------------------

  const RelayConfig config;
  const Publish publish;
  const log::Logger logger;
  const std::shared_ptr<prometheus::Registry> registry;
  const std::string table;  // "<schema>".outbox
  const std::int64_t lock_key;
  prometheus::Counter* published = nullptr;
  prometheus::Gauge* backlog_gauge = nullptr;
  prometheus::Counter* failures = nullptr;

  int wake_fd = -1;  // eventfd, readable once stop() was requested
  std::atomic<bool> stopping{false};
  std::atomic<bool> active{false};

  std::mutex control_mu;  // start/stop
  std::thread thread;

  std::mutex backlog_mu;  // backlog() callers
  std::unique_ptr<pg::Session> backlog_session;

  // Relay thread only.
  std::unique_ptr<pg::Session> lock_session;  // advisory lock + LISTEN
  std::unique_ptr<pg::Session> work_session;  // fetch, mark, housekeeping
  Clock::time_point next_cleanup{};
  Clock::time_point next_backlog{};
};

Relay::Relay(RelayConfig config, Publish publish, log::Logger logger,
             std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(publish), std::move(logger),
                                   std::move(registry))) {}

Relay::~Relay() { stop(); }

void Relay::start() {
  std::lock_guard lock(impl_->control_mu);
  if (impl_->thread.joinable()) return;
  std::uint64_t drained = 0;
  while (::read(impl_->wake_fd, &drained, sizeof drained) > 0) {
  }
  impl_->stopping.store(false);
  impl_->thread = std::thread([impl = impl_.get()] {
    try {
      impl->run();
    } catch (const std::exception& e) {
      // Only reachable through a bug (run() handles database errors itself).
      impl->logger.error("outbox relay thread died", {{"error", e.what()}});
      impl->active.store(false);
      impl->drop_sessions();
    }
  });
}

void Relay::stop() {
  std::lock_guard lock(impl_->control_mu);
  if (!impl_->thread.joinable()) return;
  impl_->stopping.store(true);
  const std::uint64_t one = 1;
  if (::write(impl_->wake_fd, &one, sizeof one) < 0) {
    // Cannot happen for an eventfd below its maximum; the poll timeout still ends the wait.
  }
  impl_->thread.join();
}

bool Relay::active() const noexcept { return impl_->active.load(); }

std::int64_t Relay::backlog() {
  Impl& s = *impl_;
  std::lock_guard lock(s.backlog_mu);
  try {
    if (!s.backlog_session || !s.backlog_session->alive()) {
      s.backlog_session = s.open_session("backlog", std::chrono::seconds(10));
    }
    pqxx::nontransaction tx(s.backlog_session->conn());
    return tx.exec1("SELECT count(*) FROM " + s.table + " WHERE published_at IS NULL")[0]
        .as<std::int64_t>();
  } catch (...) {
    s.backlog_session.reset();
    throw;
  }
}

}  // namespace leadpipe::outbox
