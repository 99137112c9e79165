#pragma once
// A bounded pool of PostgreSQL connections (libpqxx 6.4, blocking) with an
// Asio bridge for coroutines.
//
//   pg::Pool pool({.url = cfg.pg_url, .size = 8, .application_name = "lead-store"}, log, registry);
//   auto n = pool.with([](pqxx::connection& c) {            // blocking, any thread
//     pqxx::read_transaction tx(c);
//     return tx.exec1("SELECT count(*) FROM leads")[0].as<long>();
//   });
//   auto load = [id](pqxx::connection& c) { ... };
//   auto lead = co_await pool.async(std::move(load));   // from a coroutine; name the callable:
//   GCC 12 destroys a lambda prvalue passed straight into a co_await'ed call twice
//   pg::transact(pool, [&](pqxx::work& tx) { ... });         // retried transaction
//
// Lifecycle: connections open lazily (an unreachable database at start-up is
// not an error; calls fail with TransientError until it is back). A
// connection that breaks is discarded and a fresh one opened on a later call.
// Destroy the Pool only after every coroutine that awaits it is done: the
// destructor runs the queued async work to completion, then closes all
// connections.
//
// Thread-safety: every public member may be called concurrently from any
// thread. Each callable gets exclusive use of one connection for its
// duration; never let a pqxx object escape the callable.
//
// Metrics (registry given at construction, label pool=<application_name>):
//   leadpipe_pg_pool_in_use            gauge      connections lent out
//   leadpipe_pg_pool_wait_seconds      histogram  time spent waiting for a connection
//   leadpipe_pg_errors_total{kind}     counter    connection|serialization|deadlock|
//                                                 shutdown|acquire_timeout|statement_timeout
#include <utility>  // before Asio: GCC 12 + Boost 1.74 need std::exchange declared

#include <leadpipe/log/log.hpp>
#include <leadpipe/pg/after_commit.hpp>
#include <leadpipe/pg/errors.hpp>
#include <leadpipe/pg/session.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/pqxx>  // callers of with() use results and transactions anyway

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace prometheus {
class Registry;
}

namespace leadpipe::pg {

struct PoolConfig {
  std::string url;  // libpq key=value string or postgres:// URI
  std::size_t size = 4;
  std::chrono::milliseconds acquire_timeout{5000};
  std::chrono::milliseconds statement_timeout{10000};  // set on every new connection; 0 = server default
  std::string application_name;                        // shows in pg_stat_activity
  bool generic_plans = false;                          // SessionOptions::generic_plans on every connection
};

class Pool {
 public:
  // Connects lazily; never throws on an unreachable database. Throws
  // std::invalid_argument when size is 0.
  Pool(PoolConfig config, log::Logger logger,
       std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Blocking: borrows a connection (waiting up to acquire_timeout, else
  // TransientError), runs f(connection), gives the connection back.
  // Retryable failures (see errors.hpp) come out as TransientError with the
  // pqxx exception nested; a broken connection is discarded. Other exceptions,
  // including the callable's own, propagate unchanged.
  template <typename F>
  auto with(F&& f) -> std::invoke_result_t<F, pqxx::connection&>;

  // Runs `with(f)` on the pool's own worker threads (as many as connections)
  // and resumes the awaiting coroutine on its own executor with the result, or
  // rethrows the exception there. HTTP handlers use this so io threads never
  // block on the database. f must not return a reference.
  template <typename F>
  boost::asio::awaitable<std::invoke_result_t<F, pqxx::connection&>> async(F f);

  // Runs any blocking callable g() on the pool's worker threads and resumes on
  // the awaiting coroutine's executor (the building block of async() and
  // async_transact()).
  template <typename G>
  boost::asio::awaitable<std::invoke_result_t<G&>> offload(G g);

  // For /readyz: `SELECT 1` through the pool, run on a worker thread. The
  // answer is cached for one second and concurrent callers share one probe, so
  // scraping cannot load the database; the caller waits at most 1.5 s (an
  // unfinished probe answers false), so it is safe on an io thread.
  bool healthy();

  const PoolConfig& config() const;

 private:
  // Exclusive use of one session; returns it to the pool when destroyed
  // (discarding it when marked broken or no longer open).
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Session> session) noexcept
        : pool_(pool), session_(std::move(session)) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          session_(std::move(other.session_)),
          broken_(other.broken_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ && session_) pool_->release(std::move(session_), broken_);
    }
    pqxx::connection& conn() noexcept { return session_->conn(); }
    void mark_broken() noexcept { broken_ = true; }

   private:
    Pool* pool_;
    std::unique_ptr<Session> session_;
    bool broken_ = false;
  };

  Lease acquire(std::chrono::milliseconds timeout);
  void release(std::unique_ptr<Session> session, bool broken) noexcept;
  // Called from a catch(...) around the user's callable: rethrows the current
  // exception, converted to TransientError when retryable.
  [[noreturn]] void rethrow_classified(Lease& lease);
  boost::asio::any_io_executor worker_executor() noexcept;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs f(pqxx::work&) in a transaction and commits it, retrying the whole
// transaction on TransientError (serialization failures, deadlocks, lost
// connections) up to `attempts` times in total, with jittered exponential
// backoff (10 ms, 20 ms, ... capped at 1 s). f may therefore run more than once:
// keep side effects outside the database out of it, or defer them with
// pg::after_commit() (run once, after the attempt that committed). Blocking.
template <typename F>
auto transact(Pool& pool, F&& f, int attempts = 3);

// transact() on the pool's worker threads, for coroutines.
template <typename F>
auto async_transact(Pool& pool, F f, int attempts = 3)
    -> boost::asio::awaitable<std::invoke_result_t<F&, pqxx::work&>>;

// ---------------------------------------------------------------------------
// Implementation.

namespace detail {
// Sleeps before retry number `attempt` (1-based); logs the reason.
void retry_pause(int attempt, const std::exception& reason);
}  // namespace detail

template <typename F>
auto Pool::with(F&& f) -> std::invoke_result_t<F, pqxx::connection&> {
  Lease lease = acquire(config().acquire_timeout);
  try {
    return std::invoke(std::forward<F>(f), lease.conn());
  } catch (...) {
    rethrow_classified(lease);
  }
}

template <typename G>
boost::asio::awaitable<std::invoke_result_t<G&>> Pool::offload(G g) {
  using R = std::invoke_result_t<G&>;
  static_assert(!std::is_reference_v<R>,
                "return a value, not a reference: the result crosses threads");

  // The completion handler keeps the awaiting coroutine alive; it is invoked
  // (via post) on the coroutine's own executor, and the tracked work guard
  // keeps that executor's io_context from running out of work meanwhile.
  auto initiate = [this, g = std::move(g)](auto handler) mutable {
    auto home = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                    boost::asio::execution::outstanding_work.tracked);
    boost::asio::post(worker_executor(), [g = std::move(g), handler = std::move(handler),
                                          home = std::move(home)]() mutable {
      std::exception_ptr error;
      if constexpr (std::is_void_v<R>) {
        try {
          g();
        } catch (...) {
          error = std::current_exception();
        }
        boost::asio::post(home, [handler = std::move(handler), error]() mutable {
          std::move(handler)(error);
        });
      } else {
        std::optional<R> result;
        try {
          result.emplace(g());
        } catch (...) {
          error = std::current_exception();
        }
        boost::asio::post(home, [handler = std::move(handler), error,
                                 result = std::move(result)]() mutable {
          std::move(handler)(error, std::move(result));
        });
      }
    });
  };

  if constexpr (std::is_void_v<R>) {
    co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                         void(std::exception_ptr)>(std::move(initiate),
                                                                   boost::asio::use_awaitable);
  } else {
    std::optional<R> result =
        co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                             void(std::exception_ptr, std::optional<R>)>(
            std::move(initiate), boost::asio::use_awaitable);
    co_return std::move(*result);
  }
}

template <typename F>
boost::asio::awaitable<std::invoke_result_t<F, pqxx::connection&>> Pool::async(F f) {
  using R = std::invoke_result_t<F, pqxx::connection&>;
  // The job is a named local, never a temporary inside the co_await
  // expression: GCC 12 destroys such temporaries twice (heap corruption).
  if constexpr (std::is_void_v<R>) {
    auto job = [this, f = std::move(f)]() mutable { with(f); };
    co_await offload(std::move(job));
  } else {
    auto job = [this, f = std::move(f)]() mutable -> R { return with(f); };
    co_return co_await offload(std::move(job));
  }
}

template <typename F>
auto transact(Pool& pool, F&& f, int attempts) {
  using R = std::invoke_result_t<F&, pqxx::work&>;
  for (int attempt = 1;; ++attempt) {
    try {
      return pool.with([&f](pqxx::connection& c) -> R {
        CommitHooks hooks;  // this attempt's after_commit() work; dropped unless it commits
        pqxx::work tx(c);
        if constexpr (std::is_void_v<R>) {
          std::invoke(f, tx);
          tx.commit();
          hooks.run();
        } else {
          R result = std::invoke(f, tx);
          tx.commit();
          hooks.run();
          return result;
        }
      });
    } catch (const TransientError& e) {
      if (attempt >= attempts) throw;
      detail::retry_pause(attempt, e);
    }
  }
}

template <typename F>
auto async_transact(Pool& pool, F f, int attempts)
    -> boost::asio::awaitable<std::invoke_result_t<F&, pqxx::work&>> {
  using R = std::invoke_result_t<F&, pqxx::work&>;
  if constexpr (std::is_void_v<R>) {
    auto job = [&pool, f = std::move(f), attempts]() mutable { transact(pool, f, attempts); };
    co_await pool.offload(std::move(job));
  } else {
    auto job = [&pool, f = std::move(f), attempts]() mutable -> R {
      return transact(pool, f, attempts);
    };
    co_return co_await pool.offload(std::move(job));
  }
}

}  // namespace leadpipe::pg
