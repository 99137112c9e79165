#include "leadpipe/pg/pool.hpp"

#include <boost/asio/thread_pool.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace leadpipe::pg {

namespace {

constexpr auto kHealthCacheTtl = std::chrono::seconds(1);
constexpr auto kHealthAcquireTimeout = std::chrono::milliseconds(1000);
constexpr auto kHealthCallerWait = std::chrono::milliseconds(1500);

std::size_t checked_size(const PoolConfig& config) {
  if (config.size == 0) throw std::invalid_argument("pg::PoolConfig.size must be at least 1");
  return config.size;
}

}  // namespace

struct Pool::Impl {
  Impl(PoolConfig cfg, log::Logger log, std::shared_ptr<prometheus::Registry> reg)
      : config(std::move(cfg)),
        logger(std::move(log)),
        registry(reg ? std::move(reg) : std::make_shared<prometheus::Registry>()),
        workers(checked_size(config)) {
    const std::string name = config.application_name.empty() ? "default" : config.application_name;
    in_use = &prometheus::BuildGauge()
                  .Name("leadpipe_pg_pool_in_use")
                  .Help("PostgreSQL connections currently lent out by the pool")
                  .Register(*registry)
                  .Add({{"pool", name}});
    wait = &prometheus::BuildHistogram()
                .Name("leadpipe_pg_pool_wait_seconds")
                .Help("Time spent waiting for a pooled PostgreSQL connection")
                .Register(*registry)
                .Add({{"pool", name}},
                     prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.005, 0.01, 0.05,
                                                             0.1, 0.5, 1, 2.5, 5, 10});
    auto& errors_family = prometheus::BuildCounter()
                              .Name("leadpipe_pg_errors_total")
                              .Help("Database failures seen by the pool, by kind")
                              .Register(*registry);
    for (const char* kind : {"connection", "serialization", "deadlock", "shutdown",
                             "acquire_timeout", "statement_timeout"}) {
      errors[kind] = &errors_family.Add({{"pool", name}, {"kind", kind}});
    }
  }

  void count_error(const std::string& kind) {
    if (auto it = errors.find(kind); it != errors.end()) it->second->Increment();
  }

  std::unique_ptr<Session> open_session() {
    return std::make_unique<Session>(
        config.url,
        SessionOptions{.application_name = config.application_name,
                       .statement_timeout = config.statement_timeout,
                       .generic_plans = config.generic_plans},
        logger);
  }

  const PoolConfig config;
  const log::Logger logger;
  const std::shared_ptr<prometheus::Registry> registry;
  prometheus::Gauge* in_use = nullptr;
  prometheus::Histogram* wait = nullptr;
  std::map<std::string, prometheus::Counter*> errors;  // filled once, read-only afterwards

  // Guards idle and open; cv signals a returned session or a freed slot.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Session>> idle;  // LIFO: the warmest connection first
  std::size_t open = 0;                        // sessions lent out, idle, or being opened

  // Health probe: one at a time on a worker, answer cached for kHealthCacheTtl.
  std::mutex health_mu;
  std::condition_variable health_cv;
  bool probing = false;
  bool probed_once = false;
  bool last_healthy = false;
  std::chrono::steady_clock::time_point last_probe{};

  // Last member: destroyed (joined) first, while everything above still exists.
  boost::asio::thread_pool workers;
};

Pool::Pool(PoolConfig config, log::Logger logger, std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(logger), std::move(registry))) {}

Pool::~Pool() {
  // Finish the async work already queued (its coroutines are waiting for it),
  // then close connections. Sessions still lent out would be a caller bug
  // (using the pool after destroying it); they cannot exist once join returns
  // because every lease is scoped to a with() call.
  impl_->workers.join();
  std::lock_guard lock(impl_->mu);
  impl_->idle.clear();
}

const PoolConfig& Pool::config() const { return impl_->config; }

boost::asio::any_io_executor Pool::worker_executor() noexcept {
  return impl_->workers.get_executor();
}

Pool::Lease Pool::acquire(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + timeout;
  std::unique_lock lock(s.mu);
  for (;;) {
    const bool ready = s.cv.wait_until(lock, deadline, [&] {
      return !s.idle.empty() || s.open < s.config.size;
    });
    if (!ready) {
      lock.unlock();
      s.wait->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      s.count_error("acquire_timeout");
      throw TransientError("no PostgreSQL connection available within " +
                           std::to_string(timeout.count()) + " ms (pool size " +
                           std::to_string(s.config.size) + ")");
    }
    if (!s.idle.empty()) {
      std::unique_ptr<Session> session = std::move(s.idle.back());
      s.idle.pop_back();
      lock.unlock();
      // A backend terminated while idle (failover, pg_terminate_backend,
      // idle_session_timeout) is noticed here, without a round trip, instead
      // of failing the caller's first statement.
      if (session->alive()) {
        s.wait->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        s.in_use->Increment();
        return Lease(this, std::move(session));
      }
      s.logger.info("discarding dead idle PostgreSQL connection");
      session.reset();
      lock.lock();
      --s.open;
      continue;  // a slot is free now: take another idle one or open a new one
    }
    // Reserve a slot, then connect without holding the lock.
    ++s.open;
    lock.unlock();
    s.wait->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    try {
      auto session = s.open_session();
      s.in_use->Increment();
      return Lease(this, std::move(session));
    } catch (const std::exception& e) {
      {
        std::lock_guard relock(s.mu);
        --s.open;
      }
      s.cv.notify_one();
      const FailureKind kind = classify(e);
      if (kind == FailureKind::permanent) throw;  // e.g. bad URL syntax: a config bug
      s.count_error(std::string(to_string(kind)));
      s.logger.warn("cannot connect to PostgreSQL", {{"error", e.what()}});
      std::throw_with_nested(TransientError(std::string("cannot connect to PostgreSQL: ") + e.what()));
    }
  }
}

void Pool::release(std::unique_ptr<Session> session, bool broken) noexcept {
  Impl& s = *impl_;
  s.in_use->Decrement();
  const bool reusable = !broken && session->conn().is_open();
  if (!reusable) session.reset();  // close outside the lock
  {
    std::lock_guard lock(s.mu);
    if (reusable) {
      s.idle.push_back(std::move(session));
    } else {
      --s.open;
    }
  }
  s.cv.notify_one();
}

void Pool::rethrow_classified(Lease& lease) {
  try {
    throw;
  } catch (const TransientError&) {
    if (!lease.conn().is_open()) lease.mark_broken();
    throw;
  } catch (const std::exception& e) {
    const FailureKind kind = classify(e);
    if (kind == FailureKind::connection || kind == FailureKind::shutdown ||
        !lease.conn().is_open()) {
      lease.mark_broken();
    }
    if (kind == FailureKind::permanent) {
      if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
          sql && sql->sqlstate() == "57014") {
        impl_->count_error("statement_timeout");
      }
      throw;
    }
    const std::string kind_name(to_string(kind));
    impl_->count_error(kind_name);
    impl_->logger.warn("retryable database failure", {{"kind", kind_name}, {"error", e.what()}});
    std::throw_with_nested(TransientError("database " + kind_name + " failure: " + e.what()));
  } catch (...) {
    if (!lease.conn().is_open()) lease.mark_broken();
    throw;
  }
}

bool Pool::healthy() {
  // Called from /readyz handlers on io threads: never block for long. The
  // probe runs on a worker thread; the caller waits at most
  // kHealthCallerWait for it and otherwise answers from the last result
  // (false until a probe has succeeded). Concurrent callers share one probe.
  Impl& s = *impl_;
  std::unique_lock lock(s.health_mu);
  const auto now = std::chrono::steady_clock::now();
  if (s.probed_once && now - s.last_probe < kHealthCacheTtl) return s.last_healthy;
  if (!s.probing) {
    s.probing = true;
    boost::asio::post(s.workers, [this] {
      Impl& st = *impl_;
      bool ok = false;
      try {
        Lease lease = acquire(std::min(st.config.acquire_timeout, kHealthAcquireTimeout));
        try {
          pqxx::nontransaction tx(lease.conn());
          ok = tx.exec1("SELECT 1")[0].as<int>() == 1;
        } catch (...) {
          if (!lease.conn().is_open()) lease.mark_broken();
          throw;
        }
      } catch (const std::exception& e) {
        st.logger.debug("PostgreSQL health probe failed", {{"error", e.what()}});
      }
      {
        std::lock_guard done(st.health_mu);
        st.last_healthy = ok;
        st.last_probe = std::chrono::steady_clock::now();
        st.probed_once = true;
        st.probing = false;
      }
      st.health_cv.notify_all();
    });
  }
  s.health_cv.wait_for(lock, kHealthCallerWait, [&] { return !s.probing; });
  return s.last_healthy;
}

namespace detail {

void retry_pause(int attempt, const std::exception& reason) {
  // Exponential from 10 ms, capped at 1 s, with full jitter so that
  // transactions that collided do not collide again in lock-step.
  static thread_local std::mt19937 rng{std::random_device{}()};
  const int exponent = std::min(attempt - 1, 7);
  const auto cap = std::min<std::int64_t>(10LL << exponent, 1000);
  const auto pause = std::uniform_int_distribution<std::int64_t>(cap / 2, cap)(rng);
  log::root().info("retrying transaction",
                   {{"attempt", attempt + 1}, {"pause_ms", pause}, {"reason", reason.what()}});
  std::this_thread::sleep_for(std::chrono::milliseconds(pause));
}

}  // namespace detail

}  // namespace leadpipe::pg
