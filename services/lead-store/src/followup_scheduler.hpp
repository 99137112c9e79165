#pragma once
// Publishes followup.due when a follow-up comes due: a thread that, every
// `interval`, claims the pending follow-ups due at clock() that were not
// announced yet and writes one followup.due each to the outbox in the same
// transaction that marks them announced. Exactly once per due follow-up
// (a snooze re-arms it); replicas share the work (SKIP LOCKED).
//
// Lifecycle: start() once, stop() before the pool is destroyed. tick() runs
// one round synchronously (tests drive it with an injected clock).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <leadpipe/log/log.hpp>
#include <leadpipe/pg/pool.hpp>

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace leadpipe::leads {

class FollowupScheduler {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  struct Config {
    std::chrono::milliseconds interval{5000};
    int batch = 200;
    Clock clock = [] { return std::chrono::system_clock::now(); };
  };
  FollowupScheduler(pg::Pool& pool, Config config, log::Logger logger,
                    std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~FollowupScheduler();
  FollowupScheduler(const FollowupScheduler&) = delete;
  FollowupScheduler& operator=(const FollowupScheduler&) = delete;

  void start();
  void stop();
  // One round; returns how many followup.due events were written.
  int tick();

 private:
  void run();
  pg::Pool& pool_;
  Config config_;
  log::Logger logger_;
  prometheus::Counter* published_ = nullptr;  // leadpipe_leadstore_followups_due_total
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// RFC 3339 UTC with milliseconds.
std::string format_time(std::chrono::system_clock::time_point t);

}  // namespace leadpipe::leads
